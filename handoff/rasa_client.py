"""The hub's side of Rasa's HTTP API: the REST channel for messages, the tracker for
what Rasa understood."""

from __future__ import annotations

import logging
from typing import Any

import requests

log = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa (or, behind it, the action server) could not produce a reply."""


class RasaClient:
    def __init__(self, url: str, token: str = "", timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to one message, as the REST channel returns them."""
        try:
            response = self.http.post(
                f"{self.url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=(1.0, self.timeout),
            )
            response.raise_for_status()
            replies = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise BotUnavailable(f"Rasa did not answer: {exc.__class__.__name__}") from exc
        if not isinstance(replies, list):
            raise BotUnavailable("Rasa answered with something other than a list of messages")
        return replies

    def understanding(self, sender: str) -> dict[str, Any] | None:
        """The intent and ranking Rasa gave the latest message; None if unavailable
        (the customer's reply does not depend on it)."""
        try:
            response = self.http.get(
                f"{self.url}/conversations/{sender}/tracker",
                params={"include_events": "NONE", "token": self.token},
                timeout=(3, 5),
            )
            response.raise_for_status()
            latest = response.json().get("latest_message") or {}
        except (requests.RequestException, ValueError) as exc:
            log.warning("could not read Rasa's tracker: %s", exc.__class__.__name__)
            return None
        intent = latest.get("intent") or {}
        return {
            "intent": intent.get("name"),
            "confidence": intent.get("confidence"),
            "ranking": [
                {"intent": r.get("name"), "confidence": r.get("confidence")}
                for r in (latest.get("intent_ranking") or [])[:5]
            ],
        }
