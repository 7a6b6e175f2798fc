"""The web channel: the chat API the website widget talks to.

Input: `POST /api/conversations/<id>/messages`. Output: the replies in the response,
and everything later (agents' replies) by `GET .../messages?after=<seq>`, which can
long-poll with `&wait=<seconds>`. A conversation's token opens that conversation only.

Both answer `{"status", "messages", "queue"}`: `queue` is `{"position": N,
"expected_wait_seconds": S | null}` while the conversation is queued (null: no estimate
yet, or a ticket that agents answer later by e-mail), and null otherwise. A long-poll of
a queued conversation also returns when its place or expected wait changes.

`POST /api/conversations` takes an optional `"visitor"` (the token an earlier answer
gave this browser) and answers `{"id", "token", "visitor"}`: the same visitor is the same
customer, so agents see their earlier conversations. CORS, rate limits and security
headers: handoff/api/cors.py, handoff/limits.py, handoff/api/headers.py.
"""

from __future__ import annotations

import re

from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import hub, store
from ..api.errors import ApiError
from ..api.validation import json_body, message_text
from ..conversations import Turn
from ..models import CustomerIdentity
from ..security import bearer, digest, matches, new_token
from ..store import message_json

blueprint = Blueprint("web_channel", __name__, url_prefix="/api/conversations")
MAX_SEQ = 2**31 - 1  # message numbers are 32-bit integers in the database
MAX_VISITOR = 200  # a visitor token is 43 characters
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")  # the widget's name for a message it sends


def _authorize(conversation_id: str) -> None:
    token = bearer(request.headers.get("Authorization"))
    if token is None:
        raise ApiError(401, "send the conversation's token as 'Authorization: Bearer <token>'")
    with hub().db.transaction() as session:
        conversation = store.get(session, conversation_id)
    if not matches(token, conversation.token_hash):
        raise ApiError(403, "this token does not open this conversation")


def _number(name: str, default: float, kind=int, maximum: float = MAX_SEQ):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a number") from None
    if not 0 <= value <= maximum:
        raise ApiError(400, f"'{name}' must be between 0 and {maximum}")
    return value


@blueprint.post("")
def start_conversation():
    body = json_body(optional=True)
    language = body.get("language")
    supported = hub().settings.languages
    if language is not None and language not in supported:
        raise ApiError(400, f'"language" must be one of: {", ".join(supported)}')
    visitor, customer_id = _visitor(body.get("visitor"))
    conversation, token = hub().conversations.start("web", language, customer_id)
    return {"id": conversation.id, "token": token, "visitor": visitor}, 201


def _visitor(sent: object) -> tuple[str, str]:
    """The widget's visitor token and its customer: the one sent when it is known, else a
    new one. Only the token's digest is stored (`CustomerIdentity("web", digest)`), so
    the token proves who the visitor is like a conversation's token does. Anything else
    sent (not a string, too long, unknown) gets a new visitor: a widget never fails over it."""
    if not isinstance(sent, str) or len(sent) > MAX_VISITOR:
        sent = None
    with hub().db.transaction() as session:
        known = sent and session.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.channel == "web", CustomerIdentity.external_id == digest(sent)
            )
        )
        if known:
            return sent, known
        visitor = new_token()
        return visitor, store.customer_for(session, "web", digest(visitor)).id


@blueprint.post("/<conversation_id>/messages")
def post_message(conversation_id: str):
    """`{"text", "client_id"?}`. The widget names each message (`client_id`) and sends it
    again after a reload cut its request short: a message the hub already has is not
    stored twice, and the answer is that message and the replies it already has."""
    _authorize(conversation_id)
    body = json_body()
    text = message_text(body, hub().settings.max_message_length)
    external_id = _external_id(conversation_id, body.get("client_id"))
    try:
        turn = hub().conversations.receive(conversation_id, text, external_id=external_id)
    except IntegrityError:
        if external_id is None:
            raise
        turn = hub().conversations.replies_to(conversation_id, external_id)
    return _turn_json(turn)


def _external_id(conversation_id: str, client_id: object) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise ApiError(400, "client_id must be 8-64 letters, digits, '-' or '_'")
    return f"web:{conversation_id}:{client_id}"


@blueprint.get("/<conversation_id>/messages")
def get_messages(conversation_id: str):
    _authorize(conversation_id)
    after = _number("after", 0)
    wait = _number("wait", 0.0, float)
    return _turn_json(hub().conversations.messages_after(conversation_id, after, wait))


def _turn_json(turn: Turn) -> dict:
    names = {}
    if any(m.role == "agent" for m in turn.messages):  # the agents' names, for "author"
        with hub().db.transaction() as session:
            names = store.agent_names(session, turn.messages)
    return {
        "status": turn.status,
        "messages": [message_json(m, names) for m in turn.messages],
        "queue": turn.queue.as_json() if turn.queue else None,
    }
