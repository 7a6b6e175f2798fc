"""A queued customer's place in the queue and expected wait, in the customer API, on
SQLite and PostgreSQL: honest "no estimate" without history, the median of recent waits
times the place, and a long-poll that wakes when the queue moves.

The bot is down in these hubs (tests/test_hub_api.py's `make_app`): every message goes
to the queue at once, and an agent is online (`queued`), so it is live help, not a ticket.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest

from handoff import waiting
from handoff.models import Conversation, Handoff, now
from handoff.texts import TEXTS

from .test_hub_api import NEUTRAL, agent_post, make_app, new_agent, queued, read, say, start


@pytest.fixture
def app(database_url):
    application = make_app(database_url)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def add_history(app, waits: list[float], claimed_ago: timedelta = timedelta(minutes=5)) -> None:
    """Handoffs of other conversations, claimed `claimed_ago` after waiting `waits` seconds."""
    claimed_at = now() - claimed_ago
    with app.extensions["faqbot"].db.transaction() as session:
        for wait in waits:
            conversation = Conversation(id=str(uuid.uuid4()), token_hash=uuid.uuid4().hex, language="pl", status="bot")
            session.add(conversation)
            session.flush()
            created = claimed_at - timedelta(seconds=wait)
            session.add(
                Handoff(
                    conversation_id=conversation.id,
                    reason="customer_request",
                    created_at=created,
                    claimed_at=claimed_at,
                )
            )


def typical_wait(app) -> float | None:
    with app.extensions["faqbot"].db.transaction() as session:
        return waiting.typical_wait(session)


# -- the estimate -------------------------------------------------------------------------------


def test_no_history_no_estimate_and_the_customer_is_told_so(client):
    conversation_id, token = queued(client, "en")
    body = read(client, conversation_id, token).get_json()
    assert body["queue"] == {"position": 1, "expected_wait_seconds": None}
    notice = body["messages"][-1]["text"]
    assert notice == TEXTS["queue_position_no_estimate"]["en"].format(position=1)
    assert "too little recent history" in notice


def test_four_recent_waits_are_too_few(app, client):
    add_history(app, [60, 60, 60, 60])
    add_history(app, [60] * 10, claimed_ago=timedelta(days=8))  # older than a week: not counted
    add_history(app, [])  # nothing
    assert typical_wait(app) is None
    conversation_id, token = queued(client, "pl")
    assert read(client, conversation_id, token).get_json()["queue"]["expected_wait_seconds"] is None


def test_estimate_is_the_median_of_recent_waits_times_the_place(app, client):
    add_history(app, [100, 200, 300, 400, 5000])  # one very long wait does not move the median
    assert typical_wait(app) == 300
    first_id, first_token = queued(client, "pl")
    first = read(client, first_id, first_token).get_json()
    assert first["queue"] == {"position": 1, "expected_wait_seconds": 300}
    assert first["messages"][-1]["text"] == TEXTS["queue_position"]["pl"].format(position=1, wait="około 5 min")

    second_id, second_token = start(client, "en")
    second = say(client, second_id, second_token, NEUTRAL).get_json()
    assert second["queue"] == {"position": 2, "expected_wait_seconds": 600}
    assert second["messages"][-1]["text"].endswith("Expected wait: about 10 minutes.")


def test_only_the_last_twenty_claimed_handoffs_count(app):
    add_history(app, [600] * 20, claimed_ago=timedelta(days=2))
    add_history(app, [60] * 20, claimed_ago=timedelta(minutes=1))  # the latest 20
    assert typical_wait(app) == 60
    with app.extensions["faqbot"].db.transaction() as session:  # never claimed: no wait to learn from
        conversation = Conversation(id=str(uuid.uuid4()), token_hash="x", language="pl", status="queued")
        session.add(conversation)
        session.flush()
        session.add(Handoff(conversation_id=conversation.id, reason="customer_request"))
    assert typical_wait(app) == 60


@pytest.mark.parametrize(
    ("seconds", "pl", "en"),
    [(20, "mniej niż minuta", "less than a minute"), (75, "około 1 min", "about a minute"),
     (600, "około 10 min", "about 10 minutes"), (3 * 3600, "około 3 godz.", "about 3 hours")],
)  # fmt: skip
def test_waits_are_said_in_words(seconds, pl, en):
    from handoff.texts import duration

    assert (duration(seconds, "pl"), duration(seconds, "en")) == (pl, en)


def test_no_queue_field_unless_queued(app, client):
    conversation_id, token = start(client)
    assert read(client, conversation_id, token).get_json()["queue"] is None
    conversation_id, token = queued(client)
    agent_post(client, new_agent(app, "ala"), conversation_id, "claim")
    assert read(client, conversation_id, token).get_json()["queue"] is None


# -- the place updates -----------------------------------------------------------------------------


def later(seconds: float, action) -> threading.Thread:
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture(params=["in-process", "redis"])
def events_app(request, database_url):
    """A hub whose live events go through this process, or through Redis (several hub processes)."""
    settings = {"redis_url": request.getfixturevalue("redis_url")} if request.param == "redis" else {}
    application = make_app(database_url, **settings)
    yield application
    application.extensions["faqbot"].pubsub.close()
    application.extensions["faqbot"].db.dispose()


def test_a_long_poll_wakes_when_the_queue_moves(events_app):
    app, client = events_app, events_app.test_client()
    add_history(app, [120] * 5)
    ahead, _ = queued(client)
    mine, token = queued(client)
    before = read(client, mine, token).get_json()
    assert before["queue"] == {"position": 2, "expected_wait_seconds": 240}
    ala = new_agent(app, "ala")
    claimer = later(0.5, lambda: agent_post(app.test_client(), ala, ahead, "claim"))
    started = time.monotonic()
    body = read(client, mine, token, after=3, wait=10).get_json()
    elapsed = time.monotonic() - started
    claimer.join(timeout=10)
    assert 0.3 <= elapsed < 5, elapsed  # woken by the claim, not by the end of the wait
    assert body["messages"] == [] and body["status"] == "queued"
    assert body["queue"]["position"] == 1
    assert body["queue"]["expected_wait_seconds"] is not None


def test_a_long_poll_wakes_when_its_own_conversation_is_taken(app, client):
    mine, token = queued(client)
    ala = new_agent(app, "ala")
    claimer = later(0.5, lambda: agent_post(app.test_client(), ala, mine, "claim"))
    started = time.monotonic()
    body = read(client, mine, token, after=3, wait=10).get_json()
    claimer.join(timeout=10)
    assert time.monotonic() - started < 5
    assert (body["status"], body["messages"], body["queue"]) == ("assigned", [], None)


def test_a_chat_with_the_bot_does_not_wake_on_queue_changes(app, client):
    """A thousand chats with the bot must not all wake whenever an agent takes someone's."""
    mine, token = start(client)
    other, _ = queued(client)
    ala = new_agent(app, "ala")
    claimer = later(0.3, lambda: agent_post(app.test_client(), ala, other, "claim"))
    started = time.monotonic()
    body = read(client, mine, token, wait=1.5).get_json()
    claimer.join(timeout=10)
    assert time.monotonic() - started >= 1.4
    assert body == {"status": "bot", "messages": [], "queue": None}
