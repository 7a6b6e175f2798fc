"""What the hub itself says to customers (the bot's texts live in bot/domain.yml)."""

from __future__ import annotations

TEXTS = {
    # Followed by where the customer stands: in the queue (answered here) or a ticket (by e-mail).
    "bot_unavailable": {
        "pl": "Nasz asystent jest chwilowo niedostępny. Zapisaliśmy Twoją wiadomość i przekazaliśmy ją konsultantowi.",
        "en": "Our assistant is unavailable right now. We have saved your message and passed it to a consultant.",
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
        "pl": "Jesteś {position}. w kolejce do konsultanta, który odpowie tutaj, w tej rozmowie. "
        "Przewidywany czas oczekiwania: {wait}.",
        "en": "You are number {position} in the queue for a consultant, who will answer here. Expected wait: {wait}.",
    },
    "queue_position_no_estimate": {
        "pl": "Jesteś {position}. w kolejce do konsultanta, który odpowie tutaj, w tej rozmowie. "
        "Nie umiemy jeszcze podać czasu oczekiwania: mamy za mało danych o ostatnich rozmowach.",
        "en": "You are number {position} in the queue for a consultant, who will answer here. "
        "We can't estimate the wait yet: there is too little recent history.",
    },
    # Nobody can answer live: the conversation becomes a ticket, answered by e-mail. The
    # reason comes first, then `ask_email` (or `email_known`), in one message.
    "ticket_out_of_hours": {
        "pl": "Konsultanci odpowiadają na czacie w godzinach: {hours} (strefa czasowa {timezone}). "
        "Teraz nikt nie może odpowiedzieć od razu.",
        "en": "Our consultants answer in the chat {hours} ({timezone} time). Nobody can answer right now.",
    },
    "ticket_no_agent_online": {
        "pl": "W tej chwili żaden konsultant nie jest dostępny na czacie.",
        "en": "No consultant is available in the chat right now.",
    },
    "ask_email": {
        "pl": "Podaj proszę swój adres e-mail: konsultant odpowie na niego najszybciej, jak to możliwe.",
        "en": "Please leave your e-mail address: a consultant will answer there as soon as possible.",
    },
    "email_known": {
        "pl": "Konsultant odpowie na adres {email} najszybciej, jak to możliwe.",
        "en": "A consultant will answer at {email} as soon as possible.",
    },
    "email_saved": {
        "pl": "Dziękujemy! Konsultant odpowie na adres {email}.",
        "en": "Thank you! A consultant will answer at {email}.",
    },
    "email_again": {
        "pl": "To nie wygląda na adres e-mail. Podaj proszę adres w postaci nazwa@przyklad.pl, żeby konsultant "
        "mógł odpowiedzieć.",
        "en": "That doesn't look like an e-mail address. Please write it like name@example.com, so that a "
        "consultant can answer.",
    },
    "resolved": {
        "pl": "Konsultant zakończył rozmowę. Jeśli masz jeszcze pytania, napisz: odpowie asystent.",
        "en": "The consultant has closed the conversation. If you have more questions, just write: "
        "the assistant will answer.",
    },
}


# How long, in words: "less than a minute", "about 5 minutes", "about 2 hours".
DURATIONS = {
    "under_a_minute": {"pl": "mniej niż minuta", "en": "less than a minute"},
    "minutes": {"pl": "około {n} min", "en": "about {n} minutes"},
    "one_minute": {"pl": "około 1 min", "en": "about a minute"},
    "hours": {"pl": "około {n} godz.", "en": "about {n} hours"},
}


def text(key: str, language: str, **values) -> str:
    variants = TEXTS[key]
    return (variants.get(language) or variants["pl"]).format(**values)


def duration(seconds: float, language: str) -> str:
    """A wait as a customer reads it: rounded to minutes, to hours past two hours."""
    if seconds < 60:
        key, n = "under_a_minute", 0
    elif seconds < 90:
        key, n = "one_minute", 1
    elif seconds < 2 * 3600:
        key, n = "minutes", round(seconds / 60)
    else:
        key, n = "hours", round(seconds / 3600)
    variants = DURATIONS[key]
    return (variants.get(language) or variants["pl"]).format(n=n)
