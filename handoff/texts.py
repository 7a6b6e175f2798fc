"""What the hub itself says to customers (the bot's texts live in bot/domain.yml)."""

from __future__ import annotations

TEXTS = {
    "bot_unavailable": {
        "pl": "Nasz asystent jest chwilowo niedostępny. Zapisaliśmy Twoją wiadomość i przekazaliśmy ją "
        "konsultantowi: odpowie tutaj, w tej rozmowie.",
        "en": "Our assistant is unavailable right now. We have saved your message and passed it to a "
        "consultant, who will answer here.",
    },
    "bot_starting": {
        "pl": "Asystent właśnie się uruchamia. Twoja wiadomość jest zapisana: odpowiedź pojawi się tutaj za chwilę.",
        "en": "The assistant is just starting up. Your message is saved, and the answer will appear here in a moment.",
    },
    "bot_delayed": {
        "pl": "Asystent odpowiada dłużej niż zwykle. Twoja wiadomość jest zapisana: odpowiedź pojawi się tutaj, "
        "a jeśli asystent wkrótce nie wróci, rozmowę przejmie konsultant.",
        "en": "The assistant is taking longer than usual. Your message is saved: the answer will appear here, "
        "and if the assistant is not back shortly, a consultant will take over.",
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
