"""Live events between hub processes: "conversation X has new messages", "the queue
changed". In-process by default; Redis when REDIS_URL is set, so that a long-poll served
by one process wakes up when another process stored the message.

Events are wake-ups, not the record: whoever wakes re-reads the database. So a lost
event costs a waiting client at most its long-poll timeout, and publishing never fails
the request that stored the message (the message is already committed).

Every open widget and desk holds a subscription, so a subscription must be cheap: with
Redis, each process keeps one connection with one pattern subscription and fans events
out to its local subscribers; a thousand open long-polls hold no Redis connection each.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import defaultdict
from typing import Any, Protocol

log = logging.getLogger(__name__)

Event = dict[str, Any]
WAKE_UP: Event = {"type": "wake_up"}  # "re-read now": a reconnect, a shutdown


class Subscription(Protocol):
    def get(self, timeout: float) -> Event | None:
        """The next event, or None after `timeout` seconds."""

    def close(self) -> None: ...

    def __enter__(self) -> Subscription: ...

    def __exit__(self, *exc) -> None: ...


class PubSub(Protocol):
    def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, *channels: str) -> Subscription:
        """Events of any of `channels`, in one queue (a desk follows the queue and the
        conversation it has open)."""

    def wake_all(self) -> None:
        """Wake every waiting subscriber of this process (shutdown: let long-polls answer)."""

    def subscriber_count(self) -> int:
        """Open subscriptions in this process: the live connections it holds."""

    def close(self) -> None: ...


class _LocalSubscription:
    def __init__(self, hub: InProcessPubSub, channels: tuple[str, ...]) -> None:
        self.hub, self.channels = hub, channels
        self.queue: queue.Queue[Event] = queue.Queue()

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub._drop(self)

    def __enter__(self) -> _LocalSubscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class InProcessPubSub:
    """Subscribers of this process, by channel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[_LocalSubscription]] = defaultdict(set)

    def publish(self, channel: str, event: Event) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for sub in targets:
            sub.queue.put(event)

    def subscribe(self, *channels: str) -> _LocalSubscription:
        sub = _LocalSubscription(self, channels)
        with self._lock:
            for channel in channels:
                self._subscribers[channel].add(sub)
        return sub

    def wake_all(self) -> None:
        with self._lock:
            targets = {sub for subs in self._subscribers.values() for sub in subs}
        for sub in targets:
            sub.queue.put(WAKE_UP)

    def subscriber_count(self) -> int:
        with self._lock:
            return len({sub for subs in self._subscribers.values() for sub in subs})

    def close(self) -> None:
        self.wake_all()

    def _drop(self, sub: _LocalSubscription) -> None:
        with self._lock:
            for channel in sub.channels:
                subs = self._subscribers.get(channel)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subscribers[channel]


class RedisPubSub:
    """Publishes through Redis; one background listener per process, subscribed to
    every faqbot channel, hands events to the local subscribers.

    The pattern subscription is in place before the constructor returns, so an event
    published after `subscribe()` returns is never missed while Redis is up. If the
    connection drops, the listener reconnects with backoff and wakes every local
    subscriber once it is back, so nobody sleeps through what was published meanwhile.
    """

    PREFIX = "faqbot:"
    CONNECT_WAIT = 5.0  # seconds the constructor waits for the first subscription

    def __init__(self, url: str) -> None:
        import redis

        self._errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.local = InProcessPubSub()
        self._subscribed = threading.Event()
        self._closed = threading.Event()
        self._ever_subscribed = False
        self._thread = threading.Thread(target=self._listen, name="redis-events", daemon=True)
        self._thread.start()
        if not self._subscribed.wait(self.CONNECT_WAIT):
            log.error("Redis at %s is not answering: live events wait for it (long-polls fall back to timeouts)", url)

    def publish(self, channel: str, event: Event) -> None:
        try:
            self.client.publish(self.PREFIX + channel, json.dumps(event))
        except self._errors as exc:
            log.warning("live event on %s not published (Redis: %s); waiting clients re-read on timeout", channel, exc)

    def subscribe(self, *channels: str) -> _LocalSubscription:
        return self.local.subscribe(*channels)

    def wake_all(self) -> None:
        self.local.wake_all()

    def subscriber_count(self) -> int:
        return self.local.subscriber_count()

    def close(self) -> None:
        self._closed.set()
        self.local.wake_all()
        self._thread.join(timeout=3)
        self.client.close()

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set()

    def _listen(self) -> None:
        backoff = 0.2
        while not self._closed.is_set():
            pubsub = self.client.pubsub()
            try:
                pubsub.psubscribe(self.PREFIX + "*")
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        self._on_subscribed()
                        backoff = 0.2
                    elif message["type"] == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except self._errors as exc:
                if not self._closed.is_set():
                    log.warning("Redis listener lost its connection (%s); retrying in %.1f s", exc, backoff)
            finally:
                self._subscribed.clear()
                pubsub.close()
            self._closed.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_subscribed(self) -> None:
        if self._ever_subscribed:  # a reconnect: events may have been missed meanwhile
            self.local.wake_all()
        self._ever_subscribed = True
        self._subscribed.set()

    def _dispatch(self, raw_channel: bytes, data: bytes) -> None:
        try:
            channel = raw_channel.decode()[len(self.PREFIX) :]
            event = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            log.warning("ignored a malformed live event on %r", raw_channel)
            return
        self.local.publish(channel, event)


def from_url(url: str) -> PubSub:
    return RedisPubSub(url) if url else InProcessPubSub()
