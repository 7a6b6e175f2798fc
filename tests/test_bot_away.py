"""While the bot is away (starting, restarted, stalled), customers' messages wait for it
with a notice instead of going to the human queue; past the patience set in the
settings, agents take over. Rasa here is a closed port, as at the first seconds of a
start; tests/test_resilience.py has the real processes starting, killed and frozen."""

from __future__ import annotations

import time

import pytest

from handoff.texts import TEXTS

from .test_hub_api import agent_online, agent_queue, make_app, new_agent, read, say, start


@pytest.fixture
def waiting_app(database_url):
    application = make_app(database_url, bot_start_max=300, bot_wait_max=60)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(waiting_app):
    return waiting_app.test_client()


@pytest.mark.parametrize("language", ["pl", "en"])
def test_a_message_while_the_bot_starts_waits_for_it_with_a_notice(client, language):
    conversation_id, token = start(client, language)
    response = say(client, conversation_id, token, "dzień dobry" if language == "pl" else "hello there")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "bot"
    assert [m["text"] for m in body["messages"]] == [TEXTS["bot_starting"][language]]
    assert body["messages"][0]["role"] == "system"


def test_a_waiting_conversation_is_not_in_the_agents_queue(waiting_app, client):
    conversation_id, token = start(client)
    say(client, conversation_id, token, "jak zwrócić towar")
    assert agent_queue(client, new_agent(waiting_app, "Ola")) == []


def test_later_messages_wait_behind_the_first_without_another_notice(client):
    conversation_id, token = start(client)
    say(client, conversation_id, token, "dzień dobry")
    second = say(client, conversation_id, token, "jak zwrócić towar").get_json()
    assert second == {"status": "bot", "messages": [], "queue": None}
    history = read(client, conversation_id, token).get_json()["messages"]
    assert [m["role"] for m in history] == ["customer", "system", "customer"]


def test_past_its_patience_the_conversation_goes_to_agents(database_url):
    app = make_app(database_url, bot_start_max=0.3, bot_wait_max=0.3)
    client = app.test_client()
    agent_online(app)
    conversation_id, token = start(client, "en")
    say(client, conversation_id, token, "where is my parcel")
    conversations = app.extensions["faqbot"].conversations
    assert conversations.answer_waiting() == 0  # not yet
    time.sleep(0.4)
    assert conversations.answer_waiting() == 1
    assert conversations.answer_waiting() == 0  # taken once
    body = read(client, conversation_id, token).get_json()
    assert body["status"] == "queued"
    texts = [m["text"] for m in body["messages"]]
    assert texts[:2] == ["where is my parcel", TEXTS["bot_starting"]["en"]]
    assert texts[2] == TEXTS["bot_unavailable"]["en"]
    (waiting,) = agent_queue(client, new_agent(app, "Ola"))
    assert waiting["id"] == conversation_id and waiting["reason"] == "bot_unavailable"
    app.extensions["faqbot"].db.dispose()


def test_health_reports_each_part(client):
    response = client.get("/health")
    assert response.status_code == 200  # the hub takes messages: they wait for the bot
    body = response.get_json()
    assert body["status"] == "starting" and body["bot"] == "starting"
    assert body["database"]["ok"] is True
    assert body["rasa"] == {"ok": False, "detail": "not reachable"}
    assert body["action_server"] == {"ok": False, "detail": "not reachable"}
