"""Bad requests get a clean JSON error, never a 500 or a misleading status.

Through Flask's test client on SQLite and PostgreSQL (Rasa unreachable, as in
test_hub_api.py), and through the hub as it is deployed (gunicorn with the gevent
worker) for what only a real server shows: chunked bodies.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
import requests

from handoff import create_app
from handoff.config import HubSettings
from scripts.bench_longpoll import running_hub

LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH in handoff/__init__.py
DEEP_ARRAY = "[" * 1000 + "]" * 1000  # 2 KB: RecursionError in json.loads
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
DEEP_TEXT = '{"text": ' + DEEP_ARRAY + "}"
DEEP_BODIES = pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, DEEP_TEXT], ids=["array", "object", "text"])
INVISIBLE = pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\x1b", "\x1b[31m\x1b[0m", " \u200b\n\t\x07\x7f\x85 "],
    ids=["zwsp", "all-zero-width", "esc", "ansi", "mixed"],
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app(database_url):
    settings = HubSettings(database_url=database_url, rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2)
    application = create_app(settings, migrate=True)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def conversation(client) -> tuple[str, dict[str, str]]:
    """A new conversation's id and its customer's Authorization header."""
    response = client.post("/api/conversations")
    assert response.status_code == 201
    data = response.get_json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


@pytest.fixture
def agent(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.extensions['faqbot'].desk.create_agent('ola')}"}


def assert_json_error(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]


def history(client, conversation) -> list[dict]:
    conversation_id, customer = conversation
    response = client.get(f"/api/conversations/{conversation_id}/messages?after=0", headers=customer)
    assert response.status_code == 200
    return response.get_json()["messages"]


# -- JSON nested ~1,000 levels deep ------------------------------------------------------


@DEEP_BODIES
def test_deep_json_starting_a_conversation_is_400(client, body):
    assert_json_error(client.post("/api/conversations", data=body, content_type="application/json"), 400)


@DEEP_BODIES
def test_deep_json_as_a_customer_message_is_400_and_nothing_is_stored(client, conversation, body):
    conversation_id, customer = conversation
    url = f"/api/conversations/{conversation_id}/messages"
    assert_json_error(client.post(url, data=body, content_type="application/json", headers=customer), 400)
    assert history(client, conversation) == []


@DEEP_BODIES
def test_deep_json_as_an_agent_reply_is_400(client, conversation, agent, body):
    url = f"/api/agent/conversations/{conversation[0]}/messages"
    assert_json_error(client.post(url, data=body, content_type="application/json", headers=agent), 400)
    assert history(client, conversation) == []


# -- text with nothing visible, control characters ----------------------------------------


@INVISIBLE
def test_text_with_nothing_visible_is_400_like_empty_text(client, conversation, text):
    conversation_id, customer = conversation
    response = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": text}, headers=customer)
    assert_json_error(response, 400)
    assert history(client, conversation) == []


@INVISIBLE
def test_an_agent_reply_with_nothing_visible_is_400(client, conversation, agent, text):
    url = f"/api/agent/conversations/{conversation[0]}/messages"
    assert_json_error(client.post(url, json={"text": text}, headers=agent), 400)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("gdzie\x1b[31m moja\x07 paczka?\x1b", "gdzie moja paczka?"),
        ("\ufeffzw\u200brot\u2060 towaru", "zwrot towaru"),
        ("pierwsza linia\r\ndruga\tlinia\rtrzecia", "pierwsza linia\ndruga\tlinia\ntrzecia"),
        ("rodzina 👨\u200d👩\u200d👧", "rodzina 👨\u200d👩\u200d👧"),  # the joiners shape the emoji: kept
    ],
    ids=["controls", "zero-width", "newlines", "emoji-joiners"],
)
def test_invisible_characters_are_removed_from_the_stored_text(client, conversation, typed, stored):
    conversation_id, customer = conversation
    response = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": typed}, headers=customer)
    assert response.status_code == 200, response.get_json()
    customer_messages = [m["text"] for m in history(client, conversation) if m["role"] == "customer"]
    assert customer_messages == [stored]


# -- the hub as deployed: gunicorn with the hub's gevent worker ---------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The hub as `make run` starts it (gunicorn with the hub's gevent worker), on a
    migrated SQLite file; the bot is not there."""
    with running_hub(tmp_path_factory.mktemp("gunicorn")) as (url, _):
        yield url


def post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None, chunked: bool = False):
    """(status, content type, parsed JSON body) of a POST; chunked: no Content-Length,
    `Transfer-Encoding: chunked`, 8 KiB chunks."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        if chunked:
            chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
            headers["Transfer-Encoding"] = "chunked"
            connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes that starts a conversation."""
    empty = b'{"language": "pl", "pad": ""}'
    return empty[:-2] + b"x" * (size - len(empty)) + b'"}'


def assert_413_json(result) -> None:
    status, content_type, body = result
    assert status == 413, (status, body)
    assert content_type == "application/json"
    assert set(body) == {"error"} and body["error"]


@pytest.fixture(scope="module")
def live_conversation(server) -> tuple[str, dict[str, str]]:
    status, _, data = post(server, "/api/conversations", b"{}")
    assert status == 201
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


@pytest.mark.parametrize("size", [LIMIT + 1, 100_000, 1_000_000])
def test_a_chunked_body_over_the_limit_is_413_json(server, size):
    body = padded(size)
    assert len(body) == size
    assert_413_json(post(server, "/api/conversations", body, chunked=True))


def test_a_chunked_message_over_the_limit_is_413_json_and_not_stored(server, live_conversation):
    conversation_id, customer = live_conversation
    path = f"/api/conversations/{conversation_id}/messages"
    assert_413_json(post(server, path, json.dumps({"text": "a" * 100_000}).encode(), customer, chunked=True))
    messages = requests.get(f"{server}{path}?after=0", headers=customer, timeout=10).json()["messages"]
    assert [m for m in messages if m["role"] == "customer"] == []


def test_a_chunked_body_at_the_limit_is_accepted(server):
    """The check for more data must not refuse a body that ends exactly at the limit."""
    status, _, data = post(server, "/api/conversations", padded(LIMIT), chunked=True)
    assert status == 201, data
    assert set(data) == {"id", "token", "visitor"}


def test_small_chunked_bodies_work(server, live_conversation):
    conversation_id, customer = live_conversation
    path = f"/api/conversations/{conversation_id}/messages"
    status, _, data = post(server, path, b'{"text": "hej"}', customer, chunked=True)
    assert status == 200, data
    messages = requests.get(f"{server}{path}?after=0", headers=customer, timeout=10).json()["messages"]
    assert [m["text"] for m in messages if m["role"] == "customer"] == ["hej"]


def test_a_content_length_body_over_the_limit_stays_413_json(server):
    assert_413_json(post(server, "/api/conversations", padded(100_000)))


def test_deep_json_is_400_under_gevent(server):
    status, content_type, body = post(server, "/api/conversations", DEEP_ARRAY.encode())
    assert (status, content_type) == (400, "application/json"), body
    assert set(body) == {"error"}
