"""Net Promoter Score: "how likely are you to recommend us to a friend? 0-10", asked
after the rating and its comment step, when the hub says NPS is on (`nps` in the
message metadata, bot/payloads.py `HubMetadata`, from NPS_ENABLED; off by default).

Optional: buttons 0..10 and "skip". A number typed instead of pressed counts too. Any
other message moves on as after a rating: a question is answered, small talk gets its
reply, anything else closes the question without storing anything. Only the next
message is considered. The score reaches the hub as `nps: {score}` (bot/payloads.py
`BotReply`), stored on the conversation's current rating (handoff/store.py `rate_nps`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.payloads import NPS_SCORES, BotReply, Button

from .faq import answer_question
from .questions import looks_like_question
from .texts import hub_metadata, language_of, say

SKIP_PAYLOAD = "/skip_nps"
SMALL_TALK = {"greet": "utter_greet", "goodbye": "utter_goodbye", "thanks": "utter_you_are_welcome"}
TYPED_SCORE = re.compile(r"\s*(\d{1,2})\s*(?:/\s*10)?\s*[.!]?\s*")


def nps_payload(score: int) -> str:
    return "/nps" + json.dumps({"score": score})


def nps_enabled(tracker: Tracker) -> bool:
    """What the hub says on each message (NPS_ENABLED); `rasa shell` sends nothing: off."""
    return hub_metadata(tracker).nps


def ask_nps(dispatcher: CollectingDispatcher, domain: dict[str, Any], language: str) -> list[EventType]:
    buttons = [Button(str(score), nps_payload(score)) for score in NPS_SCORES]
    buttons.append(Button(say(domain, "utter_button_skip_nps", language), SKIP_PAYLOAD))
    dispatcher.utter_message(
        json_message=BotReply(text=say(domain, "utter_ask_nps", language), buttons=buttons).to_json()
    )
    return [SlotSet("awaiting_nps", True)]


def score_of(tracker: Tracker) -> int | None:
    """The button's score, or a number typed on its own ("9", "9/10")."""
    if tracker.get_intent_of_latest_message() == "nps":
        value = next(tracker.get_latest_entity_values("score"), None)
    else:
        typed = TYPED_SCORE.fullmatch(tracker.latest_message.get("text") or "")
        value = typed.group(1) if typed else None
    try:
        score = int(value)
    except (TypeError, ValueError):
        return None
    return score if score in NPS_SCORES else None


class ActionNpsAnswer(Action):
    """The message after the NPS question (or a 0-10 button pressed later)."""

    def name(self) -> str:
        return "action_nps_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        intent = tracker.get_intent_of_latest_message()
        done = [SlotSet("awaiting_nps", False)]
        score = score_of(tracker)
        if score is not None:
            dispatcher.utter_message(
                json_message=BotReply(text=say(domain, "utter_nps_thanks", language), nps=score).to_json()
            )
            return done
        if intent in SMALL_TALK:
            dispatcher.utter_message(json_message=BotReply(text=say(domain, SMALL_TALK[intent], language)).to_json())
            return done
        text = (tracker.latest_message.get("text") or "").strip()
        if intent in ("ask_question", "nlu_fallback") and looks_like_question(text):
            return answer_question(dispatcher, tracker, domain) + done
        dispatcher.utter_message(json_message=BotReply(text=say(domain, "utter_no_comment", language)).to_json())
        return done
