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
    # The desk. The secret signs session cookies: from FAQBOT_SECRET_KEY, else kept in
    # var/secret_key (made on first use) so that every hub process agrees on it.
    secret_key: str = ""
    session_hours: float = 8.0  # a desk session ends after this long
    cookie_secure: bool = False  # True behind HTTPS: session cookies only over TLS
    presence_timeout: float = 60.0  # an agent whose desk has not been heard from for this long is offline
    # When agents answer live: "" is always; else e.g. "mon-fri 08:00-18:00; sat 09:00-14:00",
    # in `timezone`. Outside them (or with no agent online) an escalation becomes a ticket.
    business_hours: str = ""
    timezone: str = "Europe/Warsaw"
    drafts_dir: str = str(PROJECT_ROOT / "data" / "faq-drafts")  # "Save as FAQ draft" writes here
    # Facebook Messenger (handoff/channels/messenger.py). The app secret checks webhook
    # signatures (no secret: every POST is refused); the verify token answers Facebook's
    # webhook verification; the page token sends through the Send API at graph_url.
    messenger_app_secret: str = ""
    messenger_verify_token: str = ""
    messenger_page_token: str = ""
    messenger_graph_url: str = "https://graph.facebook.com/v21.0"
    # The public customer API (the website widget). Origins allowed to call it from a
    # browser (CORS), besides the hub's own: full origins such as "https://shop.example";
    # "*" allows any site (not recommended). Limits ("10 per minute; 100 per hour"
    # syntax, "off" to switch one off): new conversations per client address, customer
    # messages per conversation. trusted_proxies: reverse proxies in front of the hub
    # that append to X-Forwarded-For (0: the header is ignored).
    widget_origins: tuple[str, ...] = ()
    rate_limit_new_conversations: str = "10 per minute; 100 per hour"
    rate_limit_messages: str = "20 per minute"
    trusted_proxies: int = 0
    # GET /metrics (Prometheus): allowed with `Authorization: Bearer <metrics_token>` (empty:
    # no token works) or from an address in metrics_networks (CIDRs; empty: none).
    metrics_token: str = ""
    metrics_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    # Surveys: after the rating (CSAT), ask "how likely are you to recommend us, 0-10" (NPS).
    nps_enabled: bool = False

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
        values.update(_desk_settings(env))
        values.update(_messenger_settings(env))
        values.update(_public_api_settings(env))
        values.update(_metrics_settings(env))
        if env.get("FAQBOT_LANGUAGES"):  # the same setting as the knowledge base's
            values["languages"] = parse_languages(env["FAQBOT_LANGUAGES"])
        values.update(overrides)
        return cls(**values)


def _desk_settings(env) -> dict:
    from knowledge.settings import project_path

    values: dict = {}
    if env.get("FAQBOT_SECRET_KEY"):
        values["secret_key"] = env["FAQBOT_SECRET_KEY"]
    if env.get("DESK_SESSION_HOURS"):
        values["session_hours"] = float(env["DESK_SESSION_HOURS"])
    if env.get("DESK_COOKIE_SECURE"):
        values["cookie_secure"] = env["DESK_COOKIE_SECURE"].lower() in ("1", "true", "yes")
    if env.get("PRESENCE_TIMEOUT"):
        values["presence_timeout"] = float(env["PRESENCE_TIMEOUT"])
    if "BUSINESS_HOURS" in env:
        values["business_hours"] = env["BUSINESS_HOURS"]
    if env.get("FAQBOT_TIMEZONE"):
        values["timezone"] = env["FAQBOT_TIMEZONE"]
    if env.get("FAQBOT_DRAFTS_DIR"):
        values["drafts_dir"] = str(project_path(env["FAQBOT_DRAFTS_DIR"]))
    return values


def _public_api_settings(env) -> dict:
    values: dict = {}
    if "WIDGET_ORIGINS" in env:
        values["widget_origins"] = tuple(o.strip().rstrip("/") for o in env["WIDGET_ORIGINS"].split(",") if o.strip())
    if "RATE_LIMIT_NEW_CONVERSATIONS" in env:
        values["rate_limit_new_conversations"] = env["RATE_LIMIT_NEW_CONVERSATIONS"]
    if "RATE_LIMIT_MESSAGES" in env:
        values["rate_limit_messages"] = env["RATE_LIMIT_MESSAGES"]
    if env.get("TRUSTED_PROXIES"):
        values["trusted_proxies"] = int(env["TRUSTED_PROXIES"])
    return values


def _messenger_settings(env) -> dict:
    return {
        "messenger_app_secret": env.get("MESSENGER_APP_SECRET", ""),
        "messenger_verify_token": env.get("MESSENGER_VERIFY_TOKEN", ""),
        "messenger_page_token": env.get("MESSENGER_PAGE_TOKEN", ""),
        "messenger_graph_url": (env.get("MESSENGER_GRAPH_URL") or HubSettings.messenger_graph_url).rstrip("/"),
    }


def _metrics_settings(env) -> dict:
    values: dict = {"metrics_token": env.get("METRICS_TOKEN", "")}
    if "METRICS_NETWORKS" in env:
        values["metrics_networks"] = tuple(n.strip() for n in env["METRICS_NETWORKS"].split(",") if n.strip())
    if env.get("NPS_ENABLED"):
        values["nps_enabled"] = env["NPS_ENABLED"].lower() in ("1", "true", "yes")
    return values
