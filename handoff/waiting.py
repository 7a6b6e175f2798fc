"""Where a queued customer stands: their place in the queue and how long they may wait.

The estimate comes from how long recent customers waited for an agent to take their
conversation (the median of `claimed_at - created_at` over the last RECENT_HANDOFFS
claimed handoffs of the last RECENT_DAYS days; the median, so that one conversation
forgotten overnight does not inflate it), times the customer's place in the queue.
With fewer than MIN_HISTORY such handoffs there is no estimate, and the customer is told
so rather than given a number made up from one or two waits.

One bounded query (LIMIT RECENT_HANDOFFS), so asking on every long-poll wake-up stays cheap.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import store
from .models import Conversation, Handoff, now

RECENT_HANDOFFS = 20
RECENT_DAYS = 7
MIN_HISTORY = 5


@dataclass(frozen=True)
class Standing:
    """A queued conversation's place, as the customer API shows it."""

    position: int
    expected_wait_seconds: int | None  # None: too little history, or nobody answers live (a ticket)

    def as_json(self) -> dict[str, int | None]:
        return {"position": self.position, "expected_wait_seconds": self.expected_wait_seconds}


def typical_wait(session: Session) -> float | None:
    """Median seconds recent customers waited until an agent took their conversation;
    None with too little history to say."""
    since = now() - timedelta(days=RECENT_DAYS)
    rows = session.execute(
        select(Handoff.created_at, Handoff.claimed_at)
        .where(Handoff.claimed_at.is_not(None), Handoff.claimed_at >= since)
        .order_by(Handoff.claimed_at.desc())
        .limit(RECENT_HANDOFFS)
    ).all()
    waits = [max(0.0, (store.as_utc(claimed) - store.as_utc(created)).total_seconds()) for created, claimed in rows]
    if len(waits) < MIN_HISTORY:
        return None
    return statistics.median(waits)


def expected_wait(typical: float | None, position: int) -> int | None:
    """Seconds for the customer at `position`: each one ahead is taken in about the
    typical wait (a simple model; it is said as "about" and updates as the queue moves)."""
    if typical is None:
        return None
    return round(typical * position)


def standing(session: Session, conversation: Conversation) -> Standing | None:
    """The conversation's place in the queue and expected wait; None unless queued.
    A ticket (nobody answers live) has a place but no estimate."""
    if conversation.status != "queued" or conversation.queued_at is None:
        return None
    position = store.queue_position(session, conversation)
    if conversation.ticket:
        return Standing(position, None)
    return Standing(position, expected_wait(typical_wait(session), position))
