"""Getting the bot's, agents' and the hub's messages out to channels that push
(Messenger): one mechanism for all of them, whoever stored the message.

Trigger: every transaction that stores messages is followed by `events.notify`, which
also publishes on `deliveries`. One listener per hub process (`Delivery.start`, a thread;
a greenlet under gunicorn's gevent worker) takes each event and sends the conversation's
undelivered messages (`deliver_pending`), so neither `Conversations` nor the `Desk` know
about channels. Events are only wake-ups: the same listener also sweeps, every second,
the conversations with undelivered messages (`retry_pending`), so a lost event or a
failed send is picked up again.

State lives in the database, so several hub processes cooperate: `Conversation.
delivered_seq` is the last seq handed to the channel. A sender claims a conversation by
one conditional UPDATE that marks it in flight (`delivered_seq = -(from + 1)`), sends the
messages in order, then stores how far it got. Only one process sends a conversation at
a time, messages go out in order and none twice; a process that dies mid-send leaves a
claim that others take back after `STALE_CLAIM` seconds (its messages are then sent
again: at least once, never lost).

Failures (the Graph API down, a timeout) leave the messages undelivered; they are
retried with exponential backoff (1 s, 2 s, 4 s ... up to a minute), logged at WARNING,
and after `ERROR_AFTER` attempts at ERROR; `status()` tells how many conversations wait
(for /health). Messages the channel's rules forbid (`DeliveryRefused`, e.g. bot messages
more than 24 h after the customer's last one) are skipped with a WARNING in the log.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import store
from .channels.base import DeliveryRefused, OutputChannel, Recipient, outputs
from .config import HubSettings
from .db import Database
from .events import DELIVERIES_CHANNEL
from .models import Conversation, CustomerIdentity, Message, now
from .pubsub import PubSub

log = logging.getLogger(__name__)

SENT_ROLES = ("bot", "agent", "system")
STALE_CLAIM = 120.0  # seconds: a claim this old belongs to a process that died mid-send
ERROR_AFTER = 5  # failed attempts before the log says ERROR
MAX_BACKOFF = 60.0


@dataclass
class _Failing:
    attempts: int
    next_at: float
    error: str


class Delivery:
    def __init__(self, db: Database, pubsub: PubSub, channels: dict[str, OutputChannel]) -> None:
        self.db = db
        self.pubsub = pubsub
        self.channels = channels
        self.pushing = tuple(name for name, channel in channels.items() if channel.pushes)
        self._failing: dict[str, _Failing] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._channel_of: dict[str, str] = {}  # conversation id -> channel (never changes)

    # -- the listener ------------------------------------------------------------------

    def start(self) -> Delivery:
        """Listen for stored messages and retry failures, in this process (once)."""
        if self._thread is None and self.pushing:
            self._stop.clear()
            ready = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(ready,), name="hub-delivery", daemon=True)
            self._thread.start()
            ready.wait(5)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.pubsub.publish(DELIVERIES_CHANNEL, {"type": "wake_up"})  # do not wait out the sweep interval
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, ready: threading.Event) -> None:
        with self.pubsub.subscribe(DELIVERIES_CHANNEL) as events:
            ready.set()
            next_sweep = time.monotonic() + 1.0
            while not self._stop.is_set():
                event = events.get(timeout=max(0.0, next_sweep - time.monotonic()))
                try:
                    if event and event.get("conversation") and self._pushes(event["conversation"]):
                        self.deliver_pending(event["conversation"])
                    if time.monotonic() >= next_sweep:
                        self.retry_pending()
                        next_sweep = time.monotonic() + 1.0
                except Exception:  # a database blip must not end the listener
                    log.exception("delivery round failed; retrying")
                    self._stop.wait(1.0)

    def _pushes(self, conversation_id: str) -> bool:
        channel = self._channel_of.get(conversation_id)
        if channel is None:
            with self.db.transaction() as session:
                channel = session.scalar(select(Conversation.channel).where(Conversation.id == conversation_id))
            if channel is None:
                return False
            if len(self._channel_of) > 50_000:
                self._channel_of.clear()
            self._channel_of[conversation_id] = channel
        return channel in self.pushing

    # -- sending -----------------------------------------------------------------------

    def deliver_pending(self, conversation_id: str) -> bool:
        """Send the conversation's undelivered bot/agent/system messages, in order.
        True if nothing is left to send (or another process is sending them)."""
        with self.db.transaction() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.channel not in self.pushing:
                return True
            start, end = conversation.delivered_seq, conversation.last_seq
            if start < 0 or start >= end:
                return True  # in flight elsewhere, or nothing new
            claimed = session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.delivered_seq == start)
                .values(delivered_seq=-(start + 1), updated_at=now())
            ).rowcount
            if claimed != 1:
                return True
            messages = [m for m in store.messages_after(session, conversation_id, start) if m.seq <= end]
            for m in messages:
                session.expunge(m)
            recipient = _recipient(session, conversation)
        channel = self.channels[recipient.channel]
        done = start
        error: Exception | None = None
        for message in messages:
            if message.role in SENT_ROLES:
                try:
                    channel.deliver(recipient, message)
                except DeliveryRefused as exc:
                    log.warning("conversation %s: message %s not sent: %s", conversation_id, message.seq, exc)
                except Exception as exc:
                    error = exc
                    break
            done = message.seq
        with self.db.transaction() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.delivered_seq == -(start + 1))
                .values(delivered_seq=done)
            )
        if error is None:
            with self._lock:
                recovered = self._failing.pop(conversation_id, None)
            if recovered is not None:
                log.info("conversation %s: delivered after %d failed attempts", conversation_id, recovered.attempts)
            return done >= end
        self._failed(conversation_id, done + 1, error)
        return False

    def _failed(self, conversation_id: str, seq: int, error: Exception) -> None:
        with self._lock:
            state = self._failing.get(conversation_id) or _Failing(0, 0.0, "")
            state.attempts += 1
            state.error = f"{type(error).__name__}: {error}"
            backoff = min(MAX_BACKOFF, 2.0 ** (state.attempts - 1))
            state.next_at = time.monotonic() + backoff
            self._failing[conversation_id] = state
        level = logging.ERROR if state.attempts >= ERROR_AFTER else logging.WARNING
        log.log(
            level,
            "conversation %s: message %d not delivered (attempt %d: %s); retrying in %.0f s",
            conversation_id,
            seq,
            state.attempts,
            state.error,
            backoff,
        )

    def retry_pending(self) -> int:
        """Send what is still undelivered (failed sends when their backoff is over, lost
        events) and take back claims of processes that died mid-send. Returns how many
        conversations were tried."""
        if not self.pushing:
            return 0
        stale_before = now() - timedelta(seconds=STALE_CLAIM)
        with self.db.transaction() as session:
            for conversation_id, marker in session.execute(
                select(Conversation.id, Conversation.delivered_seq).where(
                    Conversation.channel.in_(self.pushing),
                    Conversation.delivered_seq < 0,
                    Conversation.updated_at < stale_before,
                )
            ).all():
                log.warning("conversation %s: taking back a delivery left in flight", conversation_id)
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id, Conversation.delivered_seq == marker)
                    .values(delivered_seq=-marker - 1)
                )
            pending = session.scalars(
                select(Conversation.id)
                .where(
                    Conversation.channel.in_(self.pushing),
                    Conversation.delivered_seq >= 0,
                    Conversation.delivered_seq < Conversation.last_seq,
                )
                .order_by(Conversation.updated_at)
                .limit(200)
            ).all()
        tried = 0
        clock = time.monotonic()
        for conversation_id in pending:
            with self._lock:
                state = self._failing.get(conversation_id)
            if state is not None and state.next_at > clock:
                continue
            tried += 1
            self.deliver_pending(conversation_id)
        return tried

    def status(self) -> dict[str, Any]:
        """For /health: conversations with undelivered messages, and this process's
        failing ones (attempts, last error)."""
        with self.db.transaction() as session:
            waiting = (
                session.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.channel.in_(self.pushing), Conversation.delivered_seq < Conversation.last_seq)
                )
                if self.pushing
                else 0
            )
        with self._lock:
            failing = {cid: {"attempts": s.attempts, "error": s.error} for cid, s in self._failing.items()}
        return {"undelivered_conversations": waiting, "failing": failing}

    # -- for the desk ------------------------------------------------------------------

    def can_reply(self, session: Session, conversation: Conversation) -> str | None:
        """Why an agent's reply could not reach this customer now (None: it can)."""
        channel = self.channels.get(conversation.channel)
        if channel is None or not channel.pushes:
            return None
        return channel.can_reply(_recipient(session, conversation))


def _recipient(session: Session, conversation: Conversation) -> Recipient:
    external_id = None
    if conversation.customer_id is not None:
        external_id = session.scalar(
            select(CustomerIdentity.external_id).where(
                CustomerIdentity.customer_id == conversation.customer_id,
                CustomerIdentity.channel == conversation.channel,
            )
        )
    last_customer_at = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation.id, Message.role == "customer"
        )
    )
    return Recipient(
        conversation.id,
        conversation.channel,
        external_id,
        store.as_utc(last_customer_at) if last_customer_at is not None else None,
    )


def init_delivery(app, hub, settings: HubSettings) -> Delivery:
    """The delivery service of this app (`app.extensions["faqbot_delivery"]`); the desk
    asks it whether a reply can reach the customer. Its listener is started by the WSGI
    entry point (or a test), like the background loop."""
    delivery = Delivery(hub.db, hub.pubsub, outputs(settings))
    hub.desk.can_reply = delivery.can_reply
    app.extensions["faqbot_delivery"] = delivery
    return delivery
