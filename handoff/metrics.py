"""What operations watch, in the Prometheus format (served by handoff/api/metrics.py).

Two kinds of figures:
- read from the database when Prometheus scrapes (`HubCollector`): conversations by
  state and the queue. One GROUP BY over an indexed column, so every hub process reports
  the same numbers and nothing has to be kept in step in memory;
- counted in the process as things happen: how long customers wait for the bot's reply
  (by what the bot decided) and failures of the parts the hub depends on.

Counters live in each process. The hub runs one gunicorn worker by default; with more
(HUB_WORKERS), handoff/gunicorn_conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh folder
before the workers start, and a scrape of any worker adds up all of them
(prometheus_client's multiprocess mode, which leaves out per-process metrics such as
memory and CPU).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import func, select

from .models import STATUSES, Conversation, now
from .store import as_utc, seconds_since

if TYPE_CHECKING:
    from .bot_health import BotHealth
    from .bot_replies import BotTurn
    from .db import Database
    from .models import Message

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus server reads
DEPENDENCIES = ("rasa", "action_server", "database")
# What the bot did with a message: the retrieval's decision, or what else it said. A fixed
# set, so that a new kind of reply cannot create unbounded label values.
DECISIONS = ("answer", "clarify", "fallback", "chosen", "handoff", "small_talk")
# From an instant FAQ answer to a message that waited for a bot being restarted.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0, 30.0, 60.0, 300.0)

BOT_REPLY_SECONDS = Histogram(
    "faqbot_bot_reply_seconds",
    "Seconds from a customer's message to the bot's stored reply, by what the bot decided.",
    ["decision"],
    buckets=REPLY_BUCKETS,
)
DEPENDENCY_ERRORS = Counter(
    "faqbot_dependency_errors",
    "Failed calls to the parts the hub depends on: Rasa, the action server, the database.",
    ["dependency"],
)
for _dependency in DEPENDENCIES:  # present at 0 from the start, so that rate() sees the first one
    DEPENDENCY_ERRORS.labels(_dependency)
for _decision in DECISIONS:
    BOT_REPLY_SECONDS.labels(_decision)


def dependency_error(dependency: str) -> None:
    DEPENDENCY_ERRORS.labels(dependency if dependency in DEPENDENCIES else "rasa").inc()


def observe_reply(turn: BotTurn, customer_message: Message | None) -> None:
    """The customer's wait for this reply: from their stored message to now (a message
    that waited for the bot counts its whole wait, as the customer saw it)."""
    if customer_message is None or customer_message.created_at is None:
        return  # the bot spoke first (a rating asked after an agent resolved): nobody waited
    seconds = (now() - as_utc(customer_message.created_at)).total_seconds()
    BOT_REPLY_SECONDS.labels(decision_of(turn)).observe(max(0.0, seconds))


def decision_of(turn: BotTurn) -> str:
    for message in turn.messages:
        decision = (message.retrieval or {}).get("decision")
        if decision in DECISIONS:
            return "handoff" if turn.handoff_reason else decision
    if turn.handoff_reason:
        return "handoff"
    if any(message.source for message in turn.messages):
        return "chosen"  # an entry picked from the clarification buttons
    return "small_talk"  # greetings, thanks, ratings


class HubCollector:
    """Gauges read from the database at scrape time, and whether the bot is up (the
    hub's cached view of it, kept fresh by its background loop)."""

    def __init__(self, db: Database, health: BotHealth | None = None) -> None:
        self.db = db
        self.health = health

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "faqbot_dependency_up", "1 if the part answers, as the hub sees it.", labels=["dependency"]
        )
        try:
            yield from self._conversations()
            up.add_metric(["database"], 1)
        except Exception as exc:  # a scrape during an outage still answers, and says so
            log.warning("metrics: the database did not answer: %s", exc.__class__.__name__)
            dependency_error("database")
            up.add_metric(["database"], 0)
        if self.health is not None:
            state = self.health.state()
            up.add_metric(["rasa"], int(state.rasa.ok))
            up.add_metric(["action_server"], int(state.actions.ok))
        yield up

    def _conversations(self) -> Iterator[Metric]:
        with self.db.transaction() as session:
            counts = dict(
                session.execute(select(Conversation.status, func.count()).group_by(Conversation.status)).all()
            )
            oldest = session.scalar(select(func.min(Conversation.queued_at)).where(Conversation.status == "queued"))
        by_state = GaugeMetricFamily("faqbot_conversations", "Conversations by state.", labels=["state"])
        for state in sorted(set(STATUSES) | set(counts)):
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        yield GaugeMetricFamily(
            "faqbot_queue_length", "Conversations waiting for an agent.", value=counts.get("queued", 0)
        )
        wait = 0.0
        if oldest is not None:
            wait = max(0.0, seconds_since(oldest))
        yield GaugeMetricFamily(
            "faqbot_queue_oldest_wait_seconds",
            "How long the longest-waiting queued conversation has waited.",
            value=wait,
        )


class _ThisProcess:
    """The default registry's metrics (ours, and the client's process, platform and GC
    metrics), forwarded into a scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape_registry(db: Database, health: BotHealth | None = None) -> CollectorRegistry:
    """What one scrape reports: the database's gauges, and the counters of this process,
    or of every worker in multiprocess mode."""
    registry = CollectorRegistry()
    registry.register(HubCollector(db, health))  # first: a database error it meets is in this scrape's counts
    if multiprocess():
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    return registry


def render(db: Database, health: BotHealth | None = None) -> bytes:
    return generate_latest(scrape_registry(db, health))
