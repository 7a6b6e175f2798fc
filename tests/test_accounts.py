"""Agents' accounts (handoff/accounts.py) and `faqbot agent ...`, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from handoff import cli
from handoff.accounts import AccountError, Accounts
from handoff.models import now
from handoff.store import Conflict
from tests.conftest import ROOT
from tests.desk_client import FAST_HASHER, PASSWORD
from tests.test_hub_api import bearer, make_app


@pytest.fixture
def accounts(db):
    return Accounts(db, FAST_HASHER)


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, password_hash, password):
        self.verified += 1
        return super().verify(password_hash, password)


# -- the service ------------------------------------------------------------------------------


def test_passwords_are_argon2id_hashes_with_current_parameters(db):
    accounts = Accounts(db)  # the real parameters
    created = accounts.create("  Ola ", PASSWORD)

    with db.transaction() as session:
        from handoff.models import Agent

        stored = session.get(Agent, created.account.id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert not PasswordHasher().check_needs_rehash(stored)
    assert created.account.name == "Ola" and created.account.has_password
    assert accounts.authenticate("Ola", PASSWORD).id == created.account.id
    assert accounts.authenticate("Ola", PASSWORD + "x") is None


def test_a_password_has_at_least_10_characters(accounts):
    with pytest.raises(AccountError, match="at least 10 characters"):
        accounts.create("Ola", "123456789")
    assert accounts.create("Ola", "1234567890").account.has_password
    with pytest.raises(AccountError, match="at least 10 characters"):
        accounts.set_password("Ola", "short")
    assert accounts.authenticate("Ola", "1234567890") is not None


def test_names_roles_and_languages_are_checked(accounts):
    accounts.create("Ola")
    for name, role, language, error in [
        ("Ola", "agent", "pl", Conflict),
        ("  ", "agent", "pl", AccountError),
        ("O\nla", "agent", "pl", AccountError),
        ("x" * 101, "agent", "pl", AccountError),
        ("Ala", "admin", "pl", AccountError),
        ("Ala", "agent", "de", AccountError),
    ]:
        with pytest.raises(error):
            accounts.create(name, PASSWORD, role=role, language=language)
    assert [a.name for a in accounts.list()] == ["Ola"]


def test_an_agent_without_a_password_cannot_log_in(accounts):
    created = accounts.create("Api")
    assert not created.account.has_password
    assert accounts.authenticate("Api", "") is None
    assert accounts.authenticate("Api", PASSWORD) is None


def test_every_failed_login_costs_one_verification(db):
    """So that the time taken does not tell an unknown name from a wrong password."""
    hasher = CountingHasher()
    accounts = Accounts(db, hasher)
    accounts.create("Ola", PASSWORD)
    accounts.create("Api")
    accounts.create("Iza", PASSWORD)
    accounts.deactivate("Iza")

    for name, password in [("Ola", "wrong password"), ("Nobody", PASSWORD), ("Api", PASSWORD), ("Iza", PASSWORD)]:
        before = hasher.verified
        assert accounts.authenticate(name, password) is None
        assert hasher.verified == before + 1, name


def test_an_old_hash_is_replaced_at_the_next_login(db):
    old = Accounts(db, FAST_HASHER).create("Ola", PASSWORD).account
    current = Accounts(db)

    account = current.authenticate("Ola", PASSWORD)

    assert account is not None and account.session_version != old.session_version
    with db.transaction() as session:
        from handoff.models import Agent

        assert not PasswordHasher().check_needs_rehash(session.get(Agent, old.id).password_hash)
    assert current.authenticate("Ola", PASSWORD).session_version == account.session_version


def test_set_password_deactivate_and_list(accounts):
    accounts.create("Ola", PASSWORD, role="supervisor")
    accounts.create("Ala", PASSWORD)
    version = accounts.authenticate("Ala", PASSWORD).session_version

    changed = accounts.set_password("Ala", "another password")
    accounts.deactivate("Ola")

    assert changed.session_version != version
    assert accounts.authenticate("Ala", PASSWORD) is None
    assert accounts.authenticate("Ala", "another password") is not None
    assert accounts.authenticate("Ola", PASSWORD) is None
    assert [(a.name, a.role, a.active) for a in accounts.list()] == [
        ("Ala", "agent", True),
        ("Ola", "supervisor", False),
    ]
    for action in (accounts.deactivate, lambda name: accounts.set_password(name, PASSWORD)):
        with pytest.raises(AccountError, match="no agent named"):
            action("Nobody")


def test_presence_is_written_when_asked_and_not_more_often(accounts):
    agent = accounts.create("Ola", PASSWORD).account
    assert agent.last_seen_at is None

    seen = accounts.touch(agent.id).last_seen_at
    again = accounts.touch(agent.id, seen_before=now() - timedelta(seconds=15)).last_seen_at

    assert seen is not None and again == seen
    with accounts.db.transaction() as session:
        from handoff.models import Agent

        session.get(Agent, agent.id).last_seen_at = now() - timedelta(seconds=20)
    stale = accounts.touch(agent.id, seen_before=now() - timedelta(seconds=15)).last_seen_at
    assert stale >= seen
    assert accounts.touch(agent.id).last_seen_at > seen
    accounts.deactivate("Ola")
    assert accounts.touch(agent.id) is None


def test_the_api_token_of_a_new_account_opens_the_agents_api(database_url):
    app = make_app(database_url)
    client = app.test_client()
    token = app.extensions["faqbot"].accounts.create("Ola", PASSWORD).token

    assert client.get("/api/agent/queue", headers=bearer(token)).status_code == 200
    app.extensions["faqbot"].accounts.deactivate("Ola")
    assert client.get("/api/agent/queue", headers=bearer(token)).status_code == 401
    app.extensions["faqbot"].db.dispose()


def test_hashing_does_not_stop_the_gevent_worker():
    """argon2 runs in gevent's thread pool under the hub's worker: other greenlets
    (open long-polls) go on meanwhile."""
    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent
        from argon2 import PasswordHasher
        from handoff.accounts import _off_the_event_loop
        ticks = []
        def tick():
            while True:
                ticks.append(1); gevent.sleep(0.005)
        ticker = gevent.spawn(tick)
        gevent.sleep(0.02)
        before = len(ticks)
        _off_the_event_loop(PasswordHasher(time_cost=3, memory_cost=65536).hash, "correct horse battery")
        print(len(ticks) - before)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 3


# -- faqbot agent ... --------------------------------------------------------------------------------


@pytest.fixture
def faqbot(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        code = cli.main(["agent", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_agent_create_with_a_password_from_stdin(faqbot, database_url):
    code, out, err = faqbot("create", "Ola", "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n")

    assert code == 0, err
    token = out.strip()
    assert len(out.splitlines()) == 1 and len(token) >= 32
    app = make_app(database_url)
    account = app.extensions["faqbot"].accounts.authenticate("Ola", PASSWORD)
    assert (account.name, account.role) == ("Ola", "supervisor")
    assert app.test_client().get("/api/agent/queue", headers=bearer(token)).status_code == 200
    app.extensions["faqbot"].db.dispose()


def test_agent_create_refuses_a_short_password_and_a_taken_name(faqbot):
    code, out, err = faqbot("create", "Ola", "--password-stdin", stdin="short\n")
    assert (code, out) == (1, "") and "at least 10 characters" in err

    assert faqbot("create", "Ola", "--password-stdin", stdin=PASSWORD)[0] == 0
    code, _, err = faqbot("create", "Ola", "--password-stdin", stdin=PASSWORD)
    assert code == 1 and "already exists" in err


def test_agent_create_without_a_terminal_makes_an_api_only_agent(faqbot):
    code, out, err = faqbot("create", "Api")
    assert code == 0 and out.strip()
    assert "set-password" in err


def test_agent_set_password_deactivate_and_list(faqbot, database_url):
    faqbot("create", "Ola", "--password-stdin", stdin=PASSWORD)
    faqbot("create", "Ala", "--role", "supervisor", "--no-password")

    assert faqbot("set-password", "Ala", "--password-stdin", stdin="a new password\n")[0] == 0
    assert faqbot("set-password", "Ala", "--password-stdin", stdin="short\n")[0] == 1
    assert faqbot("set-password", "Ala")[0] == 1  # no terminal to ask at, and no --password-stdin
    assert faqbot("set-password", "Nobody", "--password-stdin", stdin=PASSWORD)[0] == 1
    assert faqbot("deactivate", "Ola")[0] == 0
    assert faqbot("deactivate", "Nobody")[0] == 1
    code, out, _ = faqbot("list")

    assert code == 0
    rows = [line.split() for line in out.splitlines()]
    assert rows == [
        ["NAME", "ROLE", "ACTIVE", "LAST", "SEEN"],
        ["Ala", "supervisor", "yes", "never"],
        ["Ola", "agent", "no", "never"],
    ]
    app = make_app(database_url)
    accounts = app.extensions["faqbot"].accounts
    assert accounts.authenticate("Ala", "a new password") is not None
    assert accounts.authenticate("Ola", PASSWORD) is None
    app.extensions["faqbot"].db.dispose()
