"""The hub's one background loop per process: keep the bot's state fresh and answer the
messages that waited for it (see `Conversations.answer_waiting`).

Under gunicorn's gevent worker this is a greenlet; in a plain process, a daemon thread.
It is started by the WSGI entry point (`handoff.wsgi`), not by `create_app`, so that
tests and the CLI do not get a loop they did not ask for.
"""

from __future__ import annotations

import logging
import threading

from .bot_health import BotHealth
from .conversations import Conversations

log = logging.getLogger(__name__)


class Background:
    def __init__(self, health: BotHealth, conversations: Conversations, interval: float = 1.0) -> None:
        self.health = health
        self.conversations = conversations
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_phase = ""

    def start(self) -> Background:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-background", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def tick(self) -> None:
        """One round: check the bot, then answer (or hand over) what waits for it."""
        self.health.check()
        phase = self.health.phase()
        if phase != self._last_phase:
            log.info("the bot is %s", phase)
            self._last_phase = phase
        self.conversations.answer_waiting()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a database blip must not end the loop
                log.exception("background round failed; retrying")
