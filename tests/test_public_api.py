"""The customer API faces the internet: CORS for the widget's origins, rate limits (429
with Retry-After, shared through Redis), size limits (413), security headers.

Through Flask's test client on SQLite and PostgreSQL (the bot is down, as in
tests/test_hub_api.py), and through the hub as deployed (gunicorn + gevent) for the
limits a real server must keep.
"""

from __future__ import annotations

import json
import random

import pytest
import requests

from handoff.api.headers import CONTENT_SECURITY_POLICY
from handoff.config import HubSettings
from scripts.bench_longpoll import running_hub
from tests.test_hub_api import make_app

SHOP = "https://shop.example"


def some_address() -> str:
    """A client address of its own: Redis counters outlive a test run."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def make(database_url, tmp_path):
    apps = []

    def build(**settings):
        values = {"secret_key": "test-secret-" + "x" * 40, "drafts_dir": str(tmp_path / "drafts"), **settings}
        app = make_app(database_url, **values)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["faqbot"].pubsub.close()
        app.extensions["faqbot"].db.dispose()


def start(client, address: str = "127.0.0.1", **headers):
    return client.post("/api/conversations", json={}, headers=headers, environ_base={"REMOTE_ADDR": address})


def started(client) -> tuple[str, dict[str, str]]:
    response = start(client, some_address())
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    return data["id"], {"Authorization": f"Bearer {data['token']}"}


def say(client, conversation_id: str, customer: dict[str, str], text: str):
    return client.post(f"/api/conversations/{conversation_id}/messages", json={"text": text}, headers=customer)


def history(client, conversation_id: str, customer: dict[str, str]) -> list[str]:
    response = client.get(f"/api/conversations/{conversation_id}/messages?after=0", headers=customer)
    assert response.status_code == 200
    return [m["text"] for m in response.get_json()["messages"] if m["role"] == "customer"]


def assert_429(response) -> None:
    assert response.status_code == 429, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert set(response.get_json()) == {"error"} and response.get_json()["error"]
    assert 1 <= int(response.headers["Retry-After"]) <= 3600


# -- CORS -------------------------------------------------------------------------------------


def test_an_allowed_origin_gets_its_preflight_answered(make):
    client = make(widget_origins=(SHOP,)).test_client()
    response = client.options(
        "/api/conversations/some-id/messages",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_allowed_origin_reads_the_answers(make):
    client = make(widget_origins=(SHOP,)).test_client()
    response = start(client, some_address(), Origin=SHOP)
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize("origins", [(), (SHOP,)], ids=["none-configured", "another-configured"])
def test_other_origins_get_no_cors_headers(make, origins):
    client = make(widget_origins=origins).test_client()
    evil = "https://evil.example"
    preflight = client.options("/api/conversations", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    response = start(client, some_address(), Origin=evil)
    for r in (preflight, response):
        assert not [name for name, _ in r.headers.items() if name.startswith("Access-Control-")]
        assert "Origin" in r.headers["Vary"]


def test_a_star_allows_every_origin(make):
    client = make(widget_origins=("*",)).test_client()
    response = start(client, some_address(), Origin="https://anywhere.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://anywhere.example"


def test_cors_is_for_the_customer_api_only(make):
    client = make(widget_origins=(SHOP,)).test_client()
    for path in ("/health", "/api/agent/queue", "/desk/login"):
        response = client.get(path, headers={"Origin": SHOP})
        assert "Access-Control-Allow-Origin" not in response.headers, path


def test_widget_origins_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WIDGET_ORIGINS", " https://shop.example/, https://www.shop.example ,")
    monkeypatch.setenv("RATE_LIMIT_NEW_CONVERSATIONS", "5 per minute")
    monkeypatch.setenv("RATE_LIMIT_MESSAGES", "off")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    settings = HubSettings.from_env()
    assert settings.widget_origins == ("https://shop.example", "https://www.shop.example")
    assert settings.rate_limit_new_conversations == "5 per minute"
    assert settings.rate_limit_messages == "off"
    assert settings.trusted_proxies == 1


def test_the_defaults(monkeypatch):
    for name in ("WIDGET_ORIGINS", "RATE_LIMIT_NEW_CONVERSATIONS", "RATE_LIMIT_MESSAGES", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    settings = HubSettings.from_env()
    assert settings.widget_origins == ()
    assert settings.rate_limit_new_conversations == "10 per minute; 100 per hour"
    assert settings.rate_limit_messages == "20 per minute"
    assert settings.trusted_proxies == 0


# -- rate limits ----------------------------------------------------------------------------


def test_new_conversations_are_limited_per_address(make):
    """The default: 10 a minute from one address; the 11th is 429, another address is not."""
    client = make(widget_origins=(SHOP,)).test_client()
    address = some_address()
    for _ in range(10):
        assert start(client, address).status_code == 201
    refused = start(client, address, Origin=SHOP)
    assert_429(refused)
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP  # the widget can read why
    assert start(client, some_address()).status_code == 201


def test_messages_are_limited_per_conversation_and_nothing_accepted_is_lost(make):
    client = make(rate_limit_messages="3 per minute").test_client()
    conversation_id, customer = started(client)
    for i in range(3):
        assert say(client, conversation_id, customer, f"pytanie {i}").status_code == 200
    assert_429(say(client, conversation_id, customer, "one too many"))
    assert history(client, conversation_id, customer) == ["pytanie 0", "pytanie 1", "pytanie 2"]
    # Reading is not limited, and another conversation has its own count.
    assert client.get(f"/api/conversations/{conversation_id}/messages?after=0", headers=customer).status_code == 200
    other_id, other = started(client)
    assert say(client, other_id, other, "hej").status_code == 200


def test_the_default_message_limit_is_20_a_minute(make):
    client = make().test_client()
    conversation_id, customer = started(client)
    for i in range(20):
        assert say(client, conversation_id, customer, f"m{i}").status_code == 200
    assert_429(say(client, conversation_id, customer, "m20"))
    assert history(client, conversation_id, customer) == [f"m{i}" for i in range(20)]


def test_limits_can_be_switched_off(make):
    client = make(rate_limit_new_conversations="off").test_client()
    for _ in range(12):
        assert start(client).status_code == 201


def test_behind_a_trusted_proxy_each_customer_has_their_own_limit(make):
    client = make(rate_limit_new_conversations="2 per minute", trusted_proxies=1).test_client()
    proxy = some_address()
    first, second = some_address(), some_address()
    for _ in range(2):
        assert start(client, proxy, **{"X-Forwarded-For": first}).status_code == 201
    assert_429(start(client, proxy, **{"X-Forwarded-For": first}))
    assert start(client, proxy, **{"X-Forwarded-For": second}).status_code == 201


def test_without_trusted_proxies_x_forwarded_for_is_ignored(make):
    client = make(rate_limit_new_conversations="2 per minute").test_client()
    address = some_address()
    for i in range(2):
        assert start(client, address, **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code == 201
    assert_429(start(client, address, **{"X-Forwarded-For": "192.0.2.99"}))


def test_limits_are_shared_through_redis(make, redis_url):
    """Several hub processes count together (two apps here, one Redis)."""
    apps = [make(redis_url=redis_url, rate_limit_new_conversations="3 per minute") for _ in range(2)]
    clients = [a.test_client() for a in apps]
    address = some_address()
    for i in range(3):
        assert start(clients[i % 2], address).status_code == 201
    assert_429(start(clients[1], address))
    assert_429(start(clients[0], address))


def test_the_desk_login_throttle_still_answers_its_own_way(make):
    """One Limiter for both: the desk's failed logins keep their page and message."""
    app = make()
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    for _ in range(5):
        response = client.post("/desk/login", data={"name": "nobody", "password": "wrong password"})
        assert response.status_code == 401
    response = client.post("/desk/login", data={"name": "nobody", "password": "wrong password"})
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) >= 1


# -- size limits --------------------------------------------------------------------------------


def test_a_message_over_the_length_limit_is_413_and_not_stored(make):
    client = make(max_message_length=50).test_client()
    conversation_id, customer = started(client)
    assert say(client, conversation_id, customer, "hej").status_code == 200
    response = say(client, conversation_id, customer, "a" * 51)
    assert response.status_code == 413 and set(response.get_json()) == {"error"}
    assert history(client, conversation_id, customer) == ["hej"]


def test_a_message_sent_again_under_its_client_id_is_stored_once(make):
    """The widget sends a message again when a reload cut its request short."""
    client = make().test_client()
    conversation_id, customer = started(client)
    url = f"/api/conversations/{conversation_id}/messages"
    first = client.post(url, json={"text": "gdzie paczka", "client_id": "a1b2c3d4e5f6"}, headers=customer)
    again = client.post(url, json={"text": "gdzie paczka", "client_id": "a1b2c3d4e5f6"}, headers=customer)
    assert first.status_code == 200 and again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == first.get_json()["status"]
    resent = [m for m in again.get_json()["messages"] if m["role"] == "customer"]
    assert [m["text"] for m in resent] == ["gdzie paczka"]  # the stored message, for the widget to match
    other = client.post(url, json={"text": "gdzie paczka", "client_id": "f6e5d4c3b2a1"}, headers=customer)
    assert other.status_code == 200
    assert history(client, conversation_id, customer) == ["gdzie paczka", "gdzie paczka"]  # the repeat, once

    # The same client id in another conversation is another message.
    second_id, second = started(client)
    sent = client.post(
        f"/api/conversations/{second_id}/messages", json={"text": "hej", "client_id": "a1b2c3d4e5f6"}, headers=second
    )
    assert sent.status_code == 200 and history(client, second_id, second) == ["hej"]

    for bad in ("short", "x" * 65, "<script>", 12345678, ["a1b2c3d4e5f6"]):
        refused = client.post(url, json={"text": "zle id", "client_id": bad}, headers=customer)
        assert refused.status_code == 400 and "client_id" in refused.get_json()["error"], bad
    assert "zle id" not in history(client, conversation_id, customer)


# -- security headers -----------------------------------------------------------------------------


def test_api_responses_carry_the_security_headers(make):
    client = make().test_client()
    for response in (client.get("/health"), start(client, some_address()), client.get("/api/nothing-here")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_an_html_page_gets_a_policy_that_forbids_inline_script(make):
    app = make()
    app.add_url_rule("/demo-page", "demo_page", lambda: "<!doctype html><p>demo</p>")
    response = app.test_client().get("/demo-page")
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_page_with_its_own_policy_keeps_it(make):
    app = make()

    def own():
        return "<p>own</p>", 200, {"Content-Security-Policy": "default-src 'none'"}

    app.add_url_rule("/own-policy", "own_policy", own)
    assert app.test_client().get("/own-policy").headers["Content-Security-Policy"] == "default-src 'none'"


def test_the_desk_login_page_keeps_the_desks_policy(make):
    from handoff.desk.pages import CONTENT_SECURITY_POLICY as DESK_POLICY

    response = make().test_client().get("/desk/login")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == DESK_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"


# -- through the real server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "RATE_LIMIT_MESSAGES": "3 per minute",
        "RATE_LIMIT_NEW_CONVERSATIONS": "3 per minute",
        "WIDGET_ORIGINS": SHOP,
    }
    with running_hub(tmp_path_factory.mktemp("gunicorn"), env) as (url, _):
        yield url


def test_the_limits_hold_under_gunicorn(server):
    http = requests.Session()
    created = [http.post(f"{server}/api/conversations", json={}, timeout=10) for _ in range(3)]
    assert [r.status_code for r in created] == [201, 201, 201]
    refused = http.post(f"{server}/api/conversations", json={}, headers={"Origin": SHOP}, timeout=10)
    assert refused.status_code == 429 and set(refused.json()) == {"error"}
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Access-Control-Allow-Origin"] == SHOP

    data = created[0].json()
    path = f"{server}/api/conversations/{data['id']}/messages"
    customer = {"Authorization": f"Bearer {data['token']}"}
    too_long = http.post(path, json={"text": "a" * 2001}, headers=customer, timeout=10)  # counts: 1 of 3
    assert too_long.status_code == 413 and set(too_long.json()) == {"error"}
    for text in ("hej", "pytanie"):
        assert http.post(path, json={"text": text}, headers=customer, timeout=30).status_code == 200
    refused = http.post(
        path, data=json.dumps({"text": "za dużo"}), headers={**customer, "Content-Type": "application/json"}, timeout=10
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    messages = http.get(f"{path}?after=0", headers=customer, timeout=10).json()["messages"]
    assert [m["text"] for m in messages if m["role"] == "customer"] == ["hej", "pytanie"]


def test_a_malformed_limit_stops_the_hub_at_start(database_url):
    with pytest.raises(ValueError, match="not a rate limit"):
        make_app(database_url, rate_limit_messages="twenty a minute")
