"""Rasa's input channel for the hub: `POST /webhooks/hub/webhook`, the REST channel's
request (`sender`, `message`, `metadata`), answered with the bot's replies AND what Rasa
understood of the message, in one response:

    {"messages": [...as the REST channel returns them...],
     "understood": {"intent": "ask_question", "confidence": 0.93,
                    "ranking": [{"intent": ..., "confidence": ...}, ...]}}

Why: the desk shows agents what the bot understood of each message. Reading it from
Rasa's tracker afterwards cost the hub a second HTTP request per message and Rasa a
second load of the whole conversation from its tracker store, work that grew with the
conversation's length. Here it is taken from the tracker Rasa already holds while it
handles the message.

Rasa loads this module from bot/credentials.yml (`bot.hub_channel.HubInput:`).
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.processor import MessageProcessor
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

RANKING_KEPT = 5


def understood(parse_data: dict[str, Any]) -> dict[str, Any]:
    """The intent, its confidence and the best few alternatives, as the desk shows them."""
    intent = parse_data.get("intent") or {}
    return {
        "intent": intent.get("name"),
        "confidence": intent.get("confidence"),
        "ranking": [
            {"intent": r.get("name"), "confidence": r.get("confidence")}
            for r in (parse_data.get("intent_ranking") or [])[:RANKING_KEPT]
        ],
    }


class HubOutputChannel(CollectingOutputChannel):
    """Collects the replies, like the REST channel's collector, and what was understood."""

    def __init__(self) -> None:
        super().__init__()
        self.understood: dict[str, Any] | None = None

    @classmethod
    def name(cls) -> str:
        return "hub"


_run_action_extract_slots = MessageProcessor.run_action_extract_slots


async def _note_understanding(self: MessageProcessor, output_channel: Any, tracker: Any) -> Any:
    """Rasa runs this right after NLU, on every message, with the tracker holding the
    parsed message: the one place the hub's channel can read it without another load."""
    if isinstance(output_channel, HubOutputChannel) and tracker.latest_message is not None:
        output_channel.understood = understood(tracker.latest_message.parse_data)
    return await _run_action_extract_slots(self, output_channel, tracker)


MessageProcessor.run_action_extract_slots = _note_understanding


class HubInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "hub"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hub = Blueprint("hub_webhook", __name__)

        @hub.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hub.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json
            if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body.get("sender"):
                return response.json({"error": "expected {'sender': ..., 'message': ..., 'metadata': {...}}"}, 400)
            collector = HubOutputChannel()
            message = UserMessage(
                body["message"],
                collector,
                str(body["sender"]),
                input_channel=self.name(),
                metadata=body.get("metadata"),
            )
            try:
                await on_new_message(message)
            except CancelledError:
                log.error("hub channel: timed out handling a message")
            except Exception:  # as the REST channel: no replies tells the hub the bot failed
                log.exception("hub channel: handling a message failed")
            return response.json({"messages": collector.messages, "understood": collector.understood})

        return hub
