"""Hub settings, from the environment (secrets never live in the repository)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from knowledge.settings import PROJECT_ROOT

DEFAULT_DATABASE = PROJECT_ROOT / "var" / "faqbot.db"


def database_url(raw: str | None = None) -> str:
    """SQLite under var/ by default; `postgresql://` URLs get the psycopg 3 driver."""
    url = raw or os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class HubSettings:
    database_url: str
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""  # Rasa's --auth-token, for its tracker API
    rasa_timeout: float = 20.0  # seconds; a reply slower than this counts as the bot being down
    redis_url: str = ""  # empty: live events stay inside this process
    default_language: str = "pl"
    languages: tuple[str, ...] = ("pl", "en")  # what the bot's texts and the FAQ are written in
    max_message_length: int = 2000
    long_poll_max: float = 25.0  # seconds a GET ...?wait= may hold

    @classmethod
    def from_env(cls, **overrides) -> HubSettings:
        env = os.environ
        values = {
            "database_url": database_url(),
            "rasa_url": env.get("RASA_URL", cls.rasa_url).rstrip("/"),
            "rasa_token": env.get("RASA_TOKEN", ""),
            "rasa_timeout": float(env.get("RASA_TIMEOUT", cls.rasa_timeout)),
            "redis_url": env.get("REDIS_URL", ""),
            "default_language": env.get("FAQBOT_DEFAULT_LANGUAGE", cls.default_language),
        }
        values.update(overrides)
        return cls(**values)
