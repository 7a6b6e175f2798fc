"""`GET /desk/api/events`: the desk's live updates, as server-sent events.

Each open desk holds one stream, subscribed to the queue's channel and, with
`?conversation=<id>`, to that conversation's messages and notes. It forwards wake-ups
only (`event: queue`, `event: messages`, `event: notes`, data `{"conversation": id}`):
the page re-reads what changed through the JSON API, so a lost event costs nothing
but a late refresh, and nothing here reads the database per event.

The stream writes a comment every 15 s: proxies keep it open, and a desk that has gone
away is noticed at the next write. Presence (`last_seen_at`) is written at most every
15 s while it is open; the stream ends when the agent's session does (expired,
deactivated, password changed) and when the hub shuts down.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, request, session

from .. import hub
from ..accounts import PRESENCE_INTERVAL
from ..api.errors import ApiError
from ..events import QUEUE_CHANNEL, conversation_channel
from ..pubsub import Event, Subscription
from .auth import current_agent
from .service import notes_channel

blueprint = Blueprint("desk_events", __name__, url_prefix="/desk/api")
KEEP_ALIVE = 15.0  # seconds between comments on a quiet stream
RETRY_MS = 3000  # how soon a browser reconnects a dropped stream
FORWARDED = ("queue", "messages", "notes")


@blueprint.get("/events")
def events() -> Response:
    agent = current_agent()
    if agent is None:
        raise ApiError(401, "log in to the desk first")
    conversation_id = request.args.get("conversation") or None
    if conversation_id is not None and len(conversation_id) > 64:
        raise ApiError(400, "'conversation' must be a conversation's id")
    services = hub()
    channels = [QUEUE_CHANNEL]
    if conversation_id:
        channels += [conversation_channel(conversation_id), notes_channel(conversation_id)]
    # Subscribed before the response starts: nothing published from now on is missed.
    subscription = services.pubsub.subscribe(*channels)
    services.accounts.touch(agent.id)
    session_ends = session["since"] + services.settings.session_hours * 3600
    stream = Stream(services, subscription, agent.id, agent.session_version, session_ends, conversation_id)
    response = Response(stream.events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    response.call_on_close(subscription.close)  # also when the stream never started
    return response


class Stream:
    """One desk's event stream (runs outside the request: everything it needs is given)."""

    def __init__(
        self,
        services,
        subscription: Subscription,
        agent_id: int,
        session_version: str,
        session_ends: float,
        conversation_id: str | None,
    ) -> None:
        self.services = services
        self.subscription = subscription
        self.agent_id = agent_id
        self.session_version = session_version
        self.session_ends = session_ends
        self.conversation_id = conversation_id
        self.presence_written = time.monotonic()

    def events(self) -> Iterator[str]:
        closing = self.services.conversations.closing
        try:
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            while not closing.is_set():
                event = self.subscription.get(KEEP_ALIVE)
                if closing.is_set() or not self._session_lasts():
                    return
                if event is None:
                    yield ": keep-alive\n\n"
                else:
                    yield from self._forward(event)
        finally:
            self.subscription.close()

    def _forward(self, event: Event) -> Iterator[str]:
        kind = event.get("type")
        if kind in FORWARDED:
            yield _sse(kind, {"conversation": event.get("conversation")})
        elif kind == "wake_up":  # e.g. Redis reconnected: events may have been missed, re-read everything
            yield _sse("queue", {"conversation": None})
            if self.conversation_id:
                yield _sse("messages", {"conversation": self.conversation_id})

    def _session_lasts(self) -> bool:
        """False once the session has expired or the agent was deactivated or changed
        its password; checked with the presence write, at most every 15 s."""
        if time.time() >= self.session_ends:
            return False
        if time.monotonic() - self.presence_written < PRESENCE_INTERVAL:
            return True
        self.presence_written = time.monotonic()
        account = self.services.accounts.touch(self.agent_id)
        return account is not None and account.session_version == self.session_version


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"
