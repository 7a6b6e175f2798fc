"""Every word of the reports page, in Polish and English (the desk's language choice).

Kept apart from the desk's table (handoff/desk/texts.py) because the desk's script gets
that whole table in a data attribute: supervisors' words need not ride along on every
agent's page. Values may hold `{name}` fields, filled by `text(...)`.
"""

from __future__ import annotations

from ..desk.texts import DEFAULT_LANGUAGE, LANGUAGES

__all__ = ["LANGUAGES", "TEXTS", "text"]

TEXTS: dict[str, dict[str, str]] = {
    # -- the frame -------------------------------------------------------------------
    "title": {"pl": "Raporty", "en": "Reports"},
    "back_to_desk": {"pl": "Wróć do panelu", "en": "Back to the desk"},
    "skip_to_report": {"pl": "Przejdź do raportu", "en": "Skip to the report"},
    "sections_label": {"pl": "Części raportu", "en": "Parts of the report"},
    "no_data": {"pl": "Brak danych za ten okres.", "en": "No data for this period."},
    "csv_link": {"pl": "Pobierz CSV", "en": "Download CSV"},
    "csv_link_label": {"pl": "Pobierz CSV: {table}", "en": "Download CSV: {table}"},
    "json_link": {"pl": "Cały raport jako JSON", "en": "The whole report as JSON"},
    "not_measured": {"pl": "–", "en": "–"},
    "forbidden": {
        "pl": "Raporty widzą tylko koordynatorzy. Jeśli ich potrzebujesz, poproś koordynatora o tę rolę.",
        "en": "Only supervisors see the reports. If you need them, ask a supervisor for that role.",
    },
    "bad_filters": {"pl": "Nie można pokazać raportu: {detail}", "en": "The report cannot be shown: {detail}"},
    "unavailable": {
        "pl": "Tej części raportu nie udało się teraz policzyć. Spróbuj za chwilę.",
        "en": "This part of the report could not be computed just now. Please try again shortly.",
    },
    # -- filters ----------------------------------------------------------------------
    "filters_heading": {"pl": "Zakres raportu", "en": "What to report on"},
    "filter_from": {"pl": "Od", "en": "From"},
    "filter_to": {"pl": "Do (włącznie)", "en": "To (inclusive)"},
    "filter_channel": {"pl": "Kanał", "en": "Channel"},
    "filter_language": {"pl": "Język klienta", "en": "Customer's language"},
    "filter_all": {"pl": "wszystkie", "en": "all"},
    "filter_apply": {"pl": "Pokaż", "en": "Show"},
    "quick_label": {"pl": "Szybki wybór okresu", "en": "Quick choice of period"},
    "quick_days": {"pl": "Ostatnie {days} dni", "en": "Last {days} days"},
    "period": {
        "pl": "Okres: {since} – {until} (dni według {zone})",
        "en": "Period: {since} – {until} (days in {zone})",
    },
    "channel_web": {"pl": "czat na stronie", "en": "website chat"},
    "channel_messenger": {"pl": "Messenger", "en": "Messenger"},
    "language_pl": {"pl": "polski", "en": "Polish"},
    "language_en": {"pl": "angielski", "en": "English"},
    # -- headline numbers ----------------------------------------------------------------
    "headline_heading": {"pl": "Najważniejsze liczby", "en": "Headline numbers"},
    "kpi_conversations": {"pl": "Rozmowy", "en": "Conversations"},
    "kpi_containment": {"pl": "Rozwiązane przez bota", "en": "Resolved by the bot alone"},
    "kpi_containment_note": {"pl": "{contained} z {total}", "en": "{contained} of {total}"},
    "kpi_fcr": {"pl": "Rozwiązane przy pierwszym kontakcie", "en": "First-contact resolution"},
    "kpi_fcr_note": {"pl": "{first} z {resolved} zakończonych", "en": "{first} of {resolved} resolved"},
    "kpi_csat": {"pl": "Zadowolenie (CSAT)", "en": "Satisfaction (CSAT)"},
    "kpi_csat_note": {"pl": "{ratings} ocen, średnia z 1–5", "en": "{ratings} ratings, average of 1–5"},
    "kpi_nps": {"pl": "NPS", "en": "NPS"},
    "kpi_nps_note": {
        "pl": "{promoters} promotorów, {detractors} krytyków z {responses}",
        "en": "{promoters} promoters, {detractors} detractors of {responses}",
    },
    "kpi_bot_p50": {"pl": "Czas odpowiedzi bota (mediana)", "en": "Bot response time (median)"},
    "kpi_bot_p50_note": {"pl": "90% w ciągu {p90}", "en": "90% within {p90}"},
    # -- charts ----------------------------------------------------------------------------
    "charts_heading": {"pl": "Dzień po dniu", "en": "Day by day"},
    "chart_volume_title": {"pl": "Rozmowy dziennie", "en": "Conversations per day"},
    "chart_volume_desc": {
        "pl": "Rozmowy każdego dnia: rozwiązane przez bota i przekazane konsultantom. "
        "Razem {total}, najwięcej {peak} jednego dnia.",
        "en": "Conversations each day: resolved by the bot and handed to agents. "
        "{total} in all, at most {peak} in one day.",
    },
    "series_contained": {"pl": "rozwiązane przez bota", "en": "resolved by the bot"},
    "series_handed_over": {"pl": "przekazane konsultantom", "en": "handed to agents"},
    "chart_waits_title": {"pl": "Czekanie w kolejce (mediana, {unit})", "en": "Waiting in the queue (median, {unit})"},
    "chart_waits_desc": {
        "pl": "Mediana czasu od przekazania do przejęcia przez konsultanta, dzień po dniu, w jednostkach: {unit}. "
        "Dni z wyjątkowo długim czekaniem są na górnej krawędzi, z wartością obok.",
        "en": "Median time from hand-over to an agent taking the conversation, day by day, in {unit}. "
        "Days with an exceptionally long wait sit on the top edge, their value beside them.",
    },
    "unit_min_short": {"pl": "min", "en": "min"},
    "unit_s_short": {"pl": "s", "en": "s"},
    "chart_csat_title": {"pl": "CSAT dziennie (1–5)", "en": "CSAT per day (1–5)"},
    "chart_csat_desc": {
        "pl": "Średnia ocena klientów każdego dnia, w skali od 1 do 5.",
        "en": "Customers' average rating each day, on a scale of 1 to 5.",
    },
    "series_queue_wait": {"pl": "mediana czekania", "en": "median wait"},
    "series_csat": {"pl": "średnia ocena", "en": "average rating"},
    # -- hand-overs -------------------------------------------------------------------------
    "reasons_heading": {"pl": "Przekazania do konsultantów wg powodu", "en": "Hand-overs by reason"},
    "reasons_desc": {
        "pl": "Ile rozmów trafiło do konsultantów i dlaczego. Razem {total}.",
        "en": "How many conversations reached agents, and why. {total} in all.",
    },
    "col_reason": {"pl": "Powód", "en": "Reason"},
    "col_count": {"pl": "Liczba", "en": "Count"},
    "col_share": {"pl": "Udział", "en": "Share"},
    "reason_customer_request": {"pl": "Klient poprosił o konsultanta", "en": "The customer asked for a person"},
    "reason_repeated_misses": {"pl": "Bot nie znalazł odpowiedzi", "en": "The bot found no answer"},
    "reason_bot_unavailable": {"pl": "Bot był niedostępny", "en": "The bot was unavailable"},
    "reason_frustration": {"pl": "Klient zdenerwowany", "en": "The customer was frustrated"},
    "reason_out_of_hours": {"pl": "Poza godzinami pracy", "en": "Out of hours"},
    "reason_no_agent_online": {"pl": "Nikt nie był dostępny", "en": "Nobody was online"},
    "reason_transfer": {"pl": "Przekazanie między konsultantami", "en": "Transfer between agents"},
    # -- times --------------------------------------------------------------------------------
    "times_heading": {"pl": "Czasy", "en": "Times"},
    "col_measure": {"pl": "Pomiar", "en": "Measure"},
    "col_measured": {"pl": "Zmierzono", "en": "Measured"},
    "col_p50": {"pl": "Mediana (p50)", "en": "Median (p50)"},
    "col_p90": {"pl": "90. percentyl (p90)", "en": "90th percentile (p90)"},
    "time_bot_response": {"pl": "Odpowiedź bota", "en": "Bot response"},
    "time_queue_wait": {"pl": "Czekanie w kolejce", "en": "Waiting in the queue"},
    "time_agent_first_response": {"pl": "Pierwsza odpowiedź konsultanta", "en": "Agent's first response"},
    "time_handle": {"pl": "Czas obsługi", "en": "Handle time"},
    "unit_ms": {"pl": "{value} ms", "en": "{value} ms"},
    "unit_s": {"pl": "{value} s", "en": "{value} s"},
    "unit_min": {"pl": "{value} min", "en": "{value} min"},
    "unit_h": {"pl": "{value} godz.", "en": "{value} h"},
    # -- satisfaction ---------------------------------------------------------------------------
    "csat_heading": {"pl": "Zadowolenie klientów (CSAT)", "en": "Customer satisfaction (CSAT)"},
    "col_who": {"pl": "Kto", "en": "Who"},
    "col_asked": {"pl": "Zapytano", "en": "Asked"},
    "col_ratings": {"pl": "Oceny", "en": "Ratings"},
    "col_response_rate": {"pl": "Odsetek odpowiedzi", "en": "Response rate"},
    "col_average": {"pl": "Średnia", "en": "Average"},
    "col_distribution": {"pl": "Rozkład ocen 1–5", "en": "Ratings 1–5"},
    "who_bot": {"pl": "Bot", "en": "Bot"},
    "distribution_label": {"pl": "{score}: {count}", "en": "{score}: {count}"},
    "nps_heading": {"pl": "Net Promoter Score", "en": "Net Promoter Score"},
    "nps_explained": {
        "pl": "Odsetek promotorów (9–10) minus odsetek krytyków (0–6); od −100 do 100.",
        "en": "The share of promoters (9–10) minus the share of detractors (0–6); from −100 to 100.",
    },
    "col_promoters": {"pl": "Promotorzy", "en": "Promoters"},
    "col_passives": {"pl": "Neutralni", "en": "Passives"},
    "col_detractors": {"pl": "Krytycy", "en": "Detractors"},
    "col_responses": {"pl": "Odpowiedzi", "en": "Responses"},
    "col_score": {"pl": "Wynik", "en": "Score"},
    # -- comments ---------------------------------------------------------------------------------
    "comments_heading": {"pl": "Komentarze klientów", "en": "Customers' comments"},
    "col_when": {"pl": "Kiedy", "en": "When"},
    "col_rating": {"pl": "Ocena", "en": "Rating"},
    "col_comment": {"pl": "Komentarz", "en": "Comment"},
    "col_conversation": {"pl": "Rozmowa", "en": "Conversation"},
    "open_conversation": {"pl": "Otwórz", "en": "Open"},
    "open_conversation_label": {"pl": "Otwórz rozmowę {id}", "en": "Open conversation {id}"},
    # -- FAQ entries ---------------------------------------------------------------------------------
    "entries_heading": {"pl": "Najczęściej używane odpowiedzi z FAQ", "en": "FAQ entries most used"},
    "rewrite_heading": {
        "pl": "Do poprawienia: odpowiedzi, które nie pomogły",
        "en": "To rewrite: answers that did not help",
    },
    "rewrite_intro": {
        "pl": "Po odpowiedzi klient prosił o konsultanta, pisał, że nie pomogła, albo pytał o to samo jeszcze raz.",
        "en": "After the answer the customer asked for a person, said it did not help, or asked the same again.",
    },
    "col_entry": {"pl": "Wpis FAQ", "en": "FAQ entry"},
    "col_answers": {"pl": "Odpowiedzi", "en": "Answers"},
    "col_handoffs": {"pl": "Potem konsultant", "en": "Then an agent"},
    "col_not_helpful": {"pl": "„Nie pomogło”", "en": "“Didn't help”"},
    "col_repeats": {"pl": "To samo pytanie", "en": "Same question again"},
    "col_unhelpful_rate": {"pl": "Nie pomogła", "en": "Did not help"},
    # -- knowledge gaps --------------------------------------------------------------------------------
    "gaps_heading": {"pl": "Luki w wiedzy", "en": "Knowledge gaps"},
    "gaps_intro": {
        "pl": "Pytania, na które bot nie znalazł odpowiedzi, pogrupowane według znaczenia: "
        "największe i najnowsze najpierw.",
        "en": "Questions the bot could not answer, grouped by meaning: largest and newest first.",
    },
    "col_representative": {"pl": "Pytanie", "en": "Question"},
    "col_examples": {"pl": "Inne sformułowania", "en": "Other phrasings"},
    "col_newest": {"pl": "Ostatnio", "en": "Newest"},
    "col_languages": {"pl": "Języki", "en": "Languages"},
    "col_why": {"pl": "Dlaczego bez odpowiedzi", "en": "Why unanswered"},
    "col_action": {"pl": "Działanie", "en": "Action"},
    "gap_fallback": {"pl": "brak odpowiedzi", "en": "no answer"},
    "gap_handoff": {"pl": "przekazanie", "en": "hand-over"},
    "gap_low_confidence": {"pl": "niepewna odpowiedź", "en": "unsure answer"},
    "gap_count": {"pl": "{count} razy", "en": "{count} times"},
    "gap_count_one": {"pl": "1 raz", "en": "once"},
    "gaps_more": {"pl": "Pozostałe grupy pytań ({count})", "en": "The other groups of questions ({count})"},
    "create_draft": {"pl": "Utwórz szkic FAQ", "en": "Create FAQ draft"},
    "create_draft_label": {"pl": "Utwórz szkic FAQ: {question}", "en": "Create FAQ draft: {question}"},
    "draft_written": {"pl": "Zapisano szkic FAQ: {path}", "en": "FAQ draft written: {path}"},
    "draft_failed": {"pl": "Nie udało się utworzyć szkicu: {detail}", "en": "The draft could not be created: {detail}"},
    "draft_gone": {
        "pl": "Tej grupy pytań już nie ma w raporcie (dane się zmieniły). Odśwież stronę.",
        "en": "That group of questions is no longer in the report (the data changed). Reload the page.",
    },
    # -- table names (CSV links, CSV file names stay English) --------------------------------------------
    "table_summary": {"pl": "najważniejsze liczby", "en": "headline numbers"},
    "table_days": {"pl": "dzień po dniu", "en": "day by day"},
    "table_reasons": {"pl": "przekazania wg powodu", "en": "hand-overs by reason"},
    "table_times": {"pl": "czasy", "en": "times"},
    "table_csat": {"pl": "CSAT", "en": "CSAT"},
    "table_nps": {"pl": "NPS", "en": "NPS"},
    "table_comments": {"pl": "komentarze", "en": "comments"},
    "table_entries": {"pl": "odpowiedzi z FAQ", "en": "FAQ entries"},
    "table_rewrite": {"pl": "do poprawienia", "en": "rewrite candidates"},
    "table_gaps": {"pl": "luki w wiedzy", "en": "knowledge gaps"},
}


def text(key: str, language: str, **values) -> str:
    """The text for `key` in `language` (Polish when that language has none), with its
    `{fields}` filled from `values`; an unknown key shows as itself rather than failing
    the page (e.g. a hand-over reason added after this table)."""
    variants = TEXTS.get(key)
    if variants is None:
        return key
    template = variants.get(language) or variants[DEFAULT_LANGUAGE]
    return template.format(**values) if values else template


def label(kind: str, value: str, language: str) -> str:
    """The name of a stored value (a hand-over reason, a channel, a language): its text
    when there is one, else the value itself (a reason the bot sent that has no name here
    yet, a language added to FAQBOT_LANGUAGES) rather than a key."""
    key = f"{kind}_{value}"
    return text(key, language) if key in TEXTS else value


# -- numbers as each language writes them -------------------------------------------------------


def number(value: float | None, language: str, digits: int = 0) -> str:
    """12 345,6 in Polish, 12,345.6 in English; a dash for nothing measured."""
    if value is None:
        return TEXTS["not_measured"]["en"]
    written = f"{value:,.{digits}f}"
    if language == "pl":
        written = written.replace(",", "\u00a0").replace(".", ",")
        if abs(value) < 10_000:  # Polish groups digits from five on: 1234 but 12 345
            written = written.replace("\u00a0", "")
    return written


def percent(share: float | None, language: str) -> str:
    if share is None:
        return TEXTS["not_measured"]["en"]
    digits = 0 if round(share * 100, 1) == round(share * 100) else 1  # 50 %, 66,7 %
    return number(share * 100, language, digits) + ("\u00a0%" if language == "pl" else "%")


def duration(seconds: float | None, language: str) -> str:
    """A time in the unit a person reads it in: 850 ms, 12 s, 4,5 min, 2,1 godz."""
    if seconds is None:
        return TEXTS["not_measured"]["en"]
    seconds = round(seconds, 3)  # SQLite's julianday arithmetic gives 59.99999 for a minute
    if seconds < 1:
        return text("unit_ms", language, value=number(seconds * 1000, language))
    if seconds < 60:
        return text("unit_s", language, value=number(seconds, language, 0 if seconds >= 10 else 1))
    if seconds < 3600:
        return text("unit_min", language, value=number(seconds / 60, language, 1))
    return text("unit_h", language, value=number(seconds / 3600, language, 1))
