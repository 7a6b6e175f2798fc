"""The desk's JSON API, for the desk page: the queue, conversations, replies, notes,
hand-overs, drafts and agent assist. The session cookie authenticates (see auth.py);
every POST needs the CSRF token in `X-CSRFToken`. Errors are `{"error": ...}`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, request

from .. import hub
from ..accounts import PRESENCE_INTERVAL, Account, AccountError
from ..api.errors import ApiError
from ..api.validation import json_body, message_text
from ..store import seconds_since
from .auth import current_agent
from .drafts import DraftError, display_path
from .service import TransferError, agent_message

blueprint = Blueprint("desk_api", __name__, url_prefix="/desk/api")
MAX_SEQ = 2**31 - 1
MAX_NOTE = 4000  # characters
SUGGESTIONS = 3


@blueprint.before_request
def authenticate() -> None:
    agent = current_agent()
    if agent is None:
        raise ApiError(401, "log in to the desk first")
    hub().accounts.touch_if_stale(agent, PRESENCE_INTERVAL)
    g.agent = agent


@blueprint.errorhandler(AccountError)
@blueprint.errorhandler(TransferError)
@blueprint.errorhandler(DraftError)
def refused(exc: ValueError):
    return {"error": str(exc)}, 400


# -- the agent --------------------------------------------------------------------------


@blueprint.get("/me")
def me():
    return _me(g.agent)


@blueprint.post("/me")
def set_me():
    language = json_body().get("language")
    if not isinstance(language, str):
        raise ApiError(400, '"language" must be "pl" or "en"')
    return _me(hub().accounts.set_language(g.agent.id, language))


@blueprint.get("/agents")
def agents():
    """Active agents, for a transfer; `online`: their desk was heard from lately."""
    timeout = hub().settings.presence_timeout
    return {
        "agents": [
            {
                "id": a.id,
                "name": a.name,
                "role": a.role,
                "online": a.last_seen_at is not None and seconds_since(a.last_seen_at) <= timeout,
            }
            for a in hub().accounts.list()
            if a.active
        ]
    }


# -- the queue and conversations ----------------------------------------------------------


@blueprint.get("/queue")
def queue():
    items = hub().desk.queue()
    for item in items:
        item["assigned_to_me"] = item["assigned_to"] == g.agent.name  # names are unique
    return {"conversations": items}


@blueprint.get("/conversations/<conversation_id>")
def conversation(conversation_id: str):
    return hub().desk.conversation(conversation_id, g.agent.language)


@blueprint.get("/conversations/<conversation_id>/messages")
def messages(conversation_id: str):
    return hub().desk.messages_after(conversation_id, _after())


@blueprint.post("/conversations/<conversation_id>/claim")
def claim(conversation_id: str):
    return hub().desk.claim(conversation_id, g.agent)


@blueprint.post("/conversations/<conversation_id>/release")
def release(conversation_id: str):
    return hub().desk.release(conversation_id, g.agent)


@blueprint.post("/conversations/<conversation_id>/resolve")
def resolve(conversation_id: str):
    return hub().desk.resolve(conversation_id, g.agent)


@blueprint.post("/conversations/<conversation_id>/transfer")
def transfer(conversation_id: str):
    target = json_body().get("agent_id")
    if not isinstance(target, int) or isinstance(target, bool):
        raise ApiError(400, '"agent_id" must be an agent\'s id (a number)')
    return hub().desk.transfer(conversation_id, g.agent, target)


@blueprint.post("/conversations/<conversation_id>/messages")
def reply(conversation_id: str):
    text = message_text(json_body(), hub().settings.max_message_length)
    message = hub().desk.reply(conversation_id, g.agent, text)
    return {"message": agent_message(message, g.agent.name)}, 201


@blueprint.post("/conversations/<conversation_id>/notes")
def add_note(conversation_id: str):
    text = message_text(json_body(), MAX_NOTE)
    return {"note": hub().desk.add_note(conversation_id, g.agent, text)}, 201


@blueprint.post("/conversations/<conversation_id>/drafts")
def save_draft(conversation_id: str):
    body = json_body()
    question, answer, title = body.get("question"), body.get("answer"), body.get("title")
    if not isinstance(question, str) or not isinstance(answer, str) or not isinstance(title, str | None):
        raise ApiError(400, '"question" and "answer" must be strings ("title" too, if given)')
    path = hub().desk.save_draft(conversation_id, g.agent, question, answer, title)
    return {"path": display_path(path)}, 201


@blueprint.get("/conversations/<conversation_id>/suggestions")
def suggestions(conversation_id: str):
    """Agent assist: the FAQ entries closest to the customer's last message (or to `q`,
    what the agent is looking for). Empty when the action server does not answer."""
    asked = request.args.get("q", "").strip()
    last = hub().desk.last_customer_message(conversation_id)  # also: 404 for an unknown conversation
    text, language = (asked, None) if asked else (last or ("", None))
    return {"suggestions": hub().assist.suggestions(text[:2000], language, SUGGESTIONS)}


def _me(agent: Account) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "role": agent.role, "language": agent.language}


def _after() -> int:
    raw = request.args.get("after", "0")
    try:
        after = int(raw)
    except ValueError:
        raise ApiError(400, "'after' must be a number") from None
    if not 0 <= after <= MAX_SEQ:
        raise ApiError(400, f"'after' must be between 0 and {MAX_SEQ}")
    return after
