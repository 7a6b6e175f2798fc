"""Ratings (CSAT): 1-5 as buttons, then an optional comment, then, when the hub has
NPS on, "would you recommend us" (bot/actions/nps.py).

Asked in two cases:
- after an agent resolves a conversation: the hub sends the intent
  `/conversation_resolved` (customers cannot send intents; the hub can), and the bot,
  back in charge, asks about the agent's help;
- after the bot alone helped: a customer who got at least one FAQ answer, and was never
  handed to a person, says thanks or goodbye; the bot answers as always and asks about
  its own help, once per conversation (`bot_rating_asked`).
The hub stores what these replies carry (bot/payloads.py `BotReply`): `rating: {score}`
and `rating_comment`, for the agent who resolved the conversation last (none: the bot).

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

from bot.payloads import RATING_SCORES, BotReply, Button

from .faq import answer_question
from .nps import ask_nps, nps_enabled
from .questions import looks_like_question
from .texts import hub_metadata, language_of, say

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
    return score if score in RATING_SCORES else None


def ask_rating(dispatcher: CollectingDispatcher, domain: dict[str, Any], language: str, question: str) -> None:
    buttons = [Button(str(score), rate_payload(score)) for score in RATING_SCORES]
    dispatcher.utter_message(json_message=BotReply(text=say(domain, question, language), buttons=buttons).to_json())


class ActionAskRating(Action):
    """The hub says an agent resolved the conversation: the bot takes it back and asks."""

    def name(self) -> str:
        return "action_ask_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        ask_rating(dispatcher, domain, language_of(tracker), "utter_ask_rating")
        # What the bot knew of its own answers is from before the agent: start afresh.
        return [
            SlotSet("misses", 0),
            SlotSet("last_answer", None),
            SlotSet("bot_answered", False),  # a person helped: the bot asks no rating of its own
            SlotSet("awaiting_comment", False),
            SlotSet("awaiting_nps", False),
        ]


class ActionOfferBotRating(Action):
    """After thanks or goodbye (whose reply Rasa has just sent): ask the customer to rate
    the bot's help, if the bot alone answered them from the FAQ and has not asked yet."""

    def name(self) -> str:
        return "action_offer_bot_rating"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("bot_rating_asked") or not helped_alone(tracker):
            return [SlotSet("awaiting_comment", False)]
        ask_rating(dispatcher, domain, language_of(tracker), "utter_ask_bot_rating")
        return [SlotSet("awaiting_comment", False), SlotSet("awaiting_nps", False), SlotSet("bot_rating_asked", True)]


def helped_alone(tracker: Tracker) -> bool:
    """The bot answered from the FAQ in this session (`bot_answered`, set by
    bot/actions/faq.py), and no person took part in the conversation: the hub says so
    (`handed_over` in the metadata, bot/payloads.py `HubMetadata`), as it knows of every
    hand-over, its own included (when the bot fails). Rasa sends the actions only the
    current turn's events, so the history is read from slots and the hub, not from events."""
    if hub_metadata(tracker).handed_over:
        return False
    return bool(tracker.get_slot("bot_answered"))


class ActionRate(Action):
    """A score button: thank, carry the score to the hub, offer to add a comment."""

    def name(self) -> str:
        return "action_rate"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        score = score_of(tracker)
        if score is None:  # only the hub's own buttons send this intent; be safe anyway
            return [SlotSet("awaiting_comment", False)]
        no_comment = Button(say(domain, "utter_button_no_comment", language), NO_COMMENT_PAYLOAD)
        thanks = BotReply(text=say(domain, "utter_rating_thanks", language), buttons=[no_comment], rating=score)
        dispatcher.utter_message(json_message=thanks.to_json())
        return [SlotSet("awaiting_comment", True), SlotSet("awaiting_nps", False)]


class ActionRatingComment(Action):
    """The message after a rating: a comment to store, "no comment", small talk, or a
    new question (answered as one). Then, with NPS on, "would you recommend us", unless
    the customer has moved on to a question."""

    def name(self) -> str:
        return "action_rating_comment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        language = language_of(tracker)
        intent = tracker.get_intent_of_latest_message()
        text = (tracker.latest_message.get("text") or "").strip()
        done = [SlotSet("awaiting_comment", False)]
        if looks_like_question(text) and intent not in ("no_comment", *SMALL_TALK):
            return answer_question(dispatcher, tracker, domain) + done
        nps = nps_enabled(tracker)
        if intent == "no_comment":
            if not nps:  # the NPS question says enough
                dispatcher.utter_message(
                    json_message=BotReply(text=say(domain, "utter_no_comment", language)).to_json()
                )
        elif intent in SMALL_TALK:
            dispatcher.utter_message(json_message=BotReply(text=say(domain, SMALL_TALK[intent], language)).to_json())
        else:
            thanks = "utter_comment_noted" if nps else "utter_comment_thanks"
            reply = BotReply(text=say(domain, thanks, language), rating_comment=text)
            dispatcher.utter_message(json_message=reply.to_json())
        return done + (ask_nps(dispatcher, domain, language) if nps else [])
