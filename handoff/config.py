"""Hub settings, from the environment (secrets never live in the repository)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from knowledge.settings import PROJECT_ROOT, parse_languages

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
    actions_url: str = "http://127.0.0.1:5055"  # the action server, for /health and readiness; "": unchecked
    # A FAQ reply takes well under a second: a bot silent for this long has stalled, and the
    # customer is told so instead of staring at a typing indicator.
    rasa_timeout: float = 6.0
    # While the bot is away, customers' messages wait for it (with a notice) instead of
    # going to the human queue: up to bot_start_max seconds while it has not been ready
    # since this hub started (Rasa loads its model in 20-50 s), bot_wait_max after that
    # (the launcher restarts a crashed part). Past that, agents take over. 0: at once.
    bot_start_max: float = 300.0
    bot_wait_max: float = 60.0
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
            "actions_url": env.get("ACTIONS_URL", cls.actions_url).rstrip("/"),
            "rasa_timeout": float(env.get("RASA_TIMEOUT", cls.rasa_timeout)),
            "bot_start_max": float(env.get("BOT_START_MAX", cls.bot_start_max)),
            "bot_wait_max": float(env.get("BOT_WAIT_MAX", cls.bot_wait_max)),
            "redis_url": env.get("REDIS_URL", ""),
            "default_language": env.get("FAQBOT_DEFAULT_LANGUAGE", cls.default_language),
        }
        if env.get("FAQBOT_LANGUAGES"):  # the same setting as the knowledge base's
            values["languages"] = parse_languages(env["FAQBOT_LANGUAGES"])
        values.update(overrides)
        return cls(**values)
