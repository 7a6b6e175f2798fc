"""Logging in to the desk, through Flask's test client on SQLite and PostgreSQL: sessions
(expiry, logout, deactivation, password change), CSRF, throttled guessing, and that
nothing of the desk shows to anyone not logged in."""

from __future__ import annotations

import os
import re
import threading

import pytest

from handoff.desk.auth import safe_next
from handoff.desk.secret import secret_key
from tests.desk_client import PASSWORD, add_agent, api_post, csrf_token, logged_in, login, make_desk_app
from tests.test_hub_api import bearer, queued


@pytest.fixture
def app(database_url, tmp_path):
    application = make_desk_app(database_url, tmp_path)
    yield application
    application.extensions["faqbot"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def me(client):
    return client.get("/desk/api/me")


def assert_json_error(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert set(response.get_json()) == {"error"}


def login_error(response) -> str:
    """The error the login page shows."""
    found = re.search(r'id="login-error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1).strip()


# -- logging in and out -------------------------------------------------------------------


def test_login_opens_a_session_and_logout_ends_it(app, client):
    add_agent(app, "Ola", role="supervisor")

    response = login(client, "Ola")

    assert response.status_code == 303
    assert response.headers["Location"] == "/desk"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/desk" in cookie
    assert "Secure" not in cookie  # cookie_secure is off by default (plain HTTP on 127.0.0.1)
    body = me(client).get_json()
    assert {k: body[k] for k in ("name", "role", "language")} == {"name": "Ola", "role": "supervisor", "language": "pl"}

    token = csrf_token(client, "/desk")
    response = client.post("/desk/logout", data={"csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (303, "/desk/login")
    assert_json_error(me(client), 401)
    assert client.get("/desk").status_code == 303


def test_a_secure_cookie_when_configured(database_url, tmp_path):
    app = make_desk_app(database_url, tmp_path, cookie_secure=True)
    add_agent(app, "Ola")
    client = app.test_client()
    page = client.get("/desk/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/desk/login",
        base_url="https://localhost",
        data={"name": "Ola", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/desk/login"},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["faqbot"].db.dispose()


def test_wrong_password_and_unknown_name_get_the_same_answer(app, client):
    add_agent(app, "Ola")
    add_agent(app, "Ala", password=None)  # API token only: no desk login
    add_agent(app, "Iza")
    app.extensions["faqbot"].accounts.deactivate("Iza")

    answers = [
        login(client, "Ola", "wrong password!"),
        login(client, "Nobody", PASSWORD),
        login(client, "Ala", PASSWORD),
        login(client, "Iza", PASSWORD),
        login(client, "Ola", ""),
    ]

    assert {r.status_code for r in answers} == {401}
    assert len({login_error(r) for r in answers}) == 1
    assert login_error(answers[0]) == "Nieprawidłowa nazwa lub hasło."
    assert_json_error(me(client), 401)


def test_the_failed_form_keeps_the_name_and_where_to_go(app, client):
    response = login(client, "Nobody", "whatever123", next_path="/desk/c/abc")
    page = response.get_data(as_text=True)
    assert 'value="Nobody"' in page
    assert 'value="/desk/c/abc"' in page


def test_login_goes_where_the_agent_was_going(app, client):
    add_agent(app, "Ola")
    response = client.get("/desk/c/some-conversation")
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk/login?next=/desk/c/some-conversation"

    response = login(client, "Ola", next_path="/desk/c/some-conversation")

    assert response.headers["Location"] == "/desk/c/some-conversation"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/desk",
        "//evil.example/desk",
        "/\\evil.example",
        "/desk\\@evil.example",
        "javascript:alert(1)",
        "/api/agent/queue",
        "/desk/../api/agent/queue",
        "/desk/%2e%2e/health",
        "/desk/api/queue",
        "/desk/login",
        "/deskx",
        "",
        "/desk\r\nSet-Cookie: x=1",
    ],
)
def test_next_is_a_local_desk_path_or_the_desk(target):
    assert safe_next(target) == "/desk"


@pytest.mark.parametrize("target", ["/desk", "/desk/c/7b6c-1", "/desk?lang=en"])
def test_next_keeps_desk_paths(target):
    assert safe_next(target) == target


def test_a_logged_in_agent_visiting_the_form_goes_to_the_desk(app, client):
    add_agent(app, "Ola")
    login(client, "Ola")
    response = client.get("/desk/login?next=/desk/c/x")
    assert (response.status_code, response.headers["Location"]) == (303, "/desk/c/x")


# -- sessions end ---------------------------------------------------------------------------


def test_a_session_expires_after_session_hours(app, client):
    add_agent(app, "Ola")
    login(client, "Ola")
    assert me(client).status_code == 200

    with client.session_transaction("/desk") as session:  # the login was 8 h and 1 s ago
        session["since"] -= app.extensions["faqbot"].settings.session_hours * 3600 + 1

    assert_json_error(me(client), 401)
    assert client.get("/desk").status_code == 303


def test_the_cookie_itself_expires(app, client):
    add_agent(app, "Ola")
    response = login(client, "Ola")
    assert "Expires=" in response.headers["Set-Cookie"]
    assert app.permanent_session_lifetime.total_seconds() == 8 * 3600


def test_a_deactivated_agents_session_stops_working(app, client):
    add_agent(app, "Ola")
    login(client, "Ola")
    assert me(client).status_code == 200

    app.extensions["faqbot"].accounts.deactivate("Ola")

    assert_json_error(me(client), 401)
    assert client.get("/desk").status_code == 303
    assert login(client, "Ola").status_code == 401


def test_a_password_change_ends_every_session(app):
    add_agent(app, "Ola")
    first, second = app.test_client(), app.test_client()
    login(first, "Ola")
    login(second, "Ola")

    app.extensions["faqbot"].accounts.set_password("Ola", "a brand new password")

    assert_json_error(me(first), 401)
    assert_json_error(me(second), 401)
    assert login(first, "Ola").status_code == 401
    assert login(first, "Ola", "a brand new password").status_code == 303
    assert me(first).status_code == 200


def test_a_forged_session_cookie_is_refused(app, client):
    add_agent(app, "Ola")
    client.set_cookie("faqbot_desk", "eyJhZ2VudCI6MX0.forged.signature", path="/desk")
    assert_json_error(me(client), 401)


# -- CSRF ---------------------------------------------------------------------------------------


def test_a_state_change_without_the_csrf_token_is_refused(app):
    assert app.config["WTF_CSRF_ENABLED"]
    client = logged_in(app, "Ola")
    conversation_id, _ = queued(client)

    without = client.post(f"/desk/api/conversations/{conversation_id}/claim")
    wrong = client.post(f"/desk/api/conversations/{conversation_id}/claim", headers={"X-CSRFToken": "forged"})

    assert_json_error(without, 400)
    assert "CSRF" in without.get_json()["error"]
    assert_json_error(wrong, 400)
    assert client.get("/desk/api/queue").get_json()["conversations"][0]["status"] == "queued"
    assert api_post(client, f"/conversations/{conversation_id}/claim").status_code == 200


def test_the_login_form_needs_its_csrf_token(app, client):
    add_agent(app, "Ola")
    response = client.post("/desk/login", data={"name": "Ola", "password": PASSWORD})
    assert response.status_code == 400
    assert login_error(response) == "Formularz wygasł. Spróbuj jeszcze raz."
    assert_json_error(me(client), 401)


def test_logout_needs_the_csrf_token(app):
    client = logged_in(app, "Ola")
    assert client.post("/desk/logout").status_code == 400
    assert me(client).status_code == 200


def test_the_token_apis_need_no_csrf_token(app, client):
    """The customer API and the agents' bearer-token API are outside the desk's CSRF."""
    token = app.extensions["faqbot"].accounts.create("Api").token
    conversation_id, _ = queued(client)
    response = client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=bearer(token))
    assert response.status_code == 200


# -- guessing is slowed down -------------------------------------------------------------------


def test_the_sixth_failed_login_in_a_minute_is_429_with_retry_after(app, client):
    add_agent(app, "Ola")
    for _ in range(5):
        assert login(client, "Ola", "not the password").status_code == 401

    refused = login(client, "Ola", "not the password")
    right_password = login(client, "Ola", PASSWORD)

    for response in (refused, right_password):
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert login_error(refused) == "Zbyt wiele nieudanych prób. Spróbuj ponownie za chwilę."
    assert_json_error(me(client), 401)
    add_agent(app, "Ala")
    assert login(client, "Ala").status_code == 303  # another name from the same address is not locked out


def test_successful_logins_do_not_count(app):
    add_agent(app, "Ola")
    for _ in range(7):
        assert login(app.test_client(), "Ola").status_code == 303


def test_throttling_is_shared_through_redis(database_url, tmp_path, redis_url):
    """Several hub processes count the same failures (two apps here, one Redis)."""
    name = f"ola-{os.getpid()}-{threading.get_ident()}-{tmp_path.name}"
    apps = [make_desk_app(database_url, tmp_path / str(i), redis_url=redis_url) for i in range(2)]
    clients = [a.test_client() for a in apps]
    for i in range(5):
        assert login(clients[i % 2], name, "not the password").status_code == 401
    assert login(clients[1], name, "not the password").status_code == 429
    for a in apps:
        a.extensions["faqbot"].pubsub.close()
        a.extensions["faqbot"].db.dispose()


# -- nothing shows to anyone else ------------------------------------------------------------


def desk_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/desk") or rule.endpoint.endswith("static"):
            continue
        if rule.rule in ("/desk/login", "/desk/logout"):
            continue
        path = re.sub(r"<[^>]+>", "some-id", rule.rule)
        routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_anonymous_requests_to_every_desk_route_are_refused(app, client):
    conversation_id, _ = queued(client)
    routes = desk_routes(app)
    assert len(routes) >= 17  # the pages, the JSON API and the event stream

    for method, path in [*routes, ("GET", "/desk/anything"), ("POST", "/desk/api/anything")]:
        path = path.replace("some-id", conversation_id)
        response = client.open(path, method=method, json={"text": "x"})
        body = response.get_data(as_text=True)
        if path.startswith("/desk/api") or path.endswith(".json"):  # for scripts: no login form to follow
            assert_json_error(response, 401)
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["Location"].startswith("/desk/login")
        assert conversation_id not in body.replace(f"next=/desk/c/{conversation_id}", "")


def test_tokens_of_the_other_apis_open_nothing_on_the_desk(app, client):
    conversation_id, customer_token = queued(client)
    agent_token = app.extensions["faqbot"].accounts.create("Api").token
    for token in (customer_token, agent_token):
        for path in ("/desk/api/queue", f"/desk/api/conversations/{conversation_id}", "/desk/api/me"):
            assert_json_error(client.get(path, headers=bearer(token)), 401)
        assert client.get("/desk", headers=bearer(token)).status_code == 303


def test_the_login_page_shows_nothing_of_the_desk(app, client):
    conversation_id, _ = queued(client)
    page = client.get("/desk/login").get_data(as_text=True)
    assert conversation_id not in page
    assert 'name="password"' in page


# -- the signing key ----------------------------------------------------------------------------


def test_the_secret_key_is_made_once_private_and_shared(tmp_path):
    path = tmp_path / "var" / "secret_key"
    keys: list[str] = []
    workers = [threading.Thread(target=lambda: keys.append(secret_key("", path))) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(set(keys)) == 1 and len(keys[0]) >= 48
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key("", path) == keys[0]
    assert secret_key("configured-key", path) == "configured-key"
    assert list(path.parent.iterdir()) == [path]  # no temporary files left
