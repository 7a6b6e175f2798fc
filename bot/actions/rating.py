"""After an agent resolves a conversation: the bot is back, asks for a rating (1-5, as
buttons), then for an optional comment.

The hub starts it with the intent `/conversation_resolved` (customers cannot send
intents; the hub can) and stores what these replies carry: `rating: {score}` and
`rating_comment`, for the agent who resolved the conversation.

The reply after a rating may be a comment or a new question. It is taken as a comment
unless it reads as a question (bot/actions/questions.py: a question mark, or a first
word such as "jak", "czy", "how", "can"): a customer who moves on and asks something
gets an answer, and one who writes "very kind, thanks" has it stored. A "no comment"
button closes it explicitly. Only the next message is considered: after it, the bot is
back to normal.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .faq import answer_question
from .questions import looks_like_question
from .texts import language_of, say

SCORES = range(1, 6)
NO_COMMENT_PAYLOAD = "/no_comment"
# A greeting or goodbye right after a rating is small talk, not a comment.
SMALL_TALK = {"greet": "utter_greet", "goodbye": "utter_goodbye"}


def rate_payload(score: int) -> str:
    return "/rate" + json.dumps({"score": score})


def score_of(tracker: Tracker) -> int | None:
    value = next(tracker.get_latest_entity_values("score"), None)
    try:
        score = int(value)
    except (TypeError, ValueError):
        return None
    return score if score in SCORES else None


class ActionAskRating(Action):
    """The hub says an agent resolved the conversation: the bot takes it back and asks."""

    def name(self) -> str:
        return "action_ask_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        buttons = [{"title": str(score), "payload": rate_payload(score)} for score in SCORES]
        dispatcher.utter_message(json_message={"text": say(domain, "utter_ask_rating", language), "buttons": buttons})
        # What the bot knew of its own answers is from before the agent: start afresh.
        return [SlotSet("misses", 0), SlotSet("last_answer", None), SlotSet("awaiting_comment", False)]


class ActionRate(Action):
    """A score button: thank, carry the score to the hub, offer to add a comment."""

    def name(self) -> str:
        return "action_rate"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        score = score_of(tracker)
        if score is None:  # only the hub's own buttons send this intent; be safe anyway
            return [SlotSet("awaiting_comment", False)]
        no_comment = {"title": say(domain, "utter_button_no_comment", language), "payload": NO_COMMENT_PAYLOAD}
        payload = {
            "text": say(domain, "utter_rating_thanks", language),
            "buttons": [no_comment],
            "rating": {"score": score},
        }
        dispatcher.utter_message(json_message=payload)
        return [SlotSet("awaiting_comment", True)]


class ActionRatingComment(Action):
    """The message after a rating: a comment to store, "no comment", small talk, or a
    new question (answered as one)."""

    def name(self) -> str:
        return "action_rating_comment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        intent = tracker.get_intent_of_latest_message()
        text = (tracker.latest_message.get("text") or "").strip()
        done = [SlotSet("awaiting_comment", False)]
        if intent == "no_comment":
            dispatcher.utter_message(json_message={"text": say(domain, "utter_no_comment", language)})
            return done
        if intent in SMALL_TALK:
            dispatcher.utter_message(json_message={"text": say(domain, SMALL_TALK[intent], language)})
            return done
        if looks_like_question(text):
            return answer_question(dispatcher, tracker, domain) + done
        payload = {"text": say(domain, "utter_comment_thanks", language), "rating_comment": text}
        dispatcher.utter_message(json_message=payload)
        return done
