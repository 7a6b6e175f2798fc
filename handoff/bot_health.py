"""Is the bot there? Rasa and the action server, as the hub sees them.

The hub must not hand a customer's message to a bot that cannot answer it, and must not
send customers to the human queue just because the bot is starting or being restarted.
So it keeps the last known state of both processes: refreshed every second by the
hub's background loop, and at once when a call to the bot fails. The reply path reads
the cached state and costs no extra request while the bot is up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

CHECK_TIMEOUT = 1.0  # seconds: both processes answer health checks in milliseconds
FRESH = 1.0  # seconds a known-bad state is trusted before it is checked again
# A bot that answered a customer this recently is up, even if its health check timed out:
# under load Rasa serves /status behind the messages it is working on, and holding
# customers' messages as if it were away would only add to the load.
ANSWERED_RECENTLY = 3.0


@dataclass
class Dependency:
    ok: bool
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False  # there, maybe, but too busy to answer in time

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, **self.info}


@dataclass
class BotState:
    rasa: Dependency
    actions: Dependency
    checked_at: float

    @property
    def ready(self) -> bool:
        return self.rasa.ok and self.actions.ok


class BotHealth:
    def __init__(self, rasa_url: str, rasa_token: str, actions_url: str) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.rasa_token = rasa_token
        self.actions_url = actions_url.rstrip("/")
        self.http = requests.Session()
        self.ever_ready = False  # since this hub process started: a start, or an outage?
        self.down_since: float | None = None
        self.answered_at: float | None = None  # monotonic time of the bot's last reply
        self._state: BotState | None = None
        self._lock = threading.Lock()

    def check(self) -> BotState:
        """Ask both processes now."""
        state = self._busy_is_up(BotState(self._rasa(), self._actions(), time.monotonic()))
        with self._lock:
            self._state = state
            if state.ready:
                self.ever_ready = True
                self.down_since = None
            elif self.down_since is None:
                self.down_since = state.checked_at
        return state

    def answered(self) -> None:
        """The bot just replied to a customer: it is up, whatever its health check says."""
        self.answered_at = time.monotonic()

    def _busy_is_up(self, state: BotState) -> BotState:
        answered = self.answered_at
        if state.ready or answered is None or state.checked_at - answered > ANSWERED_RECENTLY:
            return state
        busy = [d for d in (state.rasa, state.actions) if not d.ok]
        if not all(d.timed_out for d in busy):  # refused or an error: really down
            return state
        for dependency in busy:
            dependency.ok = True
            dependency.detail = "busy (health check timed out), but replying to customers"
        return state

    def state(self) -> BotState:
        """The last known state; checked again if unknown, or bad and older than FRESH."""
        state = self._state
        if state is None or (not state.ready and time.monotonic() - state.checked_at > FRESH):
            state = self.check()
        return state

    @property
    def ready(self) -> bool:
        return self.state().ready

    def ready_now(self) -> bool:
        """For a customer's message: the cached state if the bot is up (no extra request),
        else asked now, so that a message a moment after the bot came back is not held."""
        state = self._state
        return state.ready if state is not None and state.ready else self.check().ready

    def phase(self) -> str:
        """ "ready", "starting" (never ready since this hub started) or "down"."""
        if self.state().ready:
            return "ready"
        return "down" if self.ever_ready else "starting"

    def _rasa(self) -> Dependency:
        try:
            response = self.http.get(
                f"{self.rasa_url}/status", params={"token": self.rasa_token}, timeout=CHECK_TIMEOUT
            )
        except requests.RequestException as exc:
            return _failed(exc)
        if response.status_code != 200:
            return Dependency(False, f"HTTP {response.status_code} (model not loaded yet?)")
        return Dependency(True, "model loaded")

    def _actions(self) -> Dependency:
        """The action server's /status (knowledge base version and problems) where it
        has one, else its /health. Not checked when no URL is set (Rasa reaches the
        action server at an address the hub does not know)."""
        if not self.actions_url:
            return Dependency(True, "not checked (ACTIONS_URL is empty)")
        try:
            response = self.http.get(f"{self.actions_url}/status", timeout=CHECK_TIMEOUT)
            if response.status_code == 404:
                response = self.http.get(f"{self.actions_url}/health", timeout=CHECK_TIMEOUT)
        except requests.RequestException as exc:
            return _failed(exc)
        if response.status_code != 200:
            return Dependency(False, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict) or "version" not in body:
            return Dependency(True, "answering")
        index = {key: body.get(key) for key in ("state", "version", "entries", "stale", "missing")}
        return Dependency(True, "answering", {"knowledge_base": index})


def _failed(exc: requests.RequestException) -> Dependency:
    return Dependency(False, _reason(exc), timed_out=isinstance(exc, requests.Timeout))


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "not answering (timed out)"
    if isinstance(exc, requests.ConnectionError):
        return "not reachable"
    return exc.__class__.__name__
