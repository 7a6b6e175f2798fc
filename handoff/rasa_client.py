"""The hub's side of Rasa's HTTP API: one request per customer message, to the hub's own
channel (bot/hub_channel.py), which answers with the bot's replies and what Rasa
understood of the message (intent, confidence, ranking) for the desk."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)

HUB_WEBHOOK = "/webhooks/hub/webhook"
# Connections kept open to Rasa: one gevent worker sends many messages at once, and a
# pool smaller than that opens (and throws away) a new connection for each extra one.
POOL_SIZE = 64


class BotUnavailable(Exception):
    """Rasa (or, behind it, the action server) could not produce a reply. `dependency`
    says which, for the hub's metrics (handoff/metrics.py DEPENDENCIES)."""

    def __init__(self, message: str, dependency: str = "rasa") -> None:
        super().__init__(message)
        self.dependency = dependency


@dataclass(frozen=True)
class Exchange:
    """Rasa's answer to one message."""

    replies: list[dict[str, Any]]  # as the REST channel returns them
    understood: dict[str, Any] | None  # {"intent", "confidence", "ranking"}; None if Rasa did not say


class RasaClient:
    def __init__(self, url: str, token: str = "", timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()
        self.http.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE))
        self.http.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE))

    def exchange(self, sender: str, text: str, metadata: dict[str, Any]) -> Exchange:
        """The bot's replies to one message, and what it understood of it."""
        try:
            response = self.http.post(
                f"{self.url}{HUB_WEBHOOK}",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=(1.0, self.timeout),
            )
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(f"Rasa did not answer: {exc.__class__.__name__}") from exc
        replies = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(replies, list):
            raise BotUnavailable("Rasa answered with something other than a list of messages")
        understood = body.get("understood")
        return Exchange(replies, understood if isinstance(understood, dict) else None)

    def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to one message, when what it understood does not matter."""
        return self.exchange(sender, text, metadata).replies
