"""Rasa's REST replies -> what the customer sees and what the hub must do.

The replies' payloads are defined in bot/payloads.py (`BotReply`), shared with the
actions that send them: the text, buttons and source the customer sees, what retrieval
tried (kept for agents), `handoff` (queue this conversation, for one of the reasons
listed there) and the survey's answers for the hub to store (`rating`, `rating_comment`,
`nps`). Rasa's own responses and plain Rasa text replies are read the same way.
Malformed parts of a reply are ignored, the rest is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.payloads import BotReply, localised


@dataclass
class BotMessage:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    source: dict[str, Any] | None = None
    retrieval: dict[str, Any] | None = None


@dataclass
class BotTurn:
    messages: list[BotMessage]
    handoff_reason: str | None = None
    rating: int | None = None  # 1-5
    rating_comment: str | None = None
    nps: int | None = None  # 0-10


def interpret(replies: list[dict[str, Any]], language: str, default_language: str = "pl") -> BotTurn:
    """One turn of the bot: its messages in the customer's language, and what the hub must
    do or store (for each, the last reply that carries it wins)."""
    turn = BotTurn(messages=[])
    for reply in map(BotReply.from_json, replies):
        if reply.handoff is not None:
            turn.handoff_reason = reply.handoff.reason
        if reply.rating is not None:
            turn.rating = reply.rating
        if reply.nps is not None:
            turn.nps = reply.nps
        if reply.rating_comment is not None:
            turn.rating_comment = reply.rating_comment
        text = localised(reply.text, language, default_language)
        buttons = [
            {"title": localised(b.title, language, default_language), "payload": b.payload} for b in reply.buttons
        ]
        if text or buttons:
            turn.messages.append(BotMessage(text, buttons, reply.source, reply.retrieval))
    return turn
