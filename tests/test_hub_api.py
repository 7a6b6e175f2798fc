"""The hub's HTTP API through Flask's test client, on SQLite and PostgreSQL.

Rasa is deliberately unreachable here: every customer message runs the hub's real
failure path (stored, the customer told at once, the conversation queued for agents).
A real Rasa is exercised by the end-to-end tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from handoff import create_app
from handoff.config import HubSettings
from handoff.texts import TEXTS

NEUTRAL = "BLIK?"  # says nothing about its language: the conversation's language is kept
FIRST_IN_QUEUE = {"position": 1, "expected_wait_seconds": None}  # no history yet: no estimate
ON_DUTY = "on-duty"  # the agent whose desk is open in these tests (presence)
MESSAGE_FIELDS = {"seq", "role", "text", "buttons", "source", "html", "author"}
QUEUE_FIELDS = {
    "id", "status", "position", "channel", "language", "reason",
    "queued_at", "waiting_seconds", "assigned_to", "last_customer_message", "ticket", "contact_email",
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_app(database_url: str, **settings):
    """A hub whose bot is down, and that does not wait for it: agents take over at once
    (tests/test_bot_away.py covers waiting for the bot)."""
    down = {"rasa_url": f"http://127.0.0.1:{free_port()}", "actions_url": f"http://127.0.0.1:{free_port()}"}
    values = {"rasa_timeout": 2, "bot_start_max": 0, "bot_wait_max": 0, **down, **settings}
    return create_app(HubSettings(database_url=database_url, **values), migrate=True)


@pytest.fixture
def app(database_url):
    application = make_app(database_url)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


# -- helpers ---------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(client, language: str | None = None) -> tuple[str, str]:
    body = {} if language is None else {"language": language}
    response = client.post("/api/conversations", json=body)
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return data["id"], data["token"]


def say(client, conversation_id: str, token: str, text: str):
    return client.post(f"/api/conversations/{conversation_id}/messages", json={"text": text}, headers=bearer(token))


def read(client, conversation_id: str, token: str, after: int = 0, wait: float | None = None):
    query = f"after={after}" + (f"&wait={wait}" if wait is not None else "")
    return client.get(f"/api/conversations/{conversation_id}/messages?{query}", headers=bearer(token))


def agent_online(app, name: str = ON_DUTY) -> None:
    """An agent whose desk is open (created if need be): escalations then wait for live
    help, instead of becoming tickets answered by e-mail (tests/test_hours.py)."""
    from sqlalchemy import select, update

    from handoff.models import Agent, now
    from handoff.security import digest, new_token

    with app.extensions["faqbot"].db.transaction() as session:
        if session.scalar(select(Agent.id).where(Agent.name == name)) is None:
            session.add(Agent(name=name, token_hash=digest(new_token())))
            session.flush()
        session.execute(update(Agent).where(Agent.name == name).values(last_seen_at=now()))


def queued(client, language: str | None = None, text: str = NEUTRAL) -> tuple[str, str]:
    """A conversation the (unreachable) bot handed to the queue, with an agent online."""
    agent_online(client.application)
    conversation_id, token = start(client, language)
    response = say(client, conversation_id, token, text)
    assert response.get_json()["status"] == "queued"
    return conversation_id, token


def new_agent(app, name: str) -> dict[str, str]:
    """An agent's Authorization header."""
    return bearer(app.extensions["faqbot"].desk.create_agent(name))


def agent_view(client, agent: dict[str, str], conversation_id: str) -> dict:
    response = client.get(f"/api/agent/conversations/{conversation_id}", headers=agent)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def agent_queue(client, agent: dict[str, str]) -> list[dict]:
    response = client.get("/api/agent/queue", headers=agent)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["conversations"]


def agent_post(client, agent: dict[str, str], conversation_id: str, action: str, body=None):
    return client.post(f"/api/agent/conversations/{conversation_id}/{action}", headers=agent, json=body)


def assert_error(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"]


# -- starting a conversation ------------------------------------------------------------


def test_start_conversation_returns_id_and_token(client):
    response = client.post("/api/conversations")
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"id", "token", "visitor"}
    assert body["id"] and len(body["token"]) >= 32
    other_id, other_token = start(client)
    assert other_id != body["id"]
    assert other_token != body["token"]


@pytest.mark.parametrize("language", [None, "pl", "en"])
def test_start_conversation_language(app, client, language):
    conversation_id, _ = start(client, language)
    view = agent_view(client, new_agent(app, "ala"), conversation_id)
    assert view["language"] == (language or "pl")
    assert view["status"] == "bot"
    assert view["channel"] == "web"
    assert view["messages"] == []


@pytest.mark.parametrize("language", ["english", "PL", "p", "", 5, ["pl"], {"code": "pl"}])
def test_start_conversation_rejects_a_bad_language(client, language):
    assert_error(client.post("/api/conversations", json={"language": language}), 400)


@pytest.mark.parametrize("language", ["de", "xx"])
def test_start_conversation_accepts_only_supported_languages(client, language):
    """The contract is {"language": "pl"|"en"}: the hub has texts (and a bot) for these two only."""
    assert_error(client.post("/api/conversations", json={"language": language}), 400)


@pytest.mark.parametrize("body", ["hello", "{not json", "[1, 2]", '"pl"', "null", "42"])
def test_start_conversation_rejects_a_body_that_is_not_a_json_object(client, body):
    assert_error(client.post("/api/conversations", data=body, content_type="application/json"), 400)


# -- customer authentication ------------------------------------------------------------


def test_messages_need_a_token(client):
    conversation_id, _ = start(client)
    url = f"/api/conversations/{conversation_id}/messages"
    assert_error(client.post(url, json={"text": "hej"}), 401)
    assert_error(client.get(url), 401)
    assert_error(client.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    assert_error(client.get(url, headers={"Authorization": "Bearer "}), 401)


def test_a_token_opens_its_own_conversation_only(app, client):
    mine, my_token = start(client)
    theirs, their_token = start(client)
    assert_error(say(client, theirs, my_token, "not yours"), 403)
    assert_error(read(client, theirs, my_token), 403)
    assert_error(read(client, mine, "made-up-token"), 403)
    # nothing was stored in the other conversation
    assert read(client, theirs, their_token).get_json() == {"status": "bot", "messages": [], "queue": None}
    assert agent_view(client, new_agent(app, "ala"), theirs)["messages"] == []


def test_unknown_conversation_is_404(client):
    _, token = start(client)
    assert_error(say(client, "no-such-conversation", token, "hej"), 404)
    assert_error(read(client, "no-such-conversation", token), 404)


# -- posting a message: validation -------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   \n "}, {"text": None}, {"text": 5}, {"msg": "hej"}])
def test_post_message_needs_text(client, body):
    conversation_id, token = start(client)
    url = f"/api/conversations/{conversation_id}/messages"
    assert_error(client.post(url, json=body, headers=bearer(token)), 400)


@pytest.mark.parametrize("body", [None, "hello", "[1]", '"text"'])
def test_post_message_needs_a_json_object(client, body):
    conversation_id, token = start(client)
    url = f"/api/conversations/{conversation_id}/messages"
    assert_error(client.post(url, data=body, content_type="application/json", headers=bearer(token)), 400)


def test_post_message_longer_than_2000_characters_is_413(client):
    conversation_id, token = start(client)
    assert_error(say(client, conversation_id, token, "a" * 2001), 413)
    assert read(client, conversation_id, token).get_json()["messages"] == []
    assert say(client, conversation_id, token, "ą" * 2000).status_code == 200


@pytest.mark.parametrize("raw_text", ["a\\u0000b", "\\ud800"], ids=["nul", "lone-surrogate"])
def test_text_the_database_cannot_hold_is_refused_not_a_500(client, raw_text):
    """Valid JSON strings, but not storable text: refuse them (400) or keep them intact, never crash."""
    conversation_id, token = start(client)
    response = client.post(
        f"/api/conversations/{conversation_id}/messages",
        data=f'{{"text": "{raw_text}"}}',
        content_type="application/json",
        headers=bearer(token),
    )
    if response.status_code == 200:
        stored = read(client, conversation_id, token).get_json()["messages"][0]["text"]
        assert stored == json.loads(f'"{raw_text}"')
    else:
        assert_error(response, 400)


def test_a_huge_body_is_413_json(client):
    conversation_id, token = start(client)
    assert_error(say(client, conversation_id, token, "a" * 100_000), 413)


def test_unknown_routes_answer_json(client):
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.delete("/api/conversations"), 405)


# -- the bot is down -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "unavailable", "position"),
    [("pl", "niedostępny", "Jesteś 1. w kolejce"), ("en", "unavailable", "number 1 in the queue")],
)
def test_rasa_down_queues_and_tells_the_customer_at_once(client, language, unavailable, position):
    agent_online(client.application)
    conversation_id, token = start(client, language)
    started = time.monotonic()
    response = say(client, conversation_id, token, NEUTRAL)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 2.5  # nothing listens: no waiting for the 2 s timeout
    body = response.get_json()
    assert body["status"] == "queued"
    messages = body["messages"]
    assert [set(m) for m in messages] == [MESSAGE_FIELDS, MESSAGE_FIELDS]
    assert [(m["seq"], m["role"]) for m in messages] == [(2, "system"), (3, "system")]
    assert messages[0]["text"] == TEXTS["bot_unavailable"][language]
    assert unavailable in messages[0]["text"]
    assert position in messages[1]["text"]
    assert all(m["buttons"] == [] and m["source"] is None for m in messages)


def test_rasa_down_the_customer_message_is_stored(app, client):
    conversation_id, token = queued(client, "en")
    body = read(client, conversation_id, token).get_json()
    assert body["status"] == "queued"
    assert [(m["seq"], m["role"]) for m in body["messages"]] == [(1, "customer"), (2, "system"), (3, "system")]
    assert body["messages"][0]["text"] == NEUTRAL
    view = agent_view(client, new_agent(app, "ala"), conversation_id)
    assert [(m["role"], m["text"]) for m in view["messages"]][0] == ("customer", NEUTRAL)


def test_rasa_down_the_conversation_waits_in_the_agent_queue(app, client):
    conversation_id, _ = queued(client, "en", "I need help with my order")
    (item,) = agent_queue(client, new_agent(app, "ala"))
    assert set(item) == QUEUE_FIELDS
    assert item["id"] == conversation_id
    assert item["status"] == "queued"
    assert item["position"] == 1
    assert item["reason"] == "bot_unavailable"
    assert item["channel"] == "web"
    assert item["language"] == "en"
    assert item["assigned_to"] is None
    assert item["last_customer_message"] == "I need help with my order"
    assert isinstance(item["queued_at"], str) and item["queued_at"].endswith("Z")
    assert isinstance(item["waiting_seconds"], int) and 0 <= item["waiting_seconds"] < 60


def test_the_second_waiting_customer_is_told_position_2(client):
    queued(client, "en")
    conversation_id, token = start(client, "en")
    body = say(client, conversation_id, token, NEUTRAL).get_json()
    assert "number 2 in the queue" in body["messages"][-1]["text"]
    assert body["queue"] == {"position": 2, "expected_wait_seconds": None}


def test_a_message_while_queued_is_stored_without_a_reply(app, client):
    conversation_id, token = queued(client)
    response = say(client, conversation_id, token, "Halo, jest tam ktoś?")
    assert response.status_code == 200
    assert response.get_json() == {"status": "queued", "messages": [], "queue": FIRST_IN_QUEUE}
    messages = read(client, conversation_id, token, after=3).get_json()["messages"]
    assert [(m["seq"], m["role"], m["text"]) for m in messages] == [(4, "customer", "Halo, jest tam ktoś?")]
    (item,) = agent_queue(client, new_agent(app, "ala"))
    assert item["last_customer_message"] == "Halo, jest tam ktoś?"
    assert item["position"] == 1


def test_a_message_while_assigned_is_stored_without_a_reply(app, client):
    conversation_id, token = queued(client)
    agent_post(client, new_agent(app, "ala"), conversation_id, "claim")
    reply = say(client, conversation_id, token, "dziękuję").get_json()
    assert reply == {"status": "assigned", "messages": [], "queue": None}
    assert read(client, conversation_id, token, after=3).get_json()["messages"][0]["text"] == "dziękuję"


# -- reading messages ---------------------------------------------------------------------------


def test_get_messages_after_seq(client):
    conversation_id, token = queued(client)
    say(client, conversation_id, token, "second")
    everything = read(client, conversation_id, token).get_json()
    assert [m["seq"] for m in everything["messages"]] == [1, 2, 3, 4]
    assert all(set(m) == MESSAGE_FIELDS for m in everything["messages"])
    later = read(client, conversation_id, token, after=2).get_json()
    assert later["status"] == "queued"
    assert [(m["seq"], m["role"]) for m in later["messages"]] == [(3, "system"), (4, "customer")]
    assert later["messages"][1]["text"] == "second"
    nothing_new = {"status": "queued", "messages": [], "queue": FIRST_IN_QUEUE}
    assert read(client, conversation_id, token, after=4).get_json() == nothing_new


@pytest.mark.parametrize("query", ["after=abc", "after=-1", "after=1.5", "after=", "wait=soon", "wait=-1"])
def test_get_messages_rejects_bad_numbers(client, query):
    conversation_id, token = start(client)
    response = client.get(f"/api/conversations/{conversation_id}/messages?{query}", headers=bearer(token))
    assert_error(response, 400)


@pytest.mark.parametrize("after", [2**31, 10**30], ids=["int32-overflow", "huge"])
def test_get_messages_after_a_seq_beyond_any_message_is_not_a_500(client, after):
    conversation_id, token = queued(client)
    response = read(client, conversation_id, token, after=after)
    if response.status_code == 200:
        assert response.get_json() == {"status": "queued", "messages": [], "queue": FIRST_IN_QUEUE}
    else:
        assert_error(response, 400)


def test_long_poll_without_news_returns_empty_after_the_wait(client):
    conversation_id, token = queued(client)
    started = time.monotonic()
    response = read(client, conversation_id, token, after=3, wait=1)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.get_json() == {"status": "queued", "messages": [], "queue": FIRST_IN_QUEUE}
    assert 0.9 <= elapsed < 3


def test_long_poll_is_capped_by_long_poll_max(database_url):
    app = make_app(database_url, long_poll_max=1.0)
    try:
        client = app.test_client()
        conversation_id, token = queued(client)
        started = time.monotonic()
        assert read(client, conversation_id, token, after=3, wait=60).get_json()["messages"] == []
        assert 0.9 <= time.monotonic() - started < 3
    finally:
        app.extensions["faqbot"].db.dispose()


def test_long_poll_returns_at_once_when_there_is_news(client):
    conversation_id, token = queued(client)
    started = time.monotonic()
    messages = read(client, conversation_id, token, after=1, wait=5).get_json()["messages"]
    assert time.monotonic() - started < 1.5
    assert [m["seq"] for m in messages] == [2, 3]


def test_long_poll_wakes_up_when_an_agent_replies(app, client):
    conversation_id, token = queued(client)
    agent = new_agent(app, "ala")
    replies = []

    def agent_replies_later() -> None:
        time.sleep(0.5)
        replies.append(agent_post(app.test_client(), agent, conversation_id, "messages", {"text": "Dzień dobry!"}))

    replier = threading.Thread(target=agent_replies_later)
    replier.start()
    started = time.monotonic()
    response = read(client, conversation_id, token, after=3, wait=10)
    elapsed = time.monotonic() - started
    replier.join(timeout=10)
    assert replies and replies[0].status_code == 201
    assert response.status_code == 200
    assert 0.3 <= elapsed < 5
    body = response.get_json()
    assert body["status"] == "assigned"
    assert [(m["seq"], m["role"], m["text"]) for m in body["messages"]] == [(4, "agent", "Dzień dobry!")]


# -- the agents' API: authentication ------------------------------------------------------------


AGENT_CALLS = [
    ("get", "/api/agent/queue"),
    ("get", "/api/agent/conversations/{id}"),
    ("post", "/api/agent/conversations/{id}/claim"),
    ("post", "/api/agent/conversations/{id}/messages"),
    ("post", "/api/agent/conversations/{id}/resolve"),
]


@pytest.mark.parametrize(("method", "path"), AGENT_CALLS)
def test_agent_api_needs_an_agent_token(app, client, method, path):
    conversation_id, customer_token = queued(client)
    new_agent(app, "ala")
    url = path.format(id=conversation_id)
    call = getattr(client, method)
    for headers in ({}, bearer("made-up-token"), bearer(customer_token), {"Authorization": "Token abc"}):
        assert_error(call(url, headers=headers, json={"text": "hej"}), 401)
    # and nothing happened
    assert read(client, conversation_id, customer_token).get_json()["status"] == "queued"
    assert len(read(client, conversation_id, customer_token).get_json()["messages"]) == 3


def test_a_deactivated_agent_is_refused(app, client):
    from handoff.models import Agent

    agent = new_agent(app, "ala")
    assert client.get("/api/agent/queue", headers=agent).status_code == 200
    with app.extensions["faqbot"].db.transaction() as session:
        session.query(Agent).filter_by(name="ala").update({"active": False})
    assert_error(client.get("/api/agent/queue", headers=agent), 401)


def test_agent_created_from_the_command_line_can_use_the_api(app, client, database_url, monkeypatch, capsys):
    from handoff import cli

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["agent", "create", "Ola"]) == 0
    token = capsys.readouterr().out.strip()
    assert agent_queue(client, bearer(token)) == []
    assert cli.main(["agent", "create", "Ola"]) == 1  # names are unique


def test_create_agent_refuses_a_duplicate_name(app):
    from handoff.store import Conflict

    desk = app.extensions["faqbot"].desk
    first = desk.create_agent("ala")
    with pytest.raises(Conflict):
        desk.create_agent("ala")
    assert desk.authenticate(first).name == "ala"


# -- the agents' API: the queue and a conversation ----------------------------------------------


def test_queue_lists_waiting_conversations_first_then_assigned(app, client):
    ala, ola = new_agent(app, "ala"), new_agent(app, "ola")
    first, _ = queued(client)
    second, _ = queued(client)
    third, _ = queued(client)
    start(client)  # with the bot: not listed
    assert agent_post(client, ala, first, "claim").status_code == 200
    items = agent_queue(client, ola)
    assert [(i["id"], i["status"], i["position"], i["assigned_to"]) for i in items] == [
        (second, "queued", 1, None),
        (third, "queued", 2, None),
        (first, "assigned", None, "ala"),
    ]
    assert all(set(i) == QUEUE_FIELDS for i in items)


def test_agent_sees_the_whole_conversation_and_its_context(app, client):
    conversation_id, _ = queued(client, "en", "Where is my parcel?")
    view = agent_view(client, new_agent(app, "ala"), conversation_id)
    assert view["id"] == conversation_id
    assert view["status"] == "queued"
    assert view["assigned_to"] is None
    assert [(m["seq"], m["role"]) for m in view["messages"]] == [(1, "customer"), (2, "system"), (3, "system")]
    assert view["messages"][0]["text"] == "Where is my parcel?"
    context = view["context"]
    assert {"reason", "channel", "language", "understood", "retrieval", "customer"} <= set(context)
    assert context["reason"] == "bot_unavailable"
    assert context["channel"] == "web"
    assert context["language"] == "en"
    assert context["understood"] == []  # Rasa never saw the message
    assert context["retrieval"] == []
    assert context["customer"]["messages"] == 1
    assert context["customer"]["earlier_handoffs"] == 0


@pytest.mark.parametrize(
    ("method", "action"), [("get", ""), ("post", "/claim"), ("post", "/messages"), ("post", "/resolve")]
)
def test_agent_api_unknown_conversation_is_404(app, client, method, action):
    agent = new_agent(app, "ala")
    call = getattr(client, method)
    assert_error(call(f"/api/agent/conversations/no-such-id{action}", headers=agent, json={"text": "hej"}), 404)


# -- claim ---------------------------------------------------------------------------------------


def test_claim_assigns_the_conversation(app, client):
    conversation_id, token = queued(client)
    ala = new_agent(app, "ala")
    response = agent_post(client, ala, conversation_id, "claim")
    assert response.status_code == 200
    assert response.get_json()["status"] == "assigned"
    assert response.get_json()["assigned_to"] == "ala"
    assert agent_view(client, ala, conversation_id)["assigned_to"] == "ala"
    assert read(client, conversation_id, token).get_json()["status"] == "assigned"
    # claiming one's own conversation again changes nothing
    assert agent_post(client, ala, conversation_id, "claim").get_json()["assigned_to"] == "ala"


def test_a_second_agent_cannot_claim(app, client):
    conversation_id, _ = queued(client)
    ala, ola = new_agent(app, "ala"), new_agent(app, "ola")
    assert agent_post(client, ala, conversation_id, "claim").status_code == 200
    assert_error(agent_post(client, ola, conversation_id, "claim"), 409)
    assert agent_view(client, ola, conversation_id)["assigned_to"] == "ala"


def test_two_agents_claiming_at_once_one_wins(app, client):
    conversation_id, _ = queued(client)
    agents = [new_agent(app, "ala"), new_agent(app, "ola")]
    together = threading.Barrier(2)
    statuses = []

    def claim(agent) -> None:
        own_client = app.test_client()
        together.wait()
        statuses.append(agent_post(own_client, agent, conversation_id, "claim").status_code)

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409]
    assert agent_view(client, agents[0], conversation_id)["assigned_to"] in ("ala", "ola")


def test_a_conversation_with_the_bot_cannot_be_claimed(app, client):
    conversation_id, _ = start(client)
    assert_error(agent_post(client, new_agent(app, "ala"), conversation_id, "claim"), 409)


# -- replies ---------------------------------------------------------------------------------------


def test_agent_reply_reaches_the_customer(app, client):
    conversation_id, token = queued(client)
    ala = new_agent(app, "ala")
    agent_post(client, ala, conversation_id, "claim")
    response = agent_post(client, ala, conversation_id, "messages", {"text": "W czym mogę pomóc?"})
    assert response.status_code == 201
    message = response.get_json()["message"]
    assert set(message) == MESSAGE_FIELDS
    assert (message["seq"], message["role"], message["text"]) == (4, "agent", "W czym mogę pomóc?")
    customer = read(client, conversation_id, token, after=3).get_json()
    assert customer["status"] == "assigned"
    assert [(m["role"], m["text"]) for m in customer["messages"]] == [("agent", "W czym mogę pomóc?")]
    view = agent_view(client, ala, conversation_id)
    assert view["messages"][-1]["author"] == "ala"


def test_replying_to_a_waiting_conversation_claims_it(app, client):
    conversation_id, token = queued(client)
    ala = new_agent(app, "ala")
    assert agent_post(client, ala, conversation_id, "messages", {"text": "Już jestem"}).status_code == 201
    view = agent_view(client, ala, conversation_id)
    assert (view["status"], view["assigned_to"]) == ("assigned", "ala")
    assert [i["status"] for i in agent_queue(client, ala)] == ["assigned"]
    assert read(client, conversation_id, token, after=3).get_json()["messages"][0]["role"] == "agent"


def test_another_agent_cannot_reply_to_an_assigned_conversation(app, client):
    conversation_id, token = queued(client)
    ala, ola = new_agent(app, "ala"), new_agent(app, "ola")
    agent_post(client, ala, conversation_id, "claim")
    assert_error(agent_post(client, ola, conversation_id, "messages", {"text": "Ja też!"}), 409)
    assert read(client, conversation_id, token, after=3).get_json()["messages"] == []


def test_agent_cannot_reply_to_a_conversation_the_bot_owns(app, client):
    conversation_id, token = start(client)
    assert_error(agent_post(client, new_agent(app, "ala"), conversation_id, "messages", {"text": "hej"}), 409)
    assert read(client, conversation_id, token).get_json() == {"status": "bot", "messages": [], "queue": None}


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"text": " "}, 400), ({"text": "a" * 2001}, 413)])
def test_agent_reply_is_validated(app, client, body, status):
    conversation_id, _ = queued(client)
    assert_error(agent_post(client, new_agent(app, "ala"), conversation_id, "messages", body), status)


# -- resolve ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "closed"), [("pl", "zakończył"), ("en", "closed the conversation")])
def test_resolve_closes_and_tells_the_customer(app, client, language, closed):
    conversation_id, token = queued(client, language)
    ala = new_agent(app, "ala")
    agent_post(client, ala, conversation_id, "claim")
    response = agent_post(client, ala, conversation_id, "resolve")
    assert response.status_code == 200
    assert response.get_json()["status"] == "resolved"
    customer = read(client, conversation_id, token, after=3).get_json()
    assert customer["status"] == "resolved"
    assert [m["role"] for m in customer["messages"]] == ["system"]
    assert closed in customer["messages"][0]["text"]
    assert agent_queue(client, ala) == []
    assert_error(agent_post(client, ala, conversation_id, "resolve"), 409)
    assert_error(agent_post(client, ala, conversation_id, "messages", {"text": "jeszcze"}), 409)


def test_resolve_a_waiting_conversation(app, client):
    conversation_id, _ = queued(client)
    ala = new_agent(app, "ala")
    assert agent_post(client, ala, conversation_id, "resolve").get_json()["status"] == "resolved"
    assert agent_queue(client, ala) == []


def test_another_agent_cannot_resolve_an_assigned_conversation(app, client):
    conversation_id, _ = queued(client)
    ala, ola = new_agent(app, "ala"), new_agent(app, "ola")
    agent_post(client, ala, conversation_id, "claim")
    assert_error(agent_post(client, ola, conversation_id, "resolve"), 409)
    assert agent_view(client, ala, conversation_id)["status"] == "assigned"


def test_after_resolve_the_bot_answers_again(app, client):
    conversation_id, token = queued(client, "en")
    ala = new_agent(app, "ala")
    agent_post(client, ala, conversation_id, "claim")
    agent_post(client, ala, conversation_id, "resolve")
    # the bot owns the conversation again; it is still down, so a new handoff starts
    body = say(client, conversation_id, token, "One more question, please").get_json()
    assert body["status"] == "queued"
    assert [m["role"] for m in body["messages"]] == ["system", "system"]
    assert body["messages"][0]["text"] == TEXTS["bot_unavailable"]["en"]
    assert "number 1" in body["messages"][1]["text"]
    (item,) = agent_queue(client, ala)
    assert (item["id"], item["status"], item["reason"], item["assigned_to"]) == (
        conversation_id, "queued", "bot_unavailable", None,
    )  # fmt: skip
    context = agent_view(client, ala, conversation_id)["context"]
    assert context["reason"] == "bot_unavailable"
    assert context["customer"]["earlier_handoffs"] == 1
    assert context["customer"]["messages"] == 2


# -- user-written text is data ------------------------------------------------------------------------


def test_user_written_text_round_trips_unmodified_as_json(app, client):
    script = "<script>alert(1)</script>"
    conversation_id, token = start(client)
    response = say(client, conversation_id, token, script)
    assert response.mimetype == "application/json"
    customer = read(client, conversation_id, token)
    assert customer.mimetype == "application/json"
    assert customer.get_json()["messages"][0]["text"] == script
    ala = new_agent(app, "ala")
    assert agent_view(client, ala, conversation_id)["messages"][0]["text"] == script
    assert agent_queue(client, ala)[0]["last_customer_message"] == script

    reply = '<img src=x onerror="alert(2)"> & "cudzysłów" zażółć gęślą jaźń'
    sent = agent_post(client, ala, conversation_id, "messages", {"text": reply})
    assert sent.mimetype == "application/json"
    assert sent.get_json()["message"]["text"] == reply
    assert read(client, conversation_id, token, after=3).get_json()["messages"][0]["text"] == reply
