"""Agents' accounts: who may log in to the desk, with what password and role.

Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, its current
parameters); a hash made with older parameters is replaced at the next successful login.
Each account also has an API token for the agents' bearer-token API (`/api/agent`),
shown once when the account is created; only its digest is stored.

A login with an unknown name costs the same argon2 verification as a wrong password, so
the response time does not tell which names exist.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from .db import Database
from .models import AGENT_ROLES, Agent, now
from .security import digest, new_token
from .store import Conflict, as_utc

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for
MAX_NAME_LENGTH = 100  # the column's size
LANGUAGES = ("pl", "en")  # the desk's own texts exist in these
# Presence is written at most this often per agent (seconds), however busy its desk is.
PRESENCE_INTERVAL = 15.0

T = TypeVar("T")


class AccountError(ValueError):
    """A request the accounts service refuses (a weak password, an unknown name...);
    the message says what to do."""


@dataclass(frozen=True)
class Account:
    """An agent as the desk needs it; `session_version` changes whenever the password
    does, which ends the sessions opened with the old one."""

    id: int
    name: str
    role: str
    language: str
    active: bool
    has_password: bool
    last_seen_at: datetime | None
    session_version: str


@dataclass(frozen=True)
class NewAccount:
    account: Account
    token: str  # the API token, shown once


class Accounts:
    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # -- managing accounts -------------------------------------------------------------

    def create(self, name: str, password: str | None = None, role: str = "agent", language: str = "pl") -> NewAccount:
        """A new agent and its API token. Without a password the agent can use the API
        but not log in to the desk until `set_password`."""
        name = check_name(name)
        if role not in AGENT_ROLES:
            raise AccountError(f"role must be one of: {', '.join(AGENT_ROLES)}")
        if language not in LANGUAGES:
            raise AccountError(f"language must be one of: {', '.join(LANGUAGES)}")
        password_hash = self._hash(check_password(password)) if password is not None else None
        token = new_token()
        with self.db.transaction() as session:
            if session.scalar(select(Agent.id).where(Agent.name == name)) is not None:
                raise Conflict(f"an agent named {name!r} already exists")
            agent = Agent(
                name=name, token_hash=digest(token), password_hash=password_hash, role=role, language=language
            )
            session.add(agent)
            session.flush()
            return NewAccount(_account(agent), token)

    def set_password(self, name: str, password: str) -> Account:
        """A new password; every session opened with the old one ends."""
        password_hash = self._hash(check_password(password))
        with self.db.transaction() as session:
            agent = self._by_name(session, name)
            agent.password_hash = password_hash
            return _account(agent)

    def deactivate(self, name: str) -> Account:
        """The agent can no longer log in or use the API; open sessions end at their next request."""
        with self.db.transaction() as session:
            agent = self._by_name(session, name)
            agent.active = False
            return _account(agent)

    def list(self) -> list[Account]:
        with self.db.transaction() as session:
            return [_account(a) for a in session.scalars(select(Agent).order_by(Agent.name))]

    def get(self, agent_id: int) -> Account | None:
        with self.db.transaction() as session:
            agent = session.get(Agent, agent_id)
            return _account(agent) if agent is not None else None

    def active_account(self, agent_id: int) -> Account | None:
        """The account if it exists and is active (a transfer's target)."""
        account = self.get(agent_id)
        return account if account is not None and account.active else None

    def set_language(self, agent_id: int, language: str) -> Account:
        if language not in LANGUAGES:
            raise AccountError(f"language must be one of: {', '.join(LANGUAGES)}")
        with self.db.transaction() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise AccountError("no such agent")
            agent.language = language
            return _account(agent)

    # -- logging in and presence ---------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account if `password` is its password and it is active; None otherwise,
        after the same work whatever the reason."""
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            self._verify(self._dummy(), "")
            return None
        with self.db.transaction() as session:
            agent = session.scalar(select(Agent).where(Agent.name == name.strip()))
        stored = agent.password_hash if agent is not None and agent.active and agent.password_hash else None
        if not self._verify(stored or self._dummy(), password) or stored is None:
            return None
        if self.hasher.check_needs_rehash(stored):
            return self._rehash(agent.id, stored, password)
        return _account(agent)

    def touch(self, agent_id: int, seen_before: datetime | None = None) -> Account | None:
        """Presence: the agent's desk was heard from now. With `seen_before`, only if the
        last record is older (so that frequent requests write at most once in a while).
        Returns the account as it is now, None if it no longer exists or is inactive."""
        moment = now()
        with self.db.transaction() as session:
            condition = [Agent.id == agent_id, Agent.active.is_(True)]
            if seen_before is not None:
                condition.append((Agent.last_seen_at.is_(None)) | (Agent.last_seen_at < seen_before))
            session.execute(update(Agent).where(*condition).values(last_seen_at=moment))
            agent = session.get(Agent, agent_id)
            return _account(agent) if agent is not None and agent.active else None

    def touch_if_stale(self, account: Account, interval: float) -> None:
        """Presence, written at most every `interval` seconds per agent."""
        if account.last_seen_at is None or as_utc(account.last_seen_at) < now() - timedelta(seconds=interval):
            self.touch(account.id, seen_before=now() - timedelta(seconds=interval))

    # -- hashing ------------------------------------------------------------------------

    def _rehash(self, agent_id: int, old_hash: str, password: str) -> Account | None:
        new_hash = self._hash(password)
        with self.db.transaction() as session:
            # Only if nobody changed the password meanwhile.
            session.execute(
                update(Agent)
                .where(Agent.id == agent_id, Agent.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
            agent = session.get(Agent, agent_id)
            return _account(agent) if agent is not None and agent.active else None

    def _by_name(self, session, name: str) -> Agent:
        agent = session.scalar(select(Agent).where(Agent.name == name.strip()))
        if agent is None:
            raise AccountError(f"no agent named {name!r}")
        return agent

    def _dummy(self) -> str:
        """A hash with the hasher's parameters, to verify against when there is no real one."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    def _hash(self, password: str) -> str:
        return _off_the_event_loop(self.hasher.hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return _off_the_event_loop(self.hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


def check_password(password: str | None) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise AccountError("an agent needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"the name must have at most {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError("the name must not contain control characters")
    return name


def session_version(password_hash: str | None) -> str:
    """Changes with the password: a session remembers it and ends when it differs."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _account(agent: Agent) -> Account:
    return Account(
        id=agent.id,
        name=agent.name,
        role=agent.role,
        language=agent.language,
        active=agent.active,
        has_password=agent.password_hash is not None,
        last_seen_at=agent.last_seen_at,
        session_version=session_version(agent.password_hash),
    )


def _off_the_event_loop(function: Callable[..., T], *args) -> T:
    """argon2 takes ~0.1 s of CPU by design. Under gevent (the hub's worker) that would
    freeze every open connection of the worker meanwhile, so it runs in gevent's thread
    pool (argon2-cffi releases the GIL); elsewhere it simply runs."""
    if "gevent" in sys.modules:
        from gevent import get_hub, monkey

        if monkey.is_module_patched("threading"):
            return get_hub().threadpool.apply(function, args)
    return function(*args)
