"""The desk in tests: a hub whose bot is down (customers' conversations reach the queue at
once, see tests/test_hub_api.py), agents with passwords, and logging in through the real
form with its CSRF token."""

from __future__ import annotations

from html.parser import HTMLParser

from argon2 import PasswordHasher

from handoff.accounts import Accounts
from tests.test_hub_api import make_app

PASSWORD = "correct horse battery"
# argon2id with small costs: the tests log in dozens of times; test_accounts checks the real parameters.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_desk_app(database_url: str, tmp_path, **settings):
    values = {"secret_key": "test-secret-" + "x" * 40, "drafts_dir": str(tmp_path / "faq-drafts"), **settings}
    app = make_app(database_url, **values)
    hub = app.extensions["faqbot"]
    hub.accounts = Accounts(hub.db, FAST_HASHER)
    return app


def add_agent(app, name: str, password: str | None = PASSWORD, role: str = "agent") -> int:
    """A new agent; returns its id."""
    return app.extensions["faqbot"].accounts.create(name, password, role=role).account.id


class _Tokens(HTMLParser):
    """The CSRF token of a desk page: its `csrf-token` meta tag or `csrf_token` field."""

    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "meta" and attributes.get("name") == "csrf-token":
            self.token = self.token or attributes.get("content")
        if tag == "input" and attributes.get("name") == "csrf_token":
            self.token = self.token or attributes.get("value")


def csrf_token(client, page: str = "/desk/login") -> str:
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    parser = _Tokens()
    parser.feed(response.get_data(as_text=True))
    assert parser.token, f"no CSRF token on {page}"
    return parser.token


def login(client, name: str, password: str = PASSWORD, next_path: str | None = None):
    form = {"name": name, "password": password, "csrf_token": csrf_token(client)}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/desk/login", data=form)


def logged_in(app, name: str, **agent):
    """A test client logged in as a new agent `name`, with `client.csrf` for the API."""
    add_agent(app, name, **agent)
    client = app.test_client()
    response = login(client, name)
    assert response.status_code == 303, response.get_data(as_text=True)
    client.csrf = csrf_token(client, "/desk")
    return client


def api_post(client, path: str, body=None):
    return client.post(f"/desk/api{path}", json=body, headers={"X-CSRFToken": client.csrf})
