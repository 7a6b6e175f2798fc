"""The payloads the bot's actions and the hub exchange, defined once and imported by both.

Two directions, one module, so that a key renamed on one side cannot silently be lost on
the other:
- the hub -> Rasa -> the actions: per-message metadata (`HubMetadata`), what the hub
  knows and the bot cannot (the language it detected, the channel, whether NPS is on,
  whether a person ever took part in the conversation);
- the actions -> Rasa -> the hub: each reply as a custom payload (`BotReply`), carrying
  what the customer sees (`text`, `buttons`, `source`), what retrieval tried (for
  agents), and what the hub must do or store: `handoff` (queue the conversation, with one
  of the `HANDOFF_REASONS`), the survey's answers `rating`, `rating_comment` and `nps`.

The wire format is plain JSON with these keys, as Rasa passes it through unchanged:
  {"text": str | {language: str}, "buttons": [{"title", "payload"}], "source": {...},
   "handoff": {"reason", "signal"?}, "retrieval": {...}, "rating": {"score": 1..5},
   "rating_comment": str, "nps": {"score": 0..10}}
Rasa's own responses (bot/domain.yml) are custom payloads of the same shape, and a plain
Rasa text reply (`{"text": ...}`) is one too; the hub reads them all with
`BotReply.from_json`.

Standard library only: the rasa-sdk action server and the hub (Flask) both import it,
and neither should pull in the other's dependencies. Python 3.10-compatible as well,
should Rasa's own virtualenv ever need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# -- handoff reasons --------------------------------------------------------------------
# Why a conversation went to a person: stored on the handoff, shown to agents (the desk
# has a label for each: handoff/desk/texts.py `reason_*`) and counted in reports.

# Sent by the bot's actions:
CUSTOMER_REQUEST = "customer_request"  # asked for a person (bot/actions/handoff.py)
REPEATED_MISSES = "repeated_misses"  # no answer found, twice in a row (bot/actions/faq.py)
FRUSTRATION = "frustration"  # shouting, swearing, "that didn't help", the same answer again
BOT = "bot"  # a `handoff` that names no reason: the bot wanted a person, it did not say why

# Set by the hub itself, never carried in a reply; listed so the set is whole:
BOT_UNAVAILABLE = "bot_unavailable"  # the bot failed or stayed away too long
OUT_OF_HOURS = "out_of_hours"  # nobody can answer live: the conversation is a ticket
NO_AGENT_ONLINE = "no_agent_online"

HANDOFF_REASONS = frozenset(
    {CUSTOMER_REQUEST, REPEATED_MISSES, FRUSTRATION, BOT, BOT_UNAVAILABLE, OUT_OF_HOURS, NO_AGENT_ONLINE}
)

# -- scores -----------------------------------------------------------------------------
RATING_SCORES = range(1, 6)  # CSAT: 1 (poor) .. 5 (excellent)
NPS_SCORES = range(0, 11)  # "would you recommend us": 0 .. 10

# A text the customer sees: one string, or one per language ({"pl": ..., "en": ...}) for
# the hub to pick from (Rasa's responses carry every language; the actions pick one).
Text = str | dict[str, str]


def localised(text: Any, language: str, default_language: str) -> str:
    """`text` in `language`, else in the default language, else in any; "" for none.

    Tolerant of whatever a reply carries: a non-string is shown as its `str()`."""
    if isinstance(text, dict):
        return str(text.get(language) or text.get(default_language) or next(iter(text.values()), ""))
    return "" if text is None else str(text)


def _text(value: Any) -> Text:
    """A text as read off the wire: a per-language dict kept as such, anything else a string."""
    if isinstance(value, dict):
        return value
    return "" if value is None else str(value)


def _score(value: Any, scores: range) -> int | None:
    """The score in `{"score": n}` if n is a whole number in `scores`, else None: anything
    else (a string, a float, a bool, a bare number) is not a score and is ignored."""
    score = value.get("score") if isinstance(value, dict) else None
    if isinstance(score, int) and not isinstance(score, bool) and score in scores:
        return score
    return None


@dataclass
class Button:
    """A button under a reply: `title` shown, `payload` sent back as the customer's message
    (an intent with entities, e.g. `/rate{"score": 4}`, or plain text)."""

    title: Text
    payload: str

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "payload": self.payload}

    @classmethod
    def from_json(cls, button: dict[str, Any]) -> Button:
        return cls(_text(button.get("title")), str(button.get("payload", "")))


@dataclass
class Handoff:
    """Queue the conversation for a person. `signal` says more about a `FRUSTRATION`
    ("shouting", "swearing", "not_helpful", "same_answer_again")."""

    reason: str = BOT
    signal: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason} | ({"signal": self.signal} if self.signal else {})

    @classmethod
    def from_json(cls, handoff: dict[str, Any]) -> Handoff:
        """Any dict is a handoff: one without a reason has the reason `BOT`."""
        signal = handoff.get("signal")
        return cls(str(handoff.get("reason") or BOT), signal if isinstance(signal, str) and signal else None)


@dataclass
class BotReply:
    """One reply of the bot, as an action sends it (`dispatcher.utter_message(json_message=
    reply.to_json())`) and as the hub reads it back (`BotReply.from_json`).

    A reply with neither text nor buttons shows nothing, but may still carry a handoff or a
    survey answer for the hub."""

    text: Text = ""
    buttons: list[Button] = field(default_factory=list)
    source: dict[str, Any] | None = None  # the FAQ entry answered from: id, title, language, path
    handoff: Handoff | None = None
    retrieval: dict[str, Any] | None = None  # what the bot tried (query, candidates, scores): for agents
    rating: int | None = None  # in RATING_SCORES
    rating_comment: str | None = None  # the customer's words after a rating
    nps: int | None = None  # in NPS_SCORES

    def to_json(self) -> dict[str, Any]:
        """The custom payload: empty fields left out (a score of 0 is not empty)."""
        payload: dict[str, Any] = {}
        if self.text:
            payload["text"] = self.text
        if self.buttons:
            payload["buttons"] = [b.to_json() for b in self.buttons]
        if self.source:
            payload["source"] = self.source
        if self.handoff is not None:
            payload["handoff"] = self.handoff.to_json()
        if self.retrieval:
            payload["retrieval"] = self.retrieval
        if self.rating is not None:
            payload["rating"] = {"score": self.rating}
        if self.rating_comment:
            payload["rating_comment"] = self.rating_comment
        if self.nps is not None:
            payload["nps"] = {"score": self.nps}
        return payload

    @classmethod
    def from_json(cls, reply: Any) -> BotReply:
        """A reply as Rasa's REST channel returns it: `{"custom": {...}}` (the actions'
        payloads and the domain's responses) or a plain `{"text": ...}`.

        Tolerant, since a bad reply must not cost the customer their answer: whatever is
        malformed is left out (buttons that are not objects, scores out of range or not
        whole numbers, a blank comment, a source or retrieval that is not an object) and
        the rest is kept. Anything that is not an object at all is an empty reply."""
        if not isinstance(reply, dict):
            return cls()
        body = reply["custom"] if isinstance(reply.get("custom"), dict) else reply
        buttons = body.get("buttons")
        comment = body.get("rating_comment")
        return cls(
            text=_text(body.get("text")),
            buttons=[Button.from_json(b) for b in buttons if isinstance(b, dict)]
            if isinstance(buttons, list | tuple)
            else [],
            source=body["source"] if isinstance(body.get("source"), dict) else None,
            handoff=Handoff.from_json(body["handoff"]) if isinstance(body.get("handoff"), dict) else None,
            retrieval=body["retrieval"] if isinstance(body.get("retrieval"), dict) else None,
            rating=_score(body.get("rating"), RATING_SCORES),
            rating_comment=comment.strip() if isinstance(comment, str) and comment.strip() else None,
            nps=_score(body.get("nps"), NPS_SCORES),
        )


@dataclass(frozen=True)
class HubMetadata:
    """What the hub tells the bot with each customer message (Rasa passes it to the
    actions as `tracker.latest_message["metadata"]`).

    The bot cannot know these itself: the language the hub detected (and stores on the
    conversation), the customer's channel, whether NPS is on (NPS_ENABLED), and whether a
    person ever took part in the conversation (the hub knows of every hand-over, its own
    included, while Rasa only gives the actions the current turn)."""

    language: str | None = None  # None: the actions guess it from the text
    channel: str | None = None  # "web", "messenger", ...
    nps: bool = False  # after a rating, ask "would you recommend us?" (bot/actions/nps.py)
    handed_over: bool = False  # ever with a person: the bot asks no rating of its own

    def to_json(self) -> dict[str, Any]:
        """Every key, always: the hub sends a complete picture with each message."""
        return {"language": self.language, "channel": self.channel, "nps": self.nps, "handed_over": self.handed_over}

    @classmethod
    def from_metadata(cls, metadata: Any) -> HubMetadata:
        """The metadata of a message, or the defaults where it says nothing usable (e.g.
        `rasa shell`, which sends none). When in doubt the bot asks less: NPS only when
        the hub says `true`, and any truthy `handed_over` counts as handed over."""
        if not isinstance(metadata, dict):
            return cls()
        language, channel = metadata.get("language"), metadata.get("channel")
        return cls(
            language=language if isinstance(language, str) and language else None,
            channel=channel if isinstance(channel, str) and channel else None,
            nps=metadata.get("nps") is True,
            handed_over=bool(metadata.get("handed_over")),
        )
