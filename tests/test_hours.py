"""Business hours and agent presence: outside the hours, or with no agent online, an
escalation becomes a ticket: the customer is told so plainly and asked for an e-mail
address, which their next message fills in; the conversation still waits in the desk's
queue. Hours parsing is checked on its own; the rest through the customer API on SQLite
and PostgreSQL, with the bot down (every message escalates at once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from handoff.hours import DAYS, BusinessHours, InvalidBusinessHours
from handoff.models import Agent, Conversation, Handoff, now
from handoff.texts import TEXTS
from handoff.tickets import find_email

from .test_hub_api import NEUTRAL, agent_online, agent_post, agent_queue, make_app, new_agent, read, say, start

WARSAW = ZoneInfo("Europe/Warsaw")


# -- parsing the setting ----------------------------------------------------------------------------


def at(text: str) -> datetime:
    """A moment in Warsaw, e.g. "2025-01-06 08:00" (a Monday)."""
    return datetime.fromisoformat(text).replace(tzinfo=WARSAW)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        ("2025-01-06 07:59", False), ("2025-01-06 08:00", True), ("2025-01-10 17:59", True),
        ("2025-01-10 18:00", False), ("2025-01-11 09:30", True), ("2025-01-11 14:00", False),
        ("2025-01-12 12:00", False),  # Sunday
        ("2025-07-07 08:30", True),  # summer time: still 08:30 in Warsaw
    ],
)  # fmt: skip
def test_business_hours_in_the_shops_time_zone(moment, open_):
    hours = BusinessHours.parse("mon-fri 08:00-18:00; sat 09:00-14:00", "Europe/Warsaw")
    assert hours.is_open(at(moment)) is open_
    assert hours.is_open(at(moment).astimezone(UTC)) is open_  # whatever zone the moment is in


def test_empty_hours_are_always_open():
    hours = BusinessHours.parse("", "Europe/Warsaw")
    assert hours.always_open and hours.is_open(at("2025-01-12 03:00"))


def test_day_lists_and_several_ranges():
    hours = BusinessHours.parse("MON,wed-thu 08:00-12:00,13:00-24:00", "Europe/Warsaw")
    assert [hours.is_open(at(m)) for m in ("2025-01-06 12:30", "2025-01-06 23:59", "2025-01-07 10:00")] == [
        False,
        True,
        False,
    ]
    assert hours.describe("pl") == "pon., śr.–czw. 8:00–12:00, pon., śr.–czw. 13:00–24:00"


def test_hours_described_for_customers():
    hours = BusinessHours.parse("mon-fri 08:00-18:00; sat 09:30-14:00", "Europe/Warsaw")
    assert hours.describe("pl") == "pon.–pt. 8:00–18:00, sob. 9:30–14:00"
    assert hours.describe("en") == "Mon–Fri 8:00–18:00, Sat 9:30–14:00"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("mon-fry 08:00-18:00", "unknown day 'fry'"),
        ("mon-fri 8-18", "'8' is not a time like 08:00"),
        ("mon-fri 08:00", "is not a time range"),
        ("fri-mon 08:00-18:00", "runs backwards"),
        ("fri 22:00-06:00", "ends before it starts"),
        ("mon 08:00-25:00", "not a time of day"),
        ("mon 08:61-09:00", "not a time of day"),
        ("08:00-18:00", "expected '<days> <HH:MM-HH:MM>'"),
        ("mon-fri 08:00-18:00 sat", "expected '<days> <HH:MM-HH:MM>'"),
    ],
)
def test_a_bad_value_is_refused_with_the_reason(value, says):
    with pytest.raises(InvalidBusinessHours) as refused:
        BusinessHours.parse(value, "Europe/Warsaw")
    assert says in str(refused.value) and "BUSINESS_HOURS" in str(refused.value)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(InvalidBusinessHours, match="FAQBOT_TIMEZONE: unknown time zone 'Europe/Warsw'"):
        BusinessHours.parse("mon-fri 08:00-18:00", "Europe/Warsw")


def test_the_hub_does_not_start_with_bad_hours(tmp_path):
    with pytest.raises(InvalidBusinessHours, match="unknown day"):
        make_app(f"sqlite:///{tmp_path / 'hub.db'}", business_hours="mon-fry 08:00-18:00")


# -- e-mail addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("jan.kowalski@example.pl", "jan.kowalski@example.pl"),
        ("mój mail to Ala+sklep@poczta.example.com, dzięki", "Ala+sklep@poczta.example.com"),
        ("<ola@example.org>", "ola@example.org"),
        ("nie mam maila", None),
        ("jan@localhost", None),
        ("jan@@example.pl", None),
        ("@example.pl", None),
        ("jan@example", None),
        ("x" * 65 + "@example.pl", None),
    ],
)
def test_find_email(text, email):
    assert find_email(text) == email


# -- tickets through the API --------------------------------------------------------------------------


def closed_now() -> str:
    """Business hours that exclude the next few hours, whatever day the test runs."""
    other_day = DAYS[(datetime.now(WARSAW).weekday() + 3) % 7]
    return f"{other_day} 08:00-09:00"


@pytest.fixture
def open_app(database_url):
    application = make_app(database_url)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def closed_app(database_url):
    application = make_app(database_url, business_hours=closed_now())
    yield application
    application.extensions["faqbot"].db.dispose()


def conversation_row(app, conversation_id: str) -> tuple[Conversation, list[str]]:
    with app.extensions["faqbot"].db.transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        reasons = list(session.scalars(select(Handoff.reason).where(Handoff.conversation_id == conversation_id)))
    return conversation, reasons


def escalate(client, language: str) -> tuple[str, str, dict]:
    conversation_id, token = start(client, language)
    return conversation_id, token, say(client, conversation_id, token, NEUTRAL).get_json()


@pytest.mark.parametrize("language", ["pl", "en"])
def test_no_agent_online_makes_a_ticket_and_asks_for_an_email(open_app, language):
    client = open_app.test_client()
    conversation_id, token, body = escalate(client, language)
    assert body["status"] == "queued"
    assert body["queue"] == {"position": 1, "expected_wait_seconds": None}  # nobody answers live: no estimate
    notice = body["messages"][-1]["text"]
    assert notice == f"{TEXTS['ticket_no_agent_online'][language]} {TEXTS['ask_email'][language]}"
    conversation, reasons = conversation_row(open_app, conversation_id)
    assert conversation.ticket is True and conversation.contact_email is None
    assert reasons == ["no_agent_online"]
    # still in the desk's queue, waiting
    (item,) = agent_queue(client, new_agent(open_app, "ala"))
    assert (item["id"], item["status"], item["reason"]) == (conversation_id, "queued", "no_agent_online")


def test_an_agent_seen_too_long_ago_is_not_online(open_app):
    client = open_app.test_client()
    agent_online(open_app, "ola")
    with open_app.extensions["faqbot"].db.transaction() as session:
        session.execute(update(Agent).where(Agent.name == "ola").values(last_seen_at=now() - timedelta(seconds=61)))
    conversation_id, _, body = escalate(client, "pl")
    assert conversation_row(open_app, conversation_id)[1] == ["no_agent_online"]
    agent_online(open_app, "ola")  # back at the desk
    conversation_id, _, body = escalate(client, "pl")
    conversation, reasons = conversation_row(open_app, conversation_id)
    assert (conversation.ticket, reasons) == (False, ["bot_unavailable"])
    assert "w kolejce" in body["messages"][-1]["text"]


@pytest.mark.parametrize("language", ["pl", "en"])
def test_out_of_hours_makes_a_ticket_even_with_agents_online(closed_app, language):
    client = closed_app.test_client()
    agent_online(closed_app)
    conversation_id, _, body = escalate(client, language)
    hours = closed_app.extensions["faqbot"].conversations.hours
    notice = body["messages"][-1]["text"]
    said = TEXTS["ticket_out_of_hours"][language].format(hours=hours.describe(language), timezone="Europe/Warsaw")
    assert notice == f"{said} {TEXTS['ask_email'][language]}"
    assert hours.describe(language) in notice and "8:00–9:00" in notice
    conversation, reasons = conversation_row(closed_app, conversation_id)
    assert (conversation.ticket, reasons) == (True, ["out_of_hours"])


def test_the_next_message_with_an_address_is_stored_and_confirmed(open_app):
    client = open_app.test_client()
    conversation_id, token, _ = escalate(client, "pl")
    reply = say(client, conversation_id, token, "jasne, mój adres to Jan.Kowalski@example.pl").get_json()
    assert reply["status"] == "queued"
    assert [(m["role"], m["text"]) for m in reply["messages"]] == [
        ("system", TEXTS["email_saved"]["pl"].format(email="Jan.Kowalski@example.pl"))
    ]
    conversation, _ = conversation_row(open_app, conversation_id)
    assert (conversation.status, conversation.ticket, conversation.contact_email) == (
        "queued",
        True,
        "Jan.Kowalski@example.pl",
    )
    # nothing more is asked or said
    assert say(client, conversation_id, token, "dziękuję").get_json()["messages"] == []


def test_without_an_address_it_asks_once_more_then_leaves_it(open_app):
    client = open_app.test_client()
    conversation_id, token, _ = escalate(client, "en")
    again = say(client, conversation_id, token, "why do you need it?").get_json()
    assert [m["text"] for m in again["messages"]] == [TEXTS["email_again"]["en"]]
    assert say(client, conversation_id, token, "I'd rather not").get_json()["messages"] == []
    assert say(client, conversation_id, token, "just call me").get_json()["messages"] == []
    conversation, _ = conversation_row(open_app, conversation_id)
    assert (conversation.status, conversation.contact_email) == ("queued", None)
    # an address given later still counts
    late = say(client, conversation_id, token, "fine: ola@example.com").get_json()
    assert late["messages"][0]["text"] == TEXTS["email_saved"]["en"].format(email="ola@example.com")
    history = [m["role"] for m in read(client, conversation_id, token).get_json()["messages"]]
    assert history.count("customer") == 5  # every message is kept for the agent


def test_a_known_address_is_not_asked_for_again(open_app):
    client = open_app.test_client()
    conversation_id, token, _ = escalate(client, "pl")
    say(client, conversation_id, token, "ola@example.com")
    agent_post(client, new_agent(open_app, "ala"), conversation_id, "resolve")
    body = say(client, conversation_id, token, "jeszcze jedno").get_json()  # the bot is down: a new ticket
    notice = body["messages"][-1]["text"]
    assert notice.endswith(TEXTS["email_known"]["pl"].format(email="ola@example.com"))
    assert TEXTS["ask_email"]["pl"] not in notice
    assert say(client, conversation_id, token, "halo?").get_json()["messages"] == []


def test_live_help_is_not_a_ticket_and_an_address_is_just_a_message(open_app):
    client = open_app.test_client()
    agent_online(open_app)
    conversation_id, token, body = escalate(client, "pl")
    assert "w kolejce" in body["messages"][-1]["text"]
    assert say(client, conversation_id, token, "ola@example.com").get_json()["messages"] == []
    conversation, _ = conversation_row(open_app, conversation_id)
    assert (conversation.ticket, conversation.contact_email) == (False, None)
