"""Live events (handoff/pubsub.py): the in-process implementation and the Redis one
behave the same."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from handoff.pubsub import InProcessPubSub, RedisPubSub, from_url


@pytest.fixture(params=["in-process", "redis"])
def pubsub(request):
    if request.param == "in-process":
        yield InProcessPubSub()
        return
    bus = RedisPubSub(request.getfixturevalue("redis_url"))
    yield bus
    bus.close()


def channel() -> str:
    """A fresh channel name: Redis is shared between tests."""
    return f"test:{uuid.uuid4().hex}"


def timed_get(subscription, timeout: float):
    started = time.monotonic()
    event = subscription.get(timeout=timeout)
    return event, time.monotonic() - started


def test_from_url_picks_the_implementation(redis_url):
    assert isinstance(from_url(""), InProcessPubSub)
    bus = from_url(redis_url)
    assert isinstance(bus, RedisPubSub)
    bus.close()


def test_subscriber_receives_events_of_its_channel(pubsub):
    name = channel()
    with pubsub.subscribe(name) as events:
        pubsub.publish(name, {"type": "messages", "conversation": "c1", "n": 1})
        pubsub.publish(name, {"type": "queue", "conversation": "c1", "n": 2})
        assert events.get(timeout=2) == {"type": "messages", "conversation": "c1", "n": 1}
        assert events.get(timeout=2) == {"type": "queue", "conversation": "c1", "n": 2}


def test_every_subscriber_of_a_channel_receives_the_event(pubsub):
    name = channel()
    with pubsub.subscribe(name) as first, pubsub.subscribe(name) as second:
        pubsub.publish(name, {"n": 1})
        assert first.get(timeout=2) == {"n": 1}
        assert second.get(timeout=2) == {"n": 1}


def test_subscriber_does_not_receive_other_channels(pubsub):
    mine, other = channel(), channel()
    with pubsub.subscribe(mine) as events:
        pubsub.publish(other, {"n": "other"})
        assert events.get(timeout=0.3) is None
        pubsub.publish(mine, {"n": "mine"})
        assert events.get(timeout=2) == {"n": "mine"}


def test_events_published_before_subscribing_are_not_delivered():
    """In-process only: through Redis an event still in flight may reach a subscription
    made just after it was published (a spurious wake-up; long-polls re-read and wait on)."""
    pubsub = InProcessPubSub()
    name = channel()
    pubsub.publish(name, {"n": "early"})
    with pubsub.subscribe(name) as events:
        assert events.get(timeout=0.3) is None
        pubsub.publish(name, {"n": "late"})
        assert events.get(timeout=2) == {"n": "late"}


def test_get_returns_none_after_about_the_timeout(pubsub):
    with pubsub.subscribe(channel()) as events:
        event, elapsed = timed_get(events, 0.5)
    assert event is None
    assert 0.45 <= elapsed < 1.5


def test_close_stops_delivery(pubsub):
    name = channel()
    events = pubsub.subscribe(name)
    events.close()
    pubsub.publish(name, {"n": 1})
    assert events.get(timeout=0.3) is None


def test_leaving_the_with_block_unsubscribes(pubsub):
    name = channel()
    with pubsub.subscribe(name) as events:
        pass
    pubsub.publish(name, {"n": 1})
    assert events.get(timeout=0.3) is None


def test_closing_one_subscription_keeps_the_others(pubsub):
    name = channel()
    with pubsub.subscribe(name) as staying:
        leaving = pubsub.subscribe(name)
        leaving.close()
        pubsub.publish(name, {"n": 1})
        assert staying.get(timeout=2) == {"n": 1}
        assert leaving.get(timeout=0.3) is None


def test_closing_twice_is_harmless(pubsub):
    name = channel()
    events = pubsub.subscribe(name)
    events.close()
    events.close()
    with pubsub.subscribe(name) as again:
        pubsub.publish(name, {"n": 1})
        assert again.get(timeout=2) == {"n": 1}


def test_a_thousand_subscriptions_hold_one_redis_subscription(redis_url):
    """Every open widget and desk holds a subscription: they must not cost a Redis
    connection each."""
    bus = RedisPubSub(redis_url)
    before = bus.client.pubsub_numpat()
    names = [channel() for _ in range(1000)]
    subscriptions = [bus.subscribe(name) for name in names]
    try:
        assert bus.client.pubsub_numpat() == before
        bus.publish(names[500], {"n": 500})
        assert subscriptions[500].get(timeout=2) == {"n": 500}
        assert subscriptions[499].get(timeout=0.1) is None
    finally:
        for subscription in subscriptions:
            subscription.close()
        bus.close()
    assert bus.local.subscriber_count() == 0


def test_one_subscription_follows_several_channels(pubsub):
    queue, conversation, other = channel(), channel(), channel()
    with pubsub.subscribe(queue, conversation) as events:
        pubsub.publish(other, {"n": "other"})
        pubsub.publish(queue, {"n": "queue"})
        pubsub.publish(conversation, {"n": "conversation"})
        assert [events.get(timeout=2), events.get(timeout=2)] == [{"n": "queue"}, {"n": "conversation"}]
        assert events.get(timeout=0.3) is None
    assert pubsub.subscriber_count() == 0


def test_wake_all_wakes_every_waiting_subscriber(pubsub):
    with pubsub.subscribe(channel()) as first, pubsub.subscribe(channel()) as second:
        pubsub.wake_all()
        assert first.get(timeout=2) == {"type": "wake_up"}
        assert second.get(timeout=2) == {"type": "wake_up"}


def test_publishing_while_redis_is_unreachable_does_not_raise(monkeypatch):
    """The message is already stored when its event is published: an outage of Redis
    must not turn that into an error for the customer."""
    from .test_hub_api import free_port

    monkeypatch.setattr(RedisPubSub, "CONNECT_WAIT", 0.5)
    bus = RedisPubSub(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert not bus.connected
        bus.publish(channel(), {"n": 1})
    finally:
        bus.close()


def test_event_from_another_thread_wakes_a_waiting_get(pubsub):
    name = channel()
    with pubsub.subscribe(name) as events:
        publisher = threading.Timer(0.3, pubsub.publish, args=(name, {"n": "woken"}))
        publisher.start()
        try:
            event, elapsed = timed_get(events, 10)
        finally:
            publisher.cancel()
            publisher.join()  # its PUBLISH reply may still be in flight: let it land before teardown
    assert event == {"n": "woken"}
    assert 0.2 <= elapsed < 3


def test_redis_delivers_between_separate_clients(redis_url):
    """Two hub processes: one publishes, the other's long-poll wakes up."""
    publisher, subscriber = RedisPubSub(redis_url), RedisPubSub(redis_url)
    name = channel()
    with subscriber.subscribe(name) as events:
        publisher.publish(name, {"type": "messages", "conversation": "ź-ł"})
        assert events.get(timeout=2) == {"type": "messages", "conversation": "ź-ł"}
    publisher.close()
    subscriber.close()
