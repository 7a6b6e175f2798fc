"""Live events between hub processes: "conversation X has new messages", "the queue
changed". In-process by default; Redis when REDIS_URL is set, so that a long-poll served
by one process wakes up when another process stored the message."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import defaultdict
from typing import Any, Protocol

Event = dict[str, Any]


class Subscription(Protocol):
    def get(self, timeout: float) -> Event | None:
        """The next event, or None after `timeout` seconds."""

    def close(self) -> None: ...

    def __enter__(self) -> Subscription: ...

    def __exit__(self, *exc) -> None: ...


class PubSub(Protocol):
    def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, channel: str) -> Subscription: ...


class _Closing:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LocalSubscription(_Closing):
    def __init__(self, hub: InProcessPubSub, channel: str) -> None:
        self.hub, self.channel = hub, channel
        self.queue: queue.Queue[Event] = queue.Queue()

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub._drop(self)


class InProcessPubSub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[_LocalSubscription]] = defaultdict(set)

    def publish(self, channel: str, event: Event) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for sub in targets:
            sub.queue.put(event)

    def subscribe(self, channel: str) -> _LocalSubscription:
        sub = _LocalSubscription(self, channel)
        with self._lock:
            self._subscribers[channel].add(sub)
        return sub

    def _drop(self, sub: _LocalSubscription) -> None:
        with self._lock:
            self._subscribers[sub.channel].discard(sub)
            if not self._subscribers[sub.channel]:
                del self._subscribers[sub.channel]


class _RedisSubscription(_Closing):
    def __init__(self, client, channel: str) -> None:
        self.pubsub = client.pubsub()
        self.pubsub.subscribe(channel)
        # Wait until Redis confirms: an event published after this returns is not missed.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = self.pubsub.get_message(timeout=deadline - time.monotonic())
            if message and message.get("type") == "subscribe":
                break

    def get(self, timeout: float) -> Event | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message and message.get("type") == "message":
                return json.loads(message["data"])
        return None

    def close(self) -> None:
        self.pubsub.close()


class RedisPubSub:
    PREFIX = "faqbot:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def publish(self, channel: str, event: Event) -> None:
        self.client.publish(self.PREFIX + channel, json.dumps(event))

    def subscribe(self, channel: str) -> _RedisSubscription:
        return _RedisSubscription(self.client, self.PREFIX + channel)


def from_url(url: str) -> PubSub:
    return RedisPubSub(url) if url else InProcessPubSub()
