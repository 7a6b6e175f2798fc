"""The report's figures (handoff/reports/figures.py) on a small history whose answers are
worked out by hand below, on SQLite and PostgreSQL: volume and containment, hand-overs
by reason, FCR, the four times (p50/p90), CSAT for the bot and per agent, NPS, comments,
FAQ entries and rewrite candidates, the days series, and the channel, language and period
filters.

The history (all in March 2026 except c7):

    conv  day  channel    lang  what happened                                  customer
    c1    2    web        pl    bot answers returns-how (100 ms); rated 5, NPS 10, "super"
    c2    2    web        pl    bot answers delivery-cost (300 ms, repeated); rated 3, NPS 9;
                                the customer came back within 72 h (followed_up)
    c3    3    messenger  en    returns-how (200 ms) -> hand-over customer_request; Ola:
                                claimed +60 s, replied +90 s, resolved +600 s; rated 4, NPS 8
    c4    3    web        en    delivery-cost (400 ms) -> frustration; Ewa: +120/+150/+900 s;
                                rated 2, NPS 3, "slow"
    c5    4    web        pl    repeated_misses; Ola: +30/+45/+300 s; asked, not rated; followed_up
    c6    4    web        pl    customer_request, still waiting (queued)
    c7    Feb 20  web     pl    outside the period: contained, rated 1
    c8    6    messenger  pl    bot falls back (500 ms)
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from handoff.models import Agent, Conversation, Handoff, Message, Rating
from handoff.reports.figures import compute
from handoff.reports.model import Filters

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = Filters(since=MARCH, until=datetime(2026, 3, 8, tzinfo=UTC))
TITLES = {"returns-how": "Jak mogę zwrócić towar?", "delivery-cost": "Ile kosztuje dostawa?"}


class History:
    """Writes a conversation's rows as the hub would have, at chosen moments."""

    def __init__(self, session) -> None:
        self.session = session
        self.agents: dict[str, int] = {}

    def agent(self, name: str) -> int:
        agent = Agent(name=name, token_hash=uuid.uuid4().hex)
        self.session.add(agent)
        self.session.flush()
        self.agents[name] = agent.id
        return agent.id

    def conversation(
        self, at: datetime, channel="web", language="pl", status="bot", handed_over=False, followed_up=False
    ) -> Conversation:
        conversation = Conversation(
            id=str(uuid.uuid4()),
            token_hash=uuid.uuid4().hex,
            channel=channel,
            language=language,
            status=status,
            handed_over=handed_over,
            followed_up=followed_up,
            created_at=at,
        )
        self.session.add(conversation)
        self.session.flush()
        return conversation

    def message(self, conversation: Conversation, role: str, **values) -> Message:
        conversation.last_seq += 1
        values.setdefault("created_at", conversation.created_at + timedelta(seconds=conversation.last_seq))
        message = Message(conversation_id=conversation.id, seq=conversation.last_seq, role=role, text="…", **values)
        self.session.add(message)
        return message

    def answer(self, conversation: Conversation, faq_id: str, reply_ms: int, outcome: str | None = None) -> None:
        self.message(conversation, "customer")
        source = {"id": faq_id, "title": TITLES[faq_id]}
        self.message(conversation, "bot", decision="answer", faq_id=faq_id, source=source, reply_ms=reply_ms)
        self.session.flush()
        if outcome:
            self.session.query(Message).filter_by(conversation_id=conversation.id, faq_id=faq_id).update(
                {"outcome": outcome}
            )

    def handoff(self, conversation: Conversation, reason: str, agent: str | None = None, times=(None, None, None)):
        claimed, replied, resolved = (
            None if t is None else conversation.created_at + timedelta(seconds=t) for t in times
        )
        agent_id = self.agents.get(agent)
        self.session.add(
            Handoff(
                conversation_id=conversation.id,
                reason=reason,
                created_at=conversation.created_at,
                claimed_at=claimed,
                claimed_by=agent_id if claimed else None,
                first_response_at=replied,
                resolved_at=resolved,
                resolved_by=agent_id if resolved else None,
            )
        )

    def rate(self, conversation, score: int, agent: str | None = None, nps=None, comment=None, ask=True):
        agent_id = self.agents.get(agent)
        if ask:
            self.message(conversation, "bot", decision="ask_rating", agent_id=agent_id)
        if score:
            self.session.add(
                Rating(
                    conversation_id=conversation.id,
                    agent_id=agent_id,
                    score=score,
                    nps=nps,
                    comment=comment,
                    created_at=conversation.created_at + timedelta(hours=1),
                )
            )


def day(n: int, hour: int = 10) -> datetime:
    return MARCH + timedelta(days=n - 1, hours=hour)


@pytest.fixture
def history(db):
    return build_history(db)


def build_history(db):
    """The history of the module's docstring, in `db`."""
    with db.transaction() as session:
        h = History(session)
        h.agent("Ola")
        h.agent("Ewa")
        c1 = h.conversation(day(2))
        h.answer(c1, "returns-how", 100)
        h.rate(c1, 5, nps=10, comment="super")
        c2 = h.conversation(day(2, 12), followed_up=True)
        h.answer(c2, "delivery-cost", 300, outcome="repeat")
        h.rate(c2, 3, nps=9)
        c3 = h.conversation(day(3), channel="messenger", language="en", status="resolved", handed_over=True)
        h.answer(c3, "returns-how", 200, outcome="handoff")
        h.handoff(c3, "customer_request", "Ola", (60, 90, 600))
        h.rate(c3, 4, "Ola", nps=8)
        c4 = h.conversation(day(3, 14), language="en", handed_over=True)
        h.answer(c4, "delivery-cost", 400, outcome="not_helpful")
        h.handoff(c4, "frustration", "Ewa", (120, 150, 900))
        h.rate(c4, 2, "Ewa", nps=3, comment="slow")
        c5 = h.conversation(day(4), status="resolved", handed_over=True, followed_up=True)
        h.handoff(c5, "repeated_misses", "Ola", (30, 45, 300))
        h.rate(c5, 0, "Ola")  # asked, never answered
        c6 = h.conversation(day(4, 15), status="queued", handed_over=True)
        h.handoff(c6, "customer_request")
        c7 = h.conversation(datetime(2026, 2, 20, 9, tzinfo=UTC))
        h.rate(c7, 1)
        c8 = h.conversation(day(6), channel="messenger")
        h.message(c8, "customer", gap="fallback")
        h.message(c8, "bot", decision="fallback", reply_ms=500)
    return db


def test_volume_containment_and_reasons(history):
    volume = compute(history, PERIOD).volume
    assert (volume.conversations, volume.contained, volume.handed_over) == (7, 3, 4)
    assert volume.containment == pytest.approx(3 / 7)
    assert volume.by_reason == {"customer_request": 2, "frustration": 1, "repeated_misses": 1}
    assert list(volume.by_reason) == ["customer_request", "frustration", "repeated_misses"]  # largest first


def test_first_contact_resolution(history):
    resolution = compute(history, PERIOD).resolution
    # resolved: all but the queued c6; at first contact: not c2 or c5 (the customer came back)
    assert (resolution.resolved, resolution.first_contact) == (6, 4)
    assert resolution.fcr == pytest.approx(4 / 6)


def test_times_p50_and_p90(history):
    times = compute(history, PERIOD).times
    # bot replies 100, 200, 300, 400, 500 ms: p90 at rank 3.6 -> 400 + 0.6 * 100
    assert (times.bot_response_ms.count, times.bot_response_ms.p50, times.bot_response_ms.p90) == (
        5,
        pytest.approx(300),
        pytest.approx(460),
    )
    # waits 30, 60, 120 s: p90 at rank 1.8 -> 60 + 0.8 * 60
    assert times.queue_wait_s.count == 3
    assert times.queue_wait_s.p50 == pytest.approx(60, abs=0.01)
    assert times.queue_wait_s.p90 == pytest.approx(108, abs=0.01)
    assert times.agent_first_response_s.p50 == pytest.approx(90, abs=0.01)  # 45, 90, 150
    assert times.agent_first_response_s.p90 == pytest.approx(138, abs=0.01)
    assert times.handle_s.p50 == pytest.approx(540, abs=0.01)  # 270, 540, 780
    assert times.handle_s.p90 == pytest.approx(732, abs=0.01)


def test_csat_for_the_bot_and_each_agent(history):
    csat = compute(history, PERIOD).csat
    assert [s.who for s in csat] == ["bot", "Ewa", "Ola"]  # the bot first, then agents by name
    bot, ewa, ola = csat
    assert (bot.asked, bot.ratings, bot.average, bot.response_rate) == (2, 2, 4.0, 1.0)
    assert bot.distribution == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert (ewa.asked, ewa.ratings, ewa.average, ewa.response_rate) == (1, 1, 2.0, 1.0)
    assert (ola.asked, ola.ratings, ola.average, ola.response_rate) == (2, 1, 4.0, 0.5)
    assert ola.agent_id is not None and bot.agent_id is None


def test_nps(history):
    nps = compute(history, PERIOD).nps
    # 10 and 9 promote, 8 is passive, 3 detracts: 50% - 25%
    assert (nps.responses, nps.promoters, nps.passives, nps.detractors) == (4, 2, 1, 1)
    assert nps.score == pytest.approx(25.0)


def test_nps_is_none_when_nobody_answered(history):
    assert compute(history, Filters(since=datetime(2026, 2, 1, tzinfo=UTC), until=MARCH)).nps is None


def test_comments_newest_first_with_who(history):
    comments = compute(history, PERIOD).comments
    assert [(c.comment, c.score, c.who) for c in comments] == [("slow", 2, "Ewa"), ("super", 5, "bot")]


def test_entries_most_used_and_rewrite_candidates(history):
    report = compute(history, PERIOD)
    used = {e.faq_id: e for e in report.entries}
    assert set(used) == {"returns-how", "delivery-cost"}
    returns, delivery = used["returns-how"], used["delivery-cost"]
    assert (returns.answers, returns.handoffs, returns.not_helpful, returns.repeats) == (2, 1, 0, 0)
    assert returns.unhelpful_rate == pytest.approx(0.5)
    assert returns.title == TITLES["returns-how"]
    assert (delivery.answers, delivery.handoffs, delivery.not_helpful, delivery.repeats) == (2, 0, 1, 1)
    assert delivery.unhelpful_rate == pytest.approx(1.0)
    assert [e.faq_id for e in report.rewrite_candidates] == ["delivery-cost", "returns-how"]


def test_days_series(history):
    days = compute(history, PERIOD).days
    assert [d.day for d in days] == [date(2026, 3, n) for n in range(2, 7)]  # empty days included
    by_day = {d.day.day: d for d in days}
    assert (by_day[2].conversations, by_day[2].contained, by_day[2].handed_over) == (2, 2, 0)
    assert by_day[2].csat == pytest.approx(4.0)
    assert by_day[2].bot_response_p50_ms == pytest.approx(200)
    assert by_day[3].queue_wait_p50_s == pytest.approx(90, abs=0.01)  # 60 and 120
    assert by_day[3].csat == pytest.approx(3.0)
    assert by_day[5].conversations == 0 and by_day[5].csat is None
    assert by_day[6].bot_response_p50_ms == pytest.approx(500)


def test_filter_by_channel(history):
    report = compute(history, Filters(PERIOD.since, PERIOD.until, channel="messenger"))
    assert (report.volume.conversations, report.volume.handed_over) == (2, 1)
    assert report.times.bot_response_ms.p50 == pytest.approx(350)  # 200 and 500
    assert report.times.bot_response_ms.p90 == pytest.approx(470)
    assert [s.who for s in report.csat] == ["bot", "Ola"]


def test_filter_by_language(history):
    report = compute(history, Filters(PERIOD.since, PERIOD.until, language="en"))
    assert (report.volume.conversations, report.volume.contained) == (2, 0)
    assert report.volume.by_reason == {"customer_request": 1, "frustration": 1}
    assert report.nps.score == pytest.approx(-50.0)  # 8 passive, 3 detractor


def test_filter_by_period(history):
    report = compute(history, Filters(since=datetime(2026, 2, 1, tzinfo=UTC), until=PERIOD.until))
    assert report.volume.conversations == 8
    bot = report.csat[0]
    assert (bot.ratings, bot.distribution[1]) == (3, 1)
    only_feb = compute(history, Filters(since=datetime(2026, 2, 1, tzinfo=UTC), until=MARCH))
    assert (only_feb.volume.conversations, only_feb.volume.contained) == (1, 1)
    assert only_feb.times.bot_response_ms.p50 is None and only_feb.entries == []


def test_an_empty_period(db):
    report = compute(db, PERIOD)
    assert report.volume.conversations == 0 and report.volume.containment is None
    assert report.resolution.fcr is None and report.days == []
    assert [s.who for s in report.csat] == ["bot"] and report.csat[0].average is None


def test_a_report_on_sqlite_holds_up_no_writer(history):
    """The hub's SQLite transactions take the write lock at once: a long report must not."""
    if history.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's locking")
    from sqlalchemy import func, select

    from handoff.reports.figures import reading

    with reading(history) as session:
        before = session.scalar(select(func.count()).select_from(Conversation))
        with history.transaction() as writer:  # BEGIN IMMEDIATE: would wait 30 s behind a writer
            writer.execute(select(1))
            History(writer).conversation(day(5))
        assert session.scalar(select(func.count()).select_from(Conversation)) == before  # one snapshot
    assert compute(history, PERIOD).volume.conversations == 8
