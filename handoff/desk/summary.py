"""What the bot understood and tried, as a few plain sentences in the agent's language.

The conversation's `context` holds the raw record (intents with confidences, retrieval
candidates with their scores and the thresholds); an agent reading a waiting customer's
conversation needs it said: "Bot understood 'jak oddać buty' as: a question (87%)",
"Tried for 'jak oddać buty': 'Jak zwrócić towar?' 0.41 — not sure, offered 2 options".
"""

from __future__ import annotations

from typing import Any

QUOTED = 80  # characters of a customer's text quoted in a sentence
CANDIDATES = 3  # entries named per attempt
SENTENCES = 8  # the latest understood/tried sentences kept

TEXTS: dict[str, dict[str, str]] = {
    "understood": {
        "pl": "Bot zrozumiał „{text}” jako: {intent} ({percent}%)",
        "en": "Bot understood “{text}” as: {intent} ({percent}%)",
    },
    "tried": {
        "pl": "Szukał dla „{query}”: {candidates} — {outcome}",
        "en": "Tried for “{query}”: {candidates} — {outcome}",
    },
    "tried.nothing": {"pl": "Szukał dla „{query}”: nic nie znalazł", "en": "Tried for “{query}”: found nothing"},
    "outcome.answer": {"pl": "odpowiedział pierwszym", "en": "answered with the first"},
    "outcome.clarify": {
        "pl": "nie był pewien, zaproponował {count} odpowiedzi",
        "en": "not sure, offered {count} options",
    },
    "outcome.unsure": {
        "pl": "pierwsza pasowała, ale bot był jej pewien tylko w {percent}%, zaproponował {count} odpowiedzi",
        "en": "the first scored high, but the bot was only {percent}% sure of it, offered {count} options",
    },
    "outcome.fallback": {
        "pl": "nic dość podobnego, powiedział, że nie wie",
        "en": "nothing close enough, said it did not know",
    },
    "nothing": {
        "pl": "Bot nie zdążył niczego zrozumieć ani wyszukać.",
        "en": "The bot did not get to understand or look up anything.",
    },
}

INTENTS: dict[str, dict[str, str]] = {
    "ask_question": {"pl": "pytanie", "en": "a question"},
    "request_human": {"pl": "prośba o konsultanta", "en": "a request for a person"},
    "greet": {"pl": "powitanie", "en": "a greeting"},
    "thanks": {"pl": "podziękowanie", "en": "thanks"},
    "goodbye": {"pl": "pożegnanie", "en": "a goodbye"},
    "choose_entry": {"pl": "wybór jednej z propozycji", "en": "a choice of one of the offered answers"},
    "nlu_fallback": {"pl": "niejasne", "en": "unclear"},
}


def summarize(context: dict[str, Any], language: str) -> list[str]:
    """Sentences for an agent: what the bot understood of each message and what it
    tried, oldest first. (Why the conversation is here is shown on its own.)"""
    language = language if language in ("pl", "en") else "en"
    events: list[tuple[int, str]] = []
    for item in context.get("understood") or []:
        if item.get("intent"):
            events.append((item.get("seq", 0), _understood(item, language)))
    for item in context.get("retrieval") or []:
        events.append((item.get("seq", 0), _tried(item, language)))
    if not events:
        return [_say("nothing", language)]
    return [sentence for _, sentence in sorted(events, key=lambda e: e[0])[-SENTENCES:]]


def _understood(item: dict[str, Any], language: str) -> str:
    intent = item["intent"]
    words = INTENTS.get(intent, {}).get(language, intent)
    confidence = item.get("confidence") or 0.0
    return _say(
        "understood", language, text=_quote(item.get("text", "")), intent=words, percent=round(100 * confidence)
    )


def _tried(item: dict[str, Any], language: str) -> str:
    query = _quote(item.get("query", ""))
    candidates = item.get("candidates") or []
    if not candidates:
        return _say("tried.nothing", language, query=query)
    named = ", ".join(
        f"'{c.get('title', c.get('id'))}' {_score(c.get('score', 0.0), language)}" for c in candidates[:CANDIDATES]
    )
    decision = item.get("decision")
    thresholds = item.get("thresholds") or {}
    if decision == "clarify":
        count = _offered(candidates, thresholds)
        if _doubted(item, candidates[0], thresholds):
            outcome = _say("outcome.unsure", language, percent=round(100 * item["confidence"]), count=count)
        else:
            outcome = _say("outcome.clarify", language, count=count)
    elif decision == "answer":
        outcome = _say("outcome.answer", language)
    else:
        outcome = _say("outcome.fallback", language)
    return _say("tried", language, query=query, candidates=named, outcome=outcome)


def _doubted(item: dict[str, Any], first: dict[str, Any], thresholds: dict[str, float]) -> bool:
    """Whether the best entry scored enough to be answered and the entry classifier's
    doubt is why the bot offered choices (knowledge.decide): the scores shown would not
    tell the agent."""
    confidence, confident = item.get("confidence"), thresholds.get("confident")
    if confidence is None or confident is None or confidence >= confident:
        return False
    return first.get("score", 0.0) >= thresholds.get("answer", float("inf"))


def _offered(candidates: list[dict[str, Any]], thresholds: dict[str, float]) -> int:
    """How many entries the bot offered: the best two, and a third above the clarify
    threshold (knowledge.base.KnowledgeBase._options)."""
    count = min(2, len(candidates))
    clarify = thresholds.get("clarify")
    if len(candidates) > 2 and clarify is not None and candidates[2].get("score", 0.0) >= clarify:
        count += 1
    return count


def _score(score: float, language: str) -> str:
    shown = f"{score:.2f}"
    return shown.replace(".", ",") if language == "pl" else shown


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= QUOTED else text[: QUOTED - 1] + "…"


def _say(key: str, language: str, **values: Any) -> str:
    return TEXTS[key][language].format(**values)
