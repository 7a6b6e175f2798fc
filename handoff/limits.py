"""Rate limits: one Flask-Limiter for the whole hub (the desk's failed logins and the
public customer API), counting in memory, or in Redis when REDIS_URL is set so that
several hub processes share the counts.

The customer API's limits (`init_limits`):
- starting a conversation: `RATE_LIMIT_NEW_CONVERSATIONS` per client address (default
  10 per minute and 100 per hour);
- customer messages: `RATE_LIMIT_MESSAGES` per conversation (default 20 per minute).
"off" (or an empty value) switches a limit off. Past a limit the answer is 429, JSON
`{"error"}` with `Retry-After`. Limits are checked before the view runs: a refused
message is never stored, and everything accepted earlier stays as it was.

Client addresses: behind reverse proxies, set `TRUSTED_PROXIES` to how many of them
append to `X-Forwarded-For` (else every customer has the proxy's address and shares its
limits); with 0 (the default) the header is ignored, as a client could forge it.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

EXTENSION = "faqbot_limiter"
NEW_CONVERSATION_ENDPOINT = "web_channel.start_conversation"
MESSAGE_ENDPOINT = "web_channel.post_message"


def client_address() -> str:
    return request.remote_addr or "unknown"


def limiter(app: Flask) -> Limiter:
    """The app's one Limiter, made on first use (storage: `settings.redis_url` or memory)."""
    existing = app.extensions.get(EXTENSION)
    if existing is not None:
        return existing
    settings = app.extensions["faqbot"].settings
    redis_url = settings.redis_url
    made = Limiter(
        key_func=client_address,
        storage_uri=redis_url or "memory://",
        in_memory_fallback_enabled=bool(redis_url),  # Redis down: count in this process meanwhile
        key_prefix="faqbot",
        strategy="fixed-window",
    )
    made.init_app(app)
    app.extensions[EXTENSION] = made
    if settings.trusted_proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)
    return made


def init_limits(app: Flask) -> None:
    """The customer API's limits, on the web channel's blueprint (registered already)."""
    settings = app.extensions["faqbot"].settings
    shared = limiter(app)
    blueprint = app.blueprints["web_channel"]
    if enabled(settings.rate_limit_new_conversations):
        shared.limit(
            settings.rate_limit_new_conversations,
            key_func=lambda: f"new|{client_address()}",
            methods=["POST"],
            exempt_when=lambda: request.endpoint != NEW_CONVERSATION_ENDPOINT,
            error_message="too many new conversations from this address",
        )(blueprint)
    if enabled(settings.rate_limit_messages):
        shared.limit(
            settings.rate_limit_messages,
            key_func=lambda: f"messages|{(request.view_args or {}).get('conversation_id', '')}",
            methods=["POST"],
            exempt_when=lambda: request.endpoint != MESSAGE_ENDPOINT,
            error_message="too many messages in this conversation",
        )(blueprint)
    app.errorhandler(RateLimitExceeded)(too_many_requests)


def enabled(limit: str) -> bool:
    """Whether a limit setting is on; a malformed one stops the hub at start (not at
    every request)."""
    if not limit.strip() or limit.strip().lower() in ("off", "0", "none"):
        return False
    try:
        parse_many(limit)
    except ValueError:
        raise ValueError(f"not a rate limit: {limit!r} (e.g. '10 per minute; 100 per hour', or 'off')") from None
    return True


def retry_after() -> int:
    """Seconds until the breached limit's window ends (at least 1)."""
    shared = current_app.extensions.get(EXTENSION)
    limit = shared.current_limit if shared is not None else None
    return max(1, int(limit.reset_at - time.time()) + 1) if limit is not None else 60


def too_many_requests(exc: RateLimitExceeded):
    """429 JSON with Retry-After; the desk's login form answers its own way."""
    if request.path == "/desk" or request.path.startswith("/desk/"):
        from .desk.auth import too_many_attempts

        return too_many_attempts(exc)
    seconds = retry_after()
    message = exc.description if isinstance(exc.description, str) and exc.description else "too many requests"
    response = jsonify(error=f"{message}: try again in {seconds} s")
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response
