"""The agents' API. Every call needs an agent's token (`faqbot agent create NAME`) as
`Authorization: Bearer <token>`."""

from __future__ import annotations

from flask import Blueprint, g, request

from .. import hub
from ..security import bearer
from ..store import message_json
from .errors import ApiError
from .validation import json_body, message_text

blueprint = Blueprint("agent_api", __name__, url_prefix="/api/agent")


@blueprint.before_request
def authenticate() -> None:
    token = bearer(request.headers.get("Authorization"))
    agent = hub().desk.authenticate(token) if token else None
    if agent is None:
        raise ApiError(401, "an agent's token is needed: 'Authorization: Bearer <token>'")
    g.agent = agent


@blueprint.get("/queue")
def queue():
    return {"conversations": hub().desk.queue()}


@blueprint.get("/conversations/<conversation_id>")
def conversation(conversation_id: str):
    return hub().desk.conversation(conversation_id)


@blueprint.post("/conversations/<conversation_id>/claim")
def claim(conversation_id: str):
    return hub().desk.claim(conversation_id, g.agent)


@blueprint.post("/conversations/<conversation_id>/messages")
def reply(conversation_id: str):
    text = message_text(json_body(), hub().settings.max_message_length)
    message = hub().desk.reply(conversation_id, g.agent, text)
    return {"message": message_json(message, {g.agent.id: g.agent.name})}, 201


@blueprint.post("/conversations/<conversation_id>/resolve")
def resolve(conversation_id: str):
    return hub().desk.resolve(conversation_id, g.agent)
