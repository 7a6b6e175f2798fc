"""Rasa's REST replies -> what the customer sees and what the hub must do.

Replies are custom payloads (see bot/domain.yml and bot/actions): `text` (a string, or
one per language), `buttons`, `source`, plus `retrieval` (what the bot tried, kept for
agents), `handoff` (queue this conversation), and the survey's answers for the hub to
store: `rating` (`{"score": 1..5}`), `rating_comment` (the customer's words) and `nps`
(`{"score": 0..10}`, when NPS_ENABLED asks it).
Plain Rasa text replies work too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RATING_SCORES = range(1, 6)
NPS_SCORES = range(0, 11)


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


def _localised(value: Any, language: str, default_language: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or value.get(default_language) or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def interpret(replies: list[dict[str, Any]], language: str, default_language: str = "pl") -> BotTurn:
    turn = BotTurn(messages=[])
    for reply in replies:
        body = reply.get("custom") if isinstance(reply.get("custom"), dict) else reply
        text = _localised(body.get("text"), language, default_language)
        buttons = [
            {"title": _localised(b.get("title"), language, default_language), "payload": str(b.get("payload", ""))}
            for b in body.get("buttons") or []
            if isinstance(b, dict)
        ]
        handoff = body.get("handoff")
        if isinstance(handoff, dict):
            turn.handoff_reason = str(handoff.get("reason") or "bot")
        turn.rating = _score(body.get("rating")) or turn.rating
        nps = _score(body.get("nps"), NPS_SCORES)
        turn.nps = turn.nps if nps is None else nps
        if isinstance(body.get("rating_comment"), str) and body["rating_comment"].strip():
            turn.rating_comment = body["rating_comment"].strip()
        if text or buttons:
            source = body.get("source") if isinstance(body.get("source"), dict) else None
            turn.messages.append(BotMessage(text, buttons, source, body.get("retrieval")))
    return turn


def _score(rating: Any, scores: range = RATING_SCORES) -> int | None:
    """A score in `scores`, or None (anything else is not a rating)."""
    score = rating.get("score") if isinstance(rating, dict) else None
    if isinstance(score, int) and not isinstance(score, bool) and score in scores:
        return score
    return None
