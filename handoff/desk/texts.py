"""Every text the desk shows an agent, in Polish and English (the agent picks one).

The login page and the desk's shell get them through `t(key)` in templates; the desk's
script gets the whole table for its language at once (a data attribute on the page), so
one file holds every word an agent reads. Values may hold `{name}` fields, filled by
`text(...)` here and by the script's `t(key, values)` in the browser.
"""

from __future__ import annotations

LANGUAGES = ("pl", "en")
DEFAULT_LANGUAGE = "pl"

TEXTS: dict[str, dict[str, str]] = {
    # -- the frame -----------------------------------------------------------------
    "app_title": {"pl": "Panel konsultanta", "en": "Agent desk"},
    "skip_to_conversation": {"pl": "Przejdź do rozmowy", "en": "Skip to the conversation"},
    "language_label": {"pl": "Język panelu", "en": "Desk language"},
    "language_name_pl": {"pl": "Polski", "en": "Polski"},
    "language_name_en": {"pl": "English", "en": "English"},
    "logout": {"pl": "Wyloguj się", "en": "Log out"},
    "signed_in_as": {"pl": "Zalogowano jako", "en": "Signed in as"},
    "reports_link": {"pl": "Raporty", "en": "Reports"},  # supervisors only: handoff/reports/pages.py
    "role_agent": {"pl": "konsultant", "en": "agent"},
    "role_supervisor": {"pl": "koordynator", "en": "supervisor"},
    "live_connected": {"pl": "Na bieżąco", "en": "Live"},
    "live_connecting": {"pl": "Łączenie…", "en": "Connecting…"},
    "live_reconnecting": {"pl": "Brak połączenia, ponawiam…", "en": "Connection lost, retrying…"},
    # -- signing in -----------------------------------------------------------------
    "login_title": {"pl": "Logowanie do panelu", "en": "Sign in to the desk"},
    "login_intro": {"pl": "Zaloguj się, aby odpowiadać klientom.", "en": "Sign in to answer customers."},
    "login_name": {"pl": "Nazwa użytkownika", "en": "Name"},
    "login_password": {"pl": "Hasło", "en": "Password"},
    "login_submit": {"pl": "Zaloguj się", "en": "Sign in"},
    "login_failed": {"pl": "Nieprawidłowa nazwa lub hasło.", "en": "Wrong name or password."},
    "login_throttled": {
        "pl": "Zbyt wiele nieudanych prób. Spróbuj ponownie za chwilę.",
        "en": "Too many failed attempts. Try again in a moment.",
    },
    "login_form_expired": {
        "pl": "Formularz wygasł. Spróbuj jeszcze raz.",
        "en": "The form has expired. Please try again.",
    },
    # -- the queue -------------------------------------------------------------------
    "queue_heading": {"pl": "Kolejka", "en": "Queue"},
    "queue_waiting": {"pl": "Oczekujące", "en": "Waiting"},
    "queue_in_progress": {"pl": "W toku", "en": "In progress"},
    "queue_empty": {
        "pl": "Nikt nie czeka. Nowe rozmowy pojawią się tutaj same.",
        "en": "Nobody is waiting. New conversations will appear here by themselves.",
    },
    "queue_in_progress_empty": {"pl": "Żadna rozmowa nie jest teraz prowadzona.", "en": "No conversation in progress."},
    "queue_announce": {"pl": "Oczekujące rozmowy: {count}", "en": "Waiting conversations: {count}"},
    "queue_new_announce": {"pl": "Nowa rozmowa w kolejce", "en": "A new conversation is waiting"},
    "waiting_for": {"pl": "czeka {time}", "en": "waiting {time}"},
    "queue_wait": {"pl": "{time}", "en": "{time}"},  # under "Waiting": the time alone says it
    "handled_by": {"pl": "prowadzi {name}", "en": "with {name}"},
    "handled_by_you": {"pl": "prowadzisz Ty", "en": "yours"},
    "no_message_yet": {"pl": "(brak wiadomości od klienta)", "en": "(no message from the customer)"},
    "ticket": {"pl": "Zgłoszenie", "en": "Ticket"},
    # -- why a conversation came to people --------------------------------------------
    "reason_customer_request": {"pl": "Klient poprosił o konsultanta", "en": "The customer asked for a person"},
    "reason_repeated_misses": {
        "pl": "Bot dwa razy z rzędu nie znalazł odpowiedzi",
        "en": "The bot found no answer twice in a row",
    },
    "reason_bot_unavailable": {"pl": "Bot był niedostępny", "en": "The bot was unavailable"},
    "reason_frustration": {"pl": "Klient wydaje się zdenerwowany", "en": "The customer seems frustrated"},
    "reason_out_of_hours": {
        "pl": "Poza godzinami pracy: klient czeka na e-mail",
        "en": "Out of hours: the customer expects an e-mail",
    },
    "reason_no_agent_online": {
        "pl": "Nikt nie był dostępny: klient czeka na e-mail",
        "en": "No agent was online: the customer expects an e-mail",
    },
    "reason_unknown": {"pl": "Powód nieznany", "en": "Reason not known"},
    # The same, short enough for a queue card.
    "reason_short_customer_request": {"pl": "Prosi o konsultanta", "en": "Asked for a person"},
    "reason_short_repeated_misses": {"pl": "Bot nie znalazł odpowiedzi", "en": "The bot found no answer"},
    "reason_short_bot_unavailable": {"pl": "Bot niedostępny", "en": "The bot was unavailable"},
    "reason_short_frustration": {"pl": "Klient zdenerwowany", "en": "Customer frustrated"},
    "reason_short_out_of_hours": {"pl": "Poza godzinami pracy", "en": "Out of hours"},
    "reason_short_no_agent_online": {"pl": "Nikt nie był dostępny", "en": "Nobody was online"},
    # -- channels, languages, statuses -------------------------------------------------
    "channel_web": {"pl": "czat na stronie", "en": "website chat"},
    "channel_email": {"pl": "e-mail", "en": "e-mail"},
    "channel_messenger": {"pl": "Messenger", "en": "Messenger"},
    "channel_whatsapp": {"pl": "WhatsApp", "en": "WhatsApp"},
    "channel_unknown": {"pl": "kanał: {channel}", "en": "channel: {channel}"},
    "language_pl": {"pl": "polski", "en": "Polish"},
    "language_en": {"pl": "angielski", "en": "English"},
    "language_unknown": {"pl": "język: {language}", "en": "language: {language}"},
    "status_bot": {"pl": "Klient rozmawia z botem.", "en": "The customer is talking to the bot."},
    "status_queued": {
        "pl": "Klient czeka na konsultanta. Przejmij rozmowę, aby odpowiedzieć.",
        "en": "The customer is waiting for an agent. Take the conversation to answer.",
    },
    "status_assigned_you": {"pl": "Prowadzisz tę rozmowę.", "en": "You are handling this conversation."},
    "status_assigned_other": {"pl": "Tę rozmowę prowadzi {name}.", "en": "{name} is handling this conversation."},
    "status_resolved": {
        "pl": "Rozmowa zakończona. Klientowi znowu odpowiada bot.",
        "en": "Resolved. The bot answers the customer again.",
    },
    # -- relative times (a waiting time ticks every second) --------------------------------
    "time_seconds": {"pl": "{s} s", "en": "{s} s"},
    "time_minutes": {"pl": "{m} min", "en": "{m} min"},
    "time_hours": {"pl": "{h} godz. {m} min", "en": "{h} h {m} min"},
    "time_day": {"pl": "1 dzień {h} godz.", "en": "1 day {h} h"},
    "time_days": {"pl": "{d} dni {h} godz.", "en": "{d} days {h} h"},
    # -- a conversation ------------------------------------------------------------------
    "pick_conversation": {
        "pl": "Wybierz rozmowę z kolejki.",
        "en": "Pick a conversation from the queue.",
    },
    "pick_hint": {
        "pl": "W polu odpowiedzi Enter wysyła wiadomość, a Shift+Enter zaczyna nową linię.",
        "en": "In the reply box, Enter sends and Shift+Enter starts a new line.",
    },
    "loading": {"pl": "Wczytywanie…", "en": "Loading…"},
    "not_found": {"pl": "Nie ma takiej rozmowy.", "en": "There is no such conversation."},
    "conversation_title": {"pl": "Rozmowa: {channel}, {language}", "en": "Conversation: {channel}, {language}"},
    "actions_label": {"pl": "Działania", "en": "Actions"},
    "claim": {"pl": "Przejmij rozmowę", "en": "Take this conversation"},
    "release": {"pl": "Oddaj do kolejki", "en": "Return to the queue"},
    "transfer": {"pl": "Przekaż", "en": "Transfer"},
    "transfer_to": {"pl": "Przekaż do", "en": "Transfer to"},
    "transfer_choose": {"pl": "Przekaż do…", "en": "Transfer to…"},
    "transfer_none": {"pl": "brak innych konsultantów", "en": "no other agents"},
    "agent_online": {"pl": "{name}: w panelu", "en": "{name}: online"},
    "agent_offline": {"pl": "{name}: poza panelem", "en": "{name}: offline"},
    "resolve": {"pl": "Zakończ rozmowę", "en": "Resolve"},
    "claimed_ok": {"pl": "Rozmowa jest Twoja.", "en": "The conversation is yours."},
    "released_ok": {"pl": "Rozmowa wróciła do kolejki.", "en": "The conversation is back in the queue."},
    "transferred_ok": {"pl": "Przekazano rozmowę: {name}.", "en": "Transferred to {name}."},
    "resolved_ok": {"pl": "Rozmowa zakończona.", "en": "The conversation is resolved."},
    "transcript_heading": {"pl": "Przebieg rozmowy", "en": "Transcript"},
    "author_customer": {"pl": "Klient", "en": "Customer"},
    "author_bot": {"pl": "Bot", "en": "Bot"},
    "author_system": {"pl": "Komunikat systemu", "en": "System notice"},
    "author_agent": {"pl": "Konsultant", "en": "Agent"},
    "author_you": {"pl": "Ty", "en": "You"},
    "note_label": {"pl": "Notatka wewnętrzna", "en": "Internal note"},
    "note_hidden": {"pl": "klient jej nie widzi", "en": "not shown to the customer"},
    "bot_source": {"pl": "Źródło: {title}", "en": "Source: {title}"},
    "bot_offered": {"pl": "Zaproponował:", "en": "Offered:"},
    # -- what the bot knew ---------------------------------------------------------------
    "context_heading": {"pl": "Co już wiemy", "en": "What we know"},
    "reason_heading": {"pl": "Dlaczego trafiła do nas", "en": "Why it came to us"},
    "understood_heading": {"pl": "Co zrozumiał bot", "en": "What the bot understood"},
    "summary_empty": {
        "pl": "Bot nie próbował odpowiadać w tej rozmowie.",
        "en": "The bot did not try to answer in this conversation.",
    },
    "details_toggle": {"pl": "Szczegóły: intencje i wyniki", "en": "Details: intents and scores"},
    "understood_line": {"pl": "„{text}”: {intent} ({confidence})", "en": "“{text}”: {intent} ({confidence})"},
    "tried_line": {"pl": "Szukał: „{query}”, {decision}", "en": "Searched for “{query}”: {decision}"},
    "candidate_line": {"pl": "{title}: wynik {score}", "en": "{title}: score {score}"},
    "intent_greet": {"pl": "powitanie", "en": "greeting"},
    "intent_thanks": {"pl": "podziękowanie", "en": "thanks"},
    "intent_goodbye": {"pl": "pożegnanie", "en": "goodbye"},
    "intent_request_human": {"pl": "prośba o konsultanta", "en": "asks for a person"},
    "intent_ask_question": {"pl": "pytanie", "en": "question"},
    "intent_choose_entry": {"pl": "wybór jednej z propozycji", "en": "picked one of the offered answers"},
    "intent_nlu_fallback": {"pl": "niezrozumiałe", "en": "not understood"},
    "decision_answer": {"pl": "odpowiedział", "en": "answered"},
    "decision_clarify": {"pl": "nie był pewien i zaproponował kilka tematów", "en": "not sure, offered a few topics"},
    "decision_fallback": {"pl": "nie znalazł odpowiedzi", "en": "found no answer"},
    "customer_heading": {"pl": "Klient", "en": "Customer"},
    "field_channel": {"pl": "Kanał", "en": "Channel"},
    "field_language": {"pl": "Język", "en": "Language"},
    "field_first_contact": {"pl": "Pierwszy kontakt", "en": "First contact"},
    "field_messages": {"pl": "Wiadomości klienta", "en": "Customer's messages"},
    "field_earlier_handoffs": {"pl": "Wcześniejsze przekazania", "en": "Earlier handoffs"},
    "field_email": {"pl": "E-mail", "en": "E-mail"},
    "field_earlier_conversations": {"pl": "Wcześniejsze rozmowy", "en": "Earlier conversations"},
    "field_waiting": {"pl": "Czeka", "en": "Waiting"},
    "ticket_banner": {
        "pl": "Zgłoszenie: klient czeka na odpowiedź e-mailem na adres",
        "en": "Ticket: the customer expects an answer by e-mail at",
    },
    "ticket_no_email": {
        "pl": "Zgłoszenie: klient czeka na odpowiedź, ale nie zostawił adresu e-mail.",
        "en": "Ticket: the customer is waiting for an answer but left no e-mail address.",
    },
    # -- agent assist, replying, notes, drafts --------------------------------------------------
    "suggestions_heading": {"pl": "Podpowiedzi z bazy wiedzy", "en": "Suggested answers from the FAQ"},
    "suggestions_empty": {
        "pl": "Brak podpowiedzi do ostatniej wiadomości klienta.",
        "en": "No suggestions for the customer's last message.",
    },
    "suggestion_match": {"pl": "dopasowanie {score}", "en": "match {score}"},
    "insert": {"pl": "Wstaw", "en": "Insert"},
    "insert_label": {"pl": "Wstaw odpowiedź: {title}", "en": "Insert the answer: {title}"},
    "composer_mode": {"pl": "Rodzaj wpisu", "en": "What to write"},
    "mode_reply": {"pl": "Odpowiedź do klienta", "en": "Reply to the customer"},
    "mode_note": {"pl": "Notatka wewnętrzna", "en": "Internal note"},
    "reply_placeholder": {
        "pl": "Napisz odpowiedź… (Enter wysyła, Shift+Enter to nowa linia)",
        "en": "Write a reply… (Enter sends, Shift+Enter adds a line)",
    },
    "note_placeholder": {
        "pl": "Notatka dla konsultantów: klient jej nie zobaczy",
        "en": "A note for agents: the customer will not see it",
    },
    "send": {"pl": "Wyślij", "en": "Send"},
    "add_note": {"pl": "Dodaj notatkę", "en": "Add note"},
    "save_draft": {"pl": "Zapisz jako szkic FAQ", "en": "Save as FAQ draft"},
    "draft_saved": {"pl": "Zapisano szkic: {path}", "en": "Draft saved: {path}"},
    "draft_needs": {
        "pl": "Szkic powstaje z Twojej ostatniej odpowiedzi i ostatniego pytania klienta: najpierw odpowiedz.",
        "en": "A draft is made of your last reply and the customer's last question: reply first.",
    },
    "note_added": {"pl": "Dodano notatkę.", "en": "Note added."},
    # -- errors --------------------------------------------------------------------------
    "error_generic": {
        "pl": "Coś poszło nie tak. Spróbuj jeszcze raz.",
        "en": "Something went wrong. Please try again.",
    },
    "conflict_taken": {
        "pl": "Za późno: tę rozmowę prowadzi już {name}.",
        "en": "Too late: {name} already has this conversation.",
    },
    "conflict_changed": {
        "pl": "Stan rozmowy się zmienił, więc to się nie udało. Widzisz już aktualny stan.",
        "en": "The conversation changed meanwhile, so that did not work. You now see where it stands.",
    },
    "error_session": {
        "pl": "Sesja wygasła. Zaloguj się ponownie.",
        "en": "Your session has ended. Please sign in again.",
    },
    "error_network": {
        "pl": "Brak połączenia z serwerem. Spróbuj za chwilę.",
        "en": "The server cannot be reached. Please try again shortly.",
    },
    "error_empty": {"pl": "Wpisz treść.", "en": "Write something first."},
    "error_request": {"pl": "Nie udało się: {detail}", "en": "That did not work: {detail}"},
}


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def text(key: str, language: str, **values) -> str:
    """The text for `key` in `language` (Polish when that language has none), with its
    `{fields}` filled from `values`."""
    variants = TEXTS[key]
    template = variants.get(language) or variants[DEFAULT_LANGUAGE]
    return template.format(**values) if values else template


def table(language: str) -> dict[str, str]:
    """Every text in one language: what the desk's script gets."""
    return {key: variants.get(language) or variants[DEFAULT_LANGUAGE] for key, variants in TEXTS.items()}
