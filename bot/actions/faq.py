"""Questions answered from the FAQ: answer, offer the closest entries, or say so.

Each reply is one custom payload the hub understands (bot/payloads.py `BotReply`): the
text, buttons and source the customer sees, and what retrieval tried (for the agent,
should the conversation reach one). Two misses in a row hand the conversation to a human; so does a customer who is
losing patience (shouting, swearing, or getting the same answer twice in a row: the
answer did not help, repeating it would not either).
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.payloads import REPEATED_MISSES, BotReply, Button, Handoff
from knowledge.base import KnowledgeBase, Reply
from knowledge.entries import Entry

from .frustration import frustration_signal
from .handoff import hand_over_frustrated
from .knowledge_base import KB, off_loop
from .texts import human_button, language_of, say

MISSES_BEFORE_HANDOFF = 2
CANDIDATES_REPORTED = 5


def choose_payload(entry_id: str) -> str:
    return "/choose_entry" + json.dumps({"entry_id": entry_id})


def source(entry: Entry) -> dict[str, str]:
    return {"id": entry.id, "title": entry.title, "language": entry.language, "path": entry.path}


def retrieval(kb: KnowledgeBase, text: str, reply: Reply, version: int) -> dict[str, Any]:
    """What the agent sees of the bot's attempt: the candidates with their scores."""
    t = kb.calibration.thresholds
    return {
        "query": text,
        "language": reply.language,
        "decision": reply.kind,
        "candidates": [
            {
                "id": h.id,
                "title": kb.entry(h.id, reply.language).title,
                "score": round(h.score, 4),
                "dense": round(h.dense, 4),
                "lexical": round(h.lexical, 4),
                "answer_dense": round(h.answer_dense, 4),
                "answer_lexical": round(h.answer_lexical, 4),
                "meaning": round(h.meaning, 4),
            }
            for h in reply.hits[:CANDIDATES_REPORTED]
        ],
        "confidence": round(reply.confidence, 4),  # the entry classifier's, for the first candidate
        "thresholds": {
            "answer": round(t.answer, 4),
            "margin": round(t.margin, 4),
            "clarify": round(t.clarify, 4),
            "confident": round(t.confident, 4),
        },
        "kb_version": version,
    }


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return await off_loop(answer_question, dispatcher, tracker, domain)


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
    """Answer the latest message from the FAQ, clarify, fall back, or hand over."""
    language = language_of(tracker)
    kb, version = KB.current, KB.version  # one snapshot for the whole reply, even mid-reload
    chosen = next(tracker.get_latest_entity_values("entry_id"), None)
    if tracker.get_intent_of_latest_message() == "choose_entry" and chosen in kb:
        entry = kb.entry(chosen, language)
        dispatcher.utter_message(json_message=BotReply(text=entry.answer, source=source(entry)).to_json())
        return [SlotSet("misses", 0), SlotSet("last_answer", entry.id), SlotSet("bot_answered", True)]

    text = tracker.latest_message.get("text") or ""
    reply = kb.ask(text, language)
    meta = retrieval(kb, text, reply, version)
    signal = frustration_signal(text)
    if signal:
        return hand_over_frustrated(dispatcher, domain, language, signal, meta)
    if reply.kind == "answer":
        if reply.entry.id == tracker.get_slot("last_answer"):  # asked again: the answer did not help
            return hand_over_frustrated(dispatcher, domain, language, "same_answer_again", meta)
        answer = BotReply(text=reply.entry.answer, source=source(reply.entry), retrieval=meta)
        dispatcher.utter_message(json_message=answer.to_json())
        return [SlotSet("misses", 0), SlotSet("last_answer", reply.entry.id), SlotSet("bot_answered", True)]
    if reply.kind == "clarify":
        buttons = [Button(e.title, choose_payload(e.id)) for e in reply.options]
        buttons.append(human_button(domain, language, "utter_button_none_of_these"))
        clarify = BotReply(text=say(domain, "utter_clarify", language), buttons=buttons, retrieval=meta)
        dispatcher.utter_message(json_message=clarify.to_json())
        return [SlotSet("misses", 0), SlotSet("last_answer", None)]

    misses = int(tracker.get_slot("misses") or 0) + 1
    if misses >= MISSES_BEFORE_HANDOFF:
        handoff = BotReply(
            text=say(domain, "utter_handoff_after_misses", language),
            handoff=Handoff(REPEATED_MISSES),
            retrieval=meta,
        )
        dispatcher.utter_message(json_message=handoff.to_json())
        return [SlotSet("misses", 0), SlotSet("last_answer", None)]
    fallback = BotReply(
        text=say(domain, "utter_fallback", language), buttons=[human_button(domain, language)], retrieval=meta
    )
    dispatcher.utter_message(json_message=fallback.to_json())
    return [SlotSet("misses", misses), SlotSet("last_answer", None)]
