"""What the hub itself says to customers (the bot's texts live in bot/domain.yml)."""

from __future__ import annotations

TEXTS = {
    "bot_unavailable": {
        "pl": "Nasz asystent jest chwilowo niedostępny. Zapisaliśmy Twoją wiadomość i przekazaliśmy ją "
        "konsultantowi: odpowie tutaj, w tej rozmowie.",
        "en": "Our assistant is unavailable right now. We have saved your message and passed it to a "
        "consultant, who will answer here.",
    },
    "queue_position": {
        "pl": "Jesteś {position}. w kolejce do konsultanta.",
        "en": "You are number {position} in the queue for a consultant.",
    },
    "resolved": {
        "pl": "Konsultant zakończył rozmowę. Jeśli masz jeszcze pytania, napisz: odpowie asystent.",
        "en": "The consultant has closed the conversation. If you have more questions, just write: "
        "the assistant will answer.",
    },
}


def text(key: str, language: str, **values) -> str:
    variants = TEXTS[key]
    return (variants.get(language) or variants["pl"]).format(**values)
