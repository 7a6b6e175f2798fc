"""The reply path's shape, with a real Rasa (bot/run_rasa.py, the hub channel) and a
recording stand-in for the action server, so that what Rasa sends can be looked at:
- the hub's channel answers with the replies and what Rasa understood, in one response;
- the hub asks Rasa once per message (no second request for the tracker), and still
  keeps what the bot understood for the desk;
- the action server gets the current turn, not the whole conversation, so the 30th
  message of a conversation costs it what the 2nd did; the domain still comes along;
- Rasa keeps its connection to the action server open between calls;
- Rasa keeps the last turns of a long conversation, and every slot's value.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import select

from handoff import create_app
from handoff.config import HubSettings
from handoff.models import Message
from handoff.rasa_client import HUB_WEBHOOK, RasaClient
from scripts.stack import Stack

from .stand_in import JsonHandler, StandIn

pytestmark = pytest.mark.e2e

ANSWER = "Odpowiedź z FAQ (nagrana)"
REMEMBER = "jak oddac buty"  # the stand-in sets the slot last_answer for this one
QUESTIONS = ["jak zwrocic towar", "ile kosztuje dostawa do paczkomatu", "czy moge zaplacic blikiem"]


class Recorder(StandIn):
    """An action server that answers every action with ANSWER and keeps each call."""

    def __init__(self, port: int) -> None:
        self.calls: list[dict] = []
        self.peers: list[int] = []  # the client port of each call: one per open connection
        recorder = self

        class Handler(JsonHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as rasa-sdk's Sanic does

            def do_GET(self) -> None:  # the hub's health check: /status, /health
                self.reply(200, {"status": "ok"})

            def do_POST(self) -> None:
                body = self.json_body()
                recorder.calls.append(body)
                recorder.peers.append(self.client_address[1])
                events = [{"event": "slot", "name": "misses", "value": 0}]
                if body["tracker"]["latest_message"]["text"] == REMEMBER:
                    events.append({"event": "slot", "name": "last_answer", "value": "returns-how"})
                self.reply(200, {"events": events, "responses": [{"text": ANSWER}]})

        super().__init__(Handler, port)


@pytest.fixture(scope="module")
def rasa(tmp_path_factory):
    stack = Stack(with_actions=False, log_dir=tmp_path_factory.mktemp("rasa-logs"))
    with Recorder(stack.actions_port) as recorder:
        stack.start()
        yield stack, recorder
        stack.stop()


def calls_for(recorder: Recorder, sender: str) -> list[dict]:
    return [c for c in recorder.calls if c["sender_id"] == sender]


def test_the_hub_channel_answers_with_the_replies_and_what_was_understood(rasa):
    stack, _ = rasa
    exchange = RasaClient(stack.rasa_url, stack.rasa_token).exchange(
        uuid.uuid4().hex, "jak zwrocic towar", {"language": "pl"}
    )
    assert [r.get("text") for r in exchange.replies] == [ANSWER]
    understood = exchange.understood
    assert understood["intent"] in {"ask_question", "nlu_fallback"}
    assert 0 <= understood["confidence"] <= 1
    assert 1 <= len(understood["ranking"]) <= 5
    assert all(isinstance(r["intent"], str) and 0 <= r["confidence"] <= 1 for r in understood["ranking"])


def test_a_greeting_is_understood_as_one_and_needs_no_action_server(rasa):
    stack, recorder = rasa
    sender = uuid.uuid4().hex
    exchange = RasaClient(stack.rasa_url, stack.rasa_token).exchange(sender, "dzień dobry", {"language": "pl"})
    assert exchange.replies and exchange.understood["intent"] == "greet"
    assert calls_for(recorder, sender) == []


def test_the_action_server_gets_the_current_turn_not_the_whole_conversation(rasa):
    stack, recorder = rasa
    client = RasaClient(stack.rasa_url, stack.rasa_token)
    sender = uuid.uuid4().hex
    texts = [QUESTIONS[i % len(QUESTIONS)] for i in range(30)]
    for text in texts:
        assert [r.get("text") for r in client.send(sender, text, {"language": "pl"})] == [ANSWER]
    calls = calls_for(recorder, sender)
    assert [c["next_action"] for c in calls] == ["action_answer_faq"] * 30
    sizes = [len(c["tracker"]["events"]) for c in calls]
    assert max(sizes) <= 10 and sizes[-1] <= sizes[1], sizes  # as ALL events, the 30th would carry ~150
    last = calls[-1]
    assert last["tracker"]["events"][0]["event"] == "user"
    assert last["tracker"]["latest_message"]["text"] == texts[-1]
    assert last["tracker"]["latest_message"]["metadata"] == {"language": "pl"}
    assert last["tracker"]["slots"]["misses"] == 0  # slots travel whole, events or not
    assert "utter_clarify" in last["domain"]["responses"]  # the actions read their texts from it


def test_rasa_keeps_its_connection_to_the_action_server_open(rasa):
    stack, recorder = rasa
    client = RasaClient(stack.rasa_url, stack.rasa_token)
    sender = uuid.uuid4().hex
    for text in QUESTIONS * 3:
        client.send(sender, text, {"language": "pl"})
    peers = [p for c, p in zip(recorder.calls, recorder.peers, strict=True) if c["sender_id"] == sender]
    assert len(peers) == 9 and len(set(peers)) <= 2, peers  # a new connection per call: 9 ports


class CountingAdapter:
    """Wraps the RasaClient's transport: every request it makes, by path."""

    def __init__(self, adapter) -> None:
        self.adapter = adapter
        self.paths: list[str] = []

    def send(self, request, **kwargs):
        self.paths.append(request.path_url.split("?")[0])
        return self.adapter.send(request, **kwargs)

    def close(self) -> None:
        self.adapter.close()


def test_the_hub_asks_rasa_once_per_message_and_keeps_what_it_understood(rasa, database_url):
    stack, recorder = rasa
    settings = HubSettings(
        database_url=database_url,
        rasa_url=stack.rasa_url,
        rasa_token=stack.rasa_token,
        actions_url=f"http://127.0.0.1:{stack.actions_port}",
    )
    app = create_app(settings, migrate=True)
    hub = app.extensions["faqbot"]
    counting = CountingAdapter(hub.conversations.rasa.http.get_adapter(stack.rasa_url))
    hub.conversations.rasa.http.mount("http://", counting)
    try:
        client = app.test_client()
        created = client.post("/api/conversations", json={"language": "pl"}).get_json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        for text in QUESTIONS:
            reply = client.post(f"/api/conversations/{created['id']}/messages", json={"text": text}, headers=headers)
            assert reply.status_code == 200, reply.get_json()
            assert [m["text"] for m in reply.get_json()["messages"] if m["role"] == "bot"] == [ANSWER]
        assert counting.paths == [HUB_WEBHOOK] * len(QUESTIONS)  # no /conversations/<id>/tracker
        with hub.db.transaction() as session:
            customer = session.scalars(
                select(Message).where(Message.conversation_id == created["id"], Message.role == "customer")
            ).all()
            understood = [m.meta["nlu"] for m in customer]
        assert len(understood) == len(QUESTIONS)
        assert all(u["intent"] and 0 <= u["confidence"] <= 1 and u["ranking"] for u in understood)
    finally:
        hub.db.dispose()


def test_rasa_keeps_the_last_turns_of_a_long_conversation_and_every_slot(rasa):
    from bot.short_memory import KEEP_TURNS, SLACK_TURNS

    stack, recorder = rasa
    client = RasaClient(stack.rasa_url, stack.rasa_token)
    sender = uuid.uuid4().hex
    texts = [REMEMBER] + [QUESTIONS[i % len(QUESTIONS)] for i in range(2 * (KEEP_TURNS + SLACK_TURNS))]
    for text in texts:
        assert [r.get("text") for r in client.send(sender, text, {"language": "pl"})] == [ANSWER]
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker", params={"token": stack.rasa_token}, timeout=30
    ).json()
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert KEEP_TURNS <= len(users) <= KEEP_TURNS + SLACK_TURNS and users == texts[-len(users) :]
    assert tracker["slots"]["last_answer"] == "returns-how"  # set at the first message, long trimmed away
    assert tracker["slots"]["misses"] == 0
    last = calls_for(recorder, sender)[-1]["tracker"]
    assert last["slots"]["last_answer"] == "returns-how"  # and the action server sees it
