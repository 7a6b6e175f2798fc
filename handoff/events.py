"""The live events the hub publishes, and their channels: a conversation's long-poll
wakes on `conversation:<id>`; the agents' view of the queue follows `queue`."""

from __future__ import annotations

from .pubsub import PubSub

QUEUE_CHANNEL = "queue"
# Every conversation's news, for the delivery listener (handoff/delivery.py): it sends
# new messages out through channels that push (Messenger).
DELIVERIES_CHANNEL = "deliveries"


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def notify(pubsub: PubSub, conversation_id: str, queue_changed: bool = False) -> None:
    """Tell whoever waits that the conversation has news (and the queue, if it changed)."""
    pubsub.publish(conversation_channel(conversation_id), {"type": "messages", "conversation": conversation_id})
    pubsub.publish(DELIVERIES_CHANNEL, {"type": "messages", "conversation": conversation_id})
    if queue_changed:
        pubsub.publish(QUEUE_CHANNEL, {"type": "queue", "conversation": conversation_id})
