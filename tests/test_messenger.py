"""Facebook Messenger: the webhook (verification, signatures, batches, re-deliveries,
echoes, quick replies) through Flask's test client, and the Send API through a local
fake Graph API that speaks its wire format, on SQLite and PostgreSQL.

As in tests/test_hub_api.py the bot is down and agents take over at once, so every
customer message is answered by the hub's own (system) messages; the last test runs a
real Rasa and action server and measures the time from the webhook to the Send API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from handoff.channels.base import DeliveryRefused
from handoff.channels.messenger import _for_messenger, _messaging_type, _quick_replies, _split
from handoff.events import notify
from handoff.models import Conversation, Customer, Message, now
from handoff.store import NewMessage, append

from .stand_in import JsonHandler, StandIn
from .test_hub_api import agent_online, make_app, new_agent

SECRET = "app-secret-for-tests"
VERIFY = "verify-me"
PAGE_TOKEN = "page-token"


class FakeGraph:
    """The Send API on 127.0.0.1: records each request (path, query, JSON body) and
    answers `{"recipient_id", "message_id"}`, or 500 for the next `fail_next` messages."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next = 0
        self.failed = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(JsonHandler):
            def do_POST(self):  # noqa: N802
                body = self.json_body()
                with fake.lock:
                    fail = fake.fail_next > 0 and "message" in body
                    if fail:
                        fake.fail_next -= 1
                        fake.failed += 1
                    else:
                        fake.requests.append(
                            {"path": self.route, "query": self.query, "body": body, "at": time.monotonic()}
                        )
                if fail:
                    self.reply(500, {"error": {"message": "temporarily unavailable", "code": 2}})
                else:
                    self.reply(200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_{uuid.uuid4().hex}"})

        self.stand_in = StandIn(Handler)
        self.url = f"{self.stand_in.url}/v21.0"

    def messages(self, psid: str | None = None) -> list[dict]:
        """Bodies of the messages sent (not sender actions), to `psid` if given."""
        with self.lock:
            bodies = [r["body"] for r in self.requests if "message" in r["body"]]
        return [b for b in bodies if psid is None or b["recipient"]["id"] == psid]

    def actions(self, psid: str) -> list[str]:
        with self.lock:
            return [
                r["body"]["sender_action"]
                for r in self.requests
                if "sender_action" in r["body"] and r["body"]["recipient"]["id"] == psid
            ]

    def close(self) -> None:
        self.stand_in.close()


@pytest.fixture
def graph():
    fake = FakeGraph()
    yield fake
    fake.close()


@pytest.fixture
def app(database_url, graph):
    application = make_app(
        database_url,
        messenger_app_secret=SECRET,
        messenger_verify_token=VERIFY,
        messenger_page_token=PAGE_TOKEN,
        messenger_graph_url=graph.url,
    )
    agent_online(application)
    delivery = application.extensions["faqbot_delivery"].start()
    yield application
    application.extensions["faqbot_messenger"].drain()
    delivery.stop()
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# -- helpers ---------------------------------------------------------------------------


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def text_item(psid: str, text: str, mid: str | None = None, **message) -> dict:
    return {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE"},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid or f"m_{uuid.uuid4().hex}", "text": text, **message},
    }


def batch(*entries: list[dict]) -> dict:
    return {
        "object": "page",
        "entry": [{"id": "PAGE", "time": int(time.time() * 1000), "messaging": items} for items in entries],
    }


def post(client, payload: dict, headers: dict | None = None):
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/messenger", data=body, headers=headers if headers is not None else signed(body))
    client.application.extensions["faqbot_messenger"].drain()
    return response


def until(condition, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def db(app):
    return app.extensions["faqbot"].db


def customer_messages(app, psid: str | None = None) -> list[Message]:
    with db(app).transaction() as session:
        return list(session.scalars(select(Message).where(Message.role == "customer").order_by(Message.id)))


def conversation_of(app, mid: str) -> str:
    with db(app).transaction() as session:
        return session.scalar(select(Message.conversation_id).where(Message.external_id == mid))


def undelivered(app, conversation_id: str) -> int:
    with db(app).transaction() as session:
        conversation = session.get(Conversation, conversation_id)
        return conversation.last_seq - conversation.delivered_seq


def sent_out(app, conversation_id: str) -> list[Message]:
    """The conversation's messages that go to the customer (bot, agent, system)."""
    with db(app).transaction() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.role != "customer")
                .order_by(Message.seq)
            )
        )


def all_delivered(app, graph, conversation_id: str, psid: str) -> list[dict]:
    """Wait until every bot/agent/system message reached the fake, and return the bodies."""
    until(lambda: undelivered(app, conversation_id) == 0, what="delivery")
    texts = [_for_messenger(m.text) if m.role == "bot" else m.text for m in sent_out(app, conversation_id)]
    bodies = graph.messages(psid)
    assert [b["message"]["text"] for b in bodies] == texts
    return bodies


# -- the webhook -------------------------------------------------------------------------


def test_verification(client):
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    response = client.get("/webhooks/messenger", query_string=good)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1158201444"
    assert client.get("/webhooks/messenger", query_string={**good, "hub.verify_token": "wrong"}).status_code == 403
    assert client.get("/webhooks/messenger", query_string={**good, "hub.mode": "unsubscribe"}).status_code == 403
    assert client.get("/webhooks/messenger").status_code == 403


def test_forged_or_missing_signature_is_refused_and_nothing_stored(client, app, graph):
    payload = batch([text_item("PSID-F", "hello")])
    body = json.dumps(payload).encode()
    assert post(client, payload, headers=signed(body, secret="not-the-secret")).status_code == 403
    assert post(client, payload, headers={"Content-Type": "application/json"}).status_code == 403
    tampered = signed(body)
    tampered_body = body.replace(b"hello", b"HELLO")
    response = client.post("/webhooks/messenger", data=tampered_body, headers=tampered)
    assert response.status_code == 403
    app.extensions["faqbot_messenger"].drain()
    with db(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
    assert graph.requests == []


def test_a_batch_of_two_entries_is_handled_whole_and_answered_through_the_send_api(client, app, graph):
    first, second, third = (f"m_{uuid.uuid4().hex}" for _ in range(3))
    payload = batch(
        [text_item("PSID-A", "Dzień dobry, gdzie jest moja paczka?", first)],
        [text_item("PSID-B", "Where is my parcel?", second), text_item("PSID-B", "BLIK?", third)],
    )
    started = time.monotonic()
    response = post(client, payload)
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    texts = [m.text for m in customer_messages(app)]
    assert sorted(texts) == sorted(["Dzień dobry, gdzie jest moja paczka?", "Where is my parcel?", "BLIK?"])
    assert conversation_of(app, second) == conversation_of(app, third)  # one customer, one conversation
    assert conversation_of(app, first) != conversation_of(app, second)
    for psid, mid in (("PSID-A", first), ("PSID-B", second)):
        bodies = all_delivered(app, graph, conversation_of(app, mid), psid)
        assert bodies, "the customer was told something"
        for body in bodies:  # the hub's own messages: replies, never tagged
            assert body["messaging_type"] == "RESPONSE" and "tag" not in body
    request = graph.requests[0]
    assert request["path"] == "/v21.0/me/messages"
    assert request["query"] == {"access_token": [PAGE_TOKEN]}
    assert "typing_on" in graph.actions("PSID-A")
    with db(app).transaction() as session:
        conversation = session.get(Conversation, conversation_of(app, first))
        assert conversation.channel == "messenger" and conversation.status == "queued"


def test_a_redelivered_message_is_answered_once(client, app, graph):
    mid = f"m_{uuid.uuid4().hex}"
    payload = batch([text_item("PSID-D", "BLIK?", mid)])
    assert post(client, payload).status_code == 200
    conversation_id = conversation_of(app, mid)
    answered = len(all_delivered(app, graph, conversation_id, "PSID-D"))
    assert post(client, payload).status_code == 200  # Facebook did not get our 200 in time
    time.sleep(0.5)
    assert [m.text for m in customer_messages(app)] == ["BLIK?"]
    assert len(all_delivered(app, graph, conversation_id, "PSID-D")) == answered


def test_echoes_and_receipts_are_ignored(client, app, graph):
    echo = text_item("PSID-E", "our own reply", is_echo=True, app_id=1234)
    receipt = {"sender": {"id": "PSID-E"}, "recipient": {"id": "PAGE"}, "read": {"watermark": 1}}
    assert post(client, batch([echo, receipt])).status_code == 200
    assert customer_messages(app) == []
    with db(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
    assert graph.requests == []


def test_a_quick_reply_acts_as_the_button_the_bot_offered(client, app, graph):
    mid = f"m_{uuid.uuid4().hex}"
    post(client, batch([text_item("PSID-Q", "BLIK?", mid)]))
    conversation_id = conversation_of(app, mid)
    buttons = [{"title": "Zwrot towaru w ciągu 14 dni", "payload": '/faq{"entry": "returns-how"}'}]
    buttons += [{"title": f"Entry {i}", "payload": f'/faq{{"entry": "e{i}"}}'} for i in range(14)]
    with db(app).transaction() as session:
        append(session, conversation_id, [NewMessage("bot", "Czy chodzi o:", buttons)])
    notify(app.extensions["faqbot"].pubsub, conversation_id)
    bodies = all_delivered(app, graph, conversation_id, "PSID-Q")
    offered = bodies[-1]["message"]["quick_replies"]
    assert len(offered) == 13
    assert all(len(q["title"]) <= 20 and q["content_type"] == "text" for q in offered)
    assert offered[0]["payload"] == '/faq{"entry": "returns-how"}'

    pressed = text_item("PSID-Q", offered[0]["title"], quick_reply={"payload": offered[0]["payload"]})
    post(client, batch([pressed]))
    last = customer_messages(app)[-1]
    assert last.text == "Zwrot towaru w ciągu 14 dni"  # shown by its title, like a web button
    assert last.payload == '/faq{"entry": "returns-how"}'  # what Rasa gets

    postback = {
        "sender": {"id": "PSID-Q"},
        "recipient": {"id": "PAGE"},
        "postback": {"mid": f"m_{uuid.uuid4().hex}", "title": "Entry 3", "payload": '/faq{"entry": "e3"}'},
    }
    post(client, batch([postback]))
    last = customer_messages(app)[-1]
    assert (last.text, last.payload) == ("Entry 3", '/faq{"entry": "e3"}')


# -- agents ----------------------------------------------------------------------------


def _queued_messenger_conversation(client, app, graph, psid: str, hours_ago: float) -> str:
    mid = f"m_{uuid.uuid4().hex}"
    post(client, batch([text_item(psid, "BLIK?", mid)]))
    conversation_id = conversation_of(app, mid)
    all_delivered(app, graph, conversation_id, psid)
    with db(app).transaction() as session:
        session.execute(
            update(Message).where(Message.external_id == mid).values(created_at=now() - timedelta(hours=hours_ago))
        )
    return conversation_id


def test_an_agent_reply_after_30_hours_goes_with_the_human_agent_tag(client, app, graph):
    conversation_id = _queued_messenger_conversation(client, app, graph, "PSID-H", hours_ago=30)
    agent = new_agent(app, "Ola")
    response = client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Dzień dobry, tu Ola."}, headers=agent
    )
    assert response.status_code in (200, 201), response.get_json()
    bodies = all_delivered(app, graph, conversation_id, "PSID-H")
    reply = bodies[-1]
    assert reply["message"]["text"] == "Dzień dobry, tu Ola."
    assert reply["messaging_type"] == "MESSAGE_TAG" and reply["tag"] == "HUMAN_AGENT"
    assert all("tag" not in b for b in bodies[:-1])  # the hub's earlier messages: never tagged


def test_an_agent_reply_after_8_days_is_refused_by_the_desk(client, app, graph):
    conversation_id = _queued_messenger_conversation(client, app, graph, "PSID-8", hours_ago=8 * 24)
    before = len(graph.messages("PSID-8"))
    agent = new_agent(app, "Ewa")
    response = client.post(
        f"/api/agent/conversations/{conversation_id}/messages", json={"text": "Przepraszam za zwłokę"}, headers=agent
    )
    assert response.status_code == 409
    assert "7 days" in response.get_json()["error"]
    with db(app).transaction() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.role == "agent")) == 0
        assert session.get(Conversation, conversation_id).status == "queued"  # not claimed either
    time.sleep(0.3)
    assert len(graph.messages("PSID-8")) == before


def test_window_rules():
    moment = now()
    assert _messaging_type("bot", moment - timedelta(hours=1), moment) == {"messaging_type": "RESPONSE"}
    assert _messaging_type("agent", moment - timedelta(hours=23), moment) == {"messaging_type": "RESPONSE"}
    tagged = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    assert _messaging_type("agent", moment - timedelta(hours=30), moment) == tagged
    for role in ("bot", "system"):  # the bot never uses the human agent tag
        with pytest.raises(DeliveryRefused):
            _messaging_type(role, moment - timedelta(hours=30), moment)
    with pytest.raises(DeliveryRefused):
        _messaging_type("agent", moment - timedelta(days=8), moment)
    long = "słowo " * 800
    assert all(len(chunk) <= 2000 for chunk in _split(long)) and " ".join(_split(long)).split() == long.split()
    assert _quick_replies([{"title": "x" * 30, "payload": "/p"}])[0]["title"] == "x" * 19 + "…"
    assert _for_messenger("**domowo.pl/zwroty**, [formularz](https://domowo.pl/f)") == (
        "*domowo.pl/zwroty*, formularz (https://domowo.pl/f)"
    )


# -- failures ----------------------------------------------------------------------------


def test_a_failed_send_is_retried_and_finally_delivered(client, app, graph):
    graph.fail_next = 2  # the Send API fails twice, then answers
    mid = f"m_{uuid.uuid4().hex}"
    post(client, batch([text_item("PSID-R", "BLIK?", mid)]))
    conversation_id = conversation_of(app, mid)
    delivery = app.extensions["faqbot_delivery"]
    until(lambda: graph.failed == 2, what="two failures")
    assert undelivered(app, conversation_id) > 0  # kept, not lost
    bodies = all_delivered(app, graph, conversation_id, "PSID-R")  # in order, each once
    assert len(bodies) == len(sent_out(app, conversation_id)) >= 1
    assert delivery.status()["failing"] == {}
    assert delivery.status()["undelivered_conversations"] == 0


# -- with the real bot --------------------------------------------------------------------


@pytest.mark.e2e
def test_the_real_bot_answers_on_messenger_from_the_faq(tmp_path):
    import requests

    from handoff.db import Database
    from handoff.models import CustomerIdentity
    from scripts.stack import Stack, free_port

    from .test_e2e import _prepare

    graph = FakeGraph()
    env, database_url = _prepare(tmp_path, "messenger")
    env |= {
        "MESSENGER_APP_SECRET": SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY,
        "MESSENGER_PAGE_TOKEN": PAGE_TOKEN,
        "MESSENGER_GRAPH_URL": graph.url,
    }
    stack = Stack(hub_port=free_port(), env=env, log_dir=tmp_path / "logs")
    stack.launch()
    try:
        stack.wait()
        until(lambda: requests.get(f"{stack.hub_url}/health", timeout=5).json()["bot"] == "ready", 120, "the bot")
        url = f"{stack.hub_url}/webhooks/messenger"
        bot_db = Database(database_url)

        def bot_texts(psid: str) -> set[str]:
            with bot_db.transaction() as session:
                return set(
                    session.scalars(
                        select(Message.text)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .join(CustomerIdentity, CustomerIdentity.customer_id == Conversation.customer_id)
                        .where(CustomerIdentity.external_id == psid, Message.role == "bot")
                    )
                )

        def first_answer(psid: str) -> dict | None:
            answers = {_for_messenger(text) for text in bot_texts(psid)}  # as Messenger shows markdown
            with graph.lock:
                return next(
                    (
                        r
                        for r in graph.requests
                        if r["body"]["recipient"]["id"] == psid and r["body"].get("message", {}).get("text") in answers
                    ),
                    None,
                )

        latencies = []
        for i in range(21):  # the first one warms the bot up: not measured
            psid = f"PSID-REAL-{i}"
            body = json.dumps(batch([text_item(psid, "jak zwrócić towar?")])).encode()
            started = time.monotonic()
            response = requests.post(url, data=body, headers=signed(body), timeout=10)
            assert response.status_code == 200
            try:
                answer = until(lambda p=psid: first_answer(p), timeout=30, what="the bot's answer")
            except AssertionError:
                raise AssertionError(
                    f"{psid}: no answer; sent: {graph.messages(psid)}; bot: {bot_texts(psid)}"
                ) from None
            if i:
                latencies.append(answer["at"] - started)
            assert "typing_on" in graph.actions(psid)
            assert "zwrot" in answer["body"]["message"]["text"].lower(), answer
        for body in graph.messages():
            assert body["messaging_type"] == "RESPONSE" and "tag" not in body  # the bot never tags
        bot_db.dispose()
        p50 = statistics.median(latencies)
        print(f"\nMessenger webhook -> Send API, real bot: p50 {p50 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    finally:
        stack.stop()
        graph.close()


def test_two_hub_processes_never_send_a_message_twice(client, app, graph):
    """Two delivery services on one database (two hub processes) racing on the same
    conversation: each message goes out once, in order."""
    from handoff.channels.base import outputs
    from handoff.delivery import Delivery

    app.extensions["faqbot_delivery"].stop()  # the two below do all the sending
    mid = f"m_{uuid.uuid4().hex}"
    post(client, batch([text_item("PSID-2", "BLIK?", mid)]))
    conversation_id = conversation_of(app, mid)
    hub = app.extensions["faqbot"]
    with db(app).transaction() as session:
        append(session, conversation_id, [NewMessage("agent", f"odpowiedź {i}") for i in range(10)])
    services = [Delivery(hub.db, hub.pubsub, outputs(hub.settings)) for _ in range(2)]

    def race(service):
        for _ in range(20):
            service.deliver_pending(conversation_id)

    threads = [threading.Thread(target=race, args=(s,)) for s in services for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_delivered(app, graph, conversation_id, "PSID-2")  # exactly the stored ones, in order


def test_a_send_left_in_flight_by_a_dead_process_is_taken_back(client, app, graph):
    app.extensions["faqbot_delivery"].stop()
    mid = f"m_{uuid.uuid4().hex}"
    post(client, batch([text_item("PSID-S", "BLIK?", mid)]))
    conversation_id = conversation_of(app, mid)
    with db(app).transaction() as session:  # claimed from 0, then the process died
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(delivered_seq=-1, updated_at=now() - timedelta(minutes=10))
        )
    app.extensions["faqbot_delivery"].retry_pending()
    all_delivered(app, graph, conversation_id, "PSID-S")


def test_delivery_across_processes_through_redis(database_url, redis_url, graph):
    application = make_app(
        database_url,
        redis_url=redis_url,
        messenger_app_secret=SECRET,
        messenger_page_token=PAGE_TOKEN,
        messenger_graph_url=graph.url,
    )
    delivery = application.extensions["faqbot_delivery"].start()
    try:
        mid = f"m_{uuid.uuid4().hex}"
        post(application.test_client(), batch([text_item("PSID-X", "BLIK?", mid)]))
        all_delivered(application, graph, conversation_of(application, mid), "PSID-X")
    finally:
        delivery.stop()
        application.extensions["faqbot"].pubsub.close()
        application.extensions["faqbot"].db.dispose()


def test_a_photo_without_text_reaches_the_conversation(client, app):
    photo = text_item("PSID-P", "", attachments=[{"type": "image", "payload": {"url": "https://cdn.fb/x.jpg"}}])
    del photo["message"]["text"]
    post(client, batch([photo]))
    assert [m.text for m in customer_messages(app)] == ["[image] https://cdn.fb/x.jpg"]
