"""The customer asks for a human: say so and tell the hub to queue the conversation.

The hub owns the queue: this action only marks the reply with `handoff`, and from then
on the hub stops sending the conversation's messages to Rasa until an agent resolves it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .texts import language_of, say


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        payload = {"text": say(domain, "utter_handoff", language), "handoff": {"reason": "customer_request"}}
        dispatcher.utter_message(json_message=payload)
        return [SlotSet("misses", 0)]
