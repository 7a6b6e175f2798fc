"""The conversation goes to a person: say so and tell the hub to queue it.

The hub owns the queue: these replies only carry `handoff` (with the reason agents see;
the payload and the reasons are defined in bot/payloads.py), and from then on the hub
stops sending the conversation's messages to Rasa until an agent resolves it. Whether
anyone can answer live (business hours, agents online) is the hub's to say, in its own
message after this one.

Reasons: `customer_request` (asked for a person), `frustration` ("that didn't help",
shouting, swearing, or the same answer twice in a row; the signal is kept for agents).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.payloads import CUSTOMER_REQUEST, FRUSTRATION, BotReply, Handoff

from .frustration import frustration_signal
from .texts import language_of, say

NOT_HELPFUL = "not_helpful"  # the intent: "to nie pomogło", "that didn't help"


def reset_slots() -> list[EventType]:
    """What the bot remembers of its own answers starts afresh after a person takes over."""
    return [SlotSet("misses", 0), SlotSet("last_answer", None)]


def hand_over_frustrated(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    language: str,
    signal: str,
    retrieval: dict[str, Any] | None = None,
) -> list[EventType]:
    """An apology and a person, for a customer the bot has failed or annoyed."""
    reply = BotReply(
        text=say(domain, "utter_handoff_frustration", language),
        handoff=Handoff(FRUSTRATION, signal),
        retrieval=retrieval,
    )
    dispatcher.utter_message(json_message=reply.to_json())
    return reset_slots()


class ActionHandoff(Action):
    """The customer asked for a person, or said the bot did not help."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        if tracker.get_intent_of_latest_message() == NOT_HELPFUL:
            return hand_over_frustrated(dispatcher, domain, language, NOT_HELPFUL)
        signal = frustration_signal(tracker.latest_message.get("text") or "")
        if signal:  # "GIVE ME A HUMAN!!!": the agent should know the customer is upset
            return hand_over_frustrated(dispatcher, domain, language, signal)
        reply = BotReply(text=say(domain, "utter_handoff", language), handoff=Handoff(CUSTOMER_REQUEST))
        dispatcher.utter_message(json_message=reply.to_json())
        return reset_slots()
