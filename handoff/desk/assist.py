"""Agent assist: the FAQ entries that best answer what the customer asked, found by the
action server (it holds the knowledge base and the embedding model; the hub holds
neither). A desk without suggestions still works, so any failure is an empty list."""

from __future__ import annotations

import logging
from typing import Any

import requests

log = logging.getLogger(__name__)

TIMEOUT = 2.0  # seconds: suggestions are useful while the agent types, not later
FIELDS = ("id", "title", "answer", "score", "language")


class Assist:
    def __init__(self, actions_url: str, timeout: float = TIMEOUT) -> None:
        self.actions_url = actions_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def suggestions(self, text: str, language: str | None = None, k: int = 3) -> list[dict[str, Any]]:
        """Up to `k` entries for `text`, best first: [{"id", "title", "answer", "score", "language"}]."""
        if not self.actions_url or not text.strip():
            return []
        params = {"q": text, "k": k, **({"language": language} if language else {})}
        try:
            response = self.http.get(f"{self.actions_url}/search", params=params, timeout=self.timeout)
            response.raise_for_status()
            results = response.json()["results"]
            return [{key: item[key] for key in FIELDS} for item in results[:k]]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.info("no suggestions from the action server (%s)", exc.__class__.__name__)
            return []
