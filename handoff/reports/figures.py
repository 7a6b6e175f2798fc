"""The report's figures, computed in the database: SQL aggregates over indexed columns,
on SQLite and PostgreSQL alike, so that a year of conversations never passes through
Python. Only aggregated rows come back (a few per agent, entry or day).

Every figure is about the conversations *started* in the period (and of the channel and
language asked for): their messages, hand-overs and ratings count wherever in time they
happened. One cohort for every table keeps the figures consistent with each other.

Percentiles are PostgreSQL's `percentile_cont` there; SQLite has none, so the same
linear interpolation is done from the two rows around the rank, found with window
functions (one query per series, whatever the number of groups).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Date,
    Engine,
    Float,
    Integer,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from ..db import Database
from ..models import Agent, Conversation, Handoff, Message, Rating
from .model import (
    Comment,
    Day,
    EntryUse,
    Filters,
    Nps,
    Report,
    Resolution,
    Satisfaction,
    Spread,
    Times,
    Volume,
)

PERCENTILES = (0.5, 0.9)
COMMENTS = 50  # newest comments in a report
ENTRIES = 20  # most used FAQ entries
REWRITE_CANDIDATES = 10
UNHELPFUL = ("handoff", "not_helpful", "repeat")  # messages.outcome of a FAQ answer that did not help
FAQ_DECISIONS = ("answer", "chosen")  # bot messages that served a FAQ entry
BOT = "bot"
# name of a value -> group (None: the whole cohort; else a day) -> (how many, percentile -> value)
Percentiles = dict[str, dict[Any, tuple[int, dict[float, float]]]]


def compute(db: Database, filters: Filters) -> Report:
    """All the figures for `filters`, in one read-only transaction (one consistent view)."""
    with reading(db) as session:
        return Figures(session, filters).report()


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A read-only transaction. The hub's SQLite transactions begin IMMEDIATE (they take
    the write lock at once); a report that took it would hold up every customer's message
    for as long as it runs. So on SQLite the report reads through an engine of its own
    with a plain (deferred) BEGIN, which under WAL is a snapshot that blocks no writer."""
    if db.engine.dialect.name != "sqlite":
        with db.transaction() as session:
            yield session
        return
    with _sqlite_reader(db.url).connect() as connection:
        connection.exec_driver_sql("BEGIN")
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.exec_driver_sql("ROLLBACK")


@lru_cache(maxsize=8)
def _sqlite_reader(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # BEGIN is ours to say, and deferred

    return engine


def period(days: int = 30, until: datetime | None = None) -> tuple[datetime, datetime]:
    """The last `days` days up to `until` (now), as the reports' default period."""
    end = until or datetime.now(UTC)
    return end - timedelta(days=days), end


class Figures:
    """The queries of one report. Each table is read as few times as possible: one
    statement for the conversations' counts, one for the messages' counts, one (SQLite)
    or two (PostgreSQL) for each table's percentiles, one for the ratings."""

    def __init__(self, session: Session, filters: Filters) -> None:
        self.session = session
        self.filters = filters
        self.dialect = session.get_bind().dialect.name
        self.since = _utc(filters.since)
        self.until = _utc(filters.until)

    def report(self) -> Report:
        day = self._day(Conversation.created_at)
        replies = self._percentiles(Message, {"reply": Message.reply_ms}, day)
        handoff_times = {
            "wait": self._seconds(Handoff.created_at, Handoff.claimed_at),
            "first": self._seconds(Handoff.created_at, Handoff.first_response_at),
            "handle": self._seconds(Handoff.claimed_at, Handoff.resolved_at),
        }
        waits = self._percentiles(Handoff, handoff_times, day)
        asked, entries = self._message_counts()
        scores = self._rating_counts()
        return Report(
            filters=self.filters,
            volume=self.volume(),
            resolution=self.resolution(),
            times=Times(
                bot_response_ms=_spread(replies, "reply"),
                queue_wait_s=_spread(waits, "wait"),
                agent_first_response_s=_spread(waits, "first"),
                handle_s=_spread(waits, "handle"),
            ),
            csat=self.csat(scores, asked),
            nps=_nps(scores),
            comments=self.comments(),
            entries=entries[:ENTRIES],
            rewrite_candidates=_rewrite_candidates(entries),
            days=self.days(day, replies, waits),
        )

    # -- the cohort -----------------------------------------------------------------

    def _in_scope(self) -> list[ColumnElement[bool]]:
        """The conditions on `conversations` that every figure shares."""
        conditions = [Conversation.created_at >= self.since, Conversation.created_at < self.until]
        if self.filters.channel:
            conditions.append(Conversation.channel == self.filters.channel)
        if self.filters.language:
            conditions.append(Conversation.language == self.filters.language)
        return conditions

    def _joined(self, query: Select, table: Any) -> Select:
        """`query` over `table` (messages, handoffs, ratings) restricted to the cohort.
        Nothing happens in a conversation before it starts: the redundant bound on the
        table's own (indexed) `created_at` lets the database skip older rows at once."""
        return (
            query.join(Conversation, Conversation.id == table.conversation_id)
            .where(*self._in_scope())
            .where(table.created_at >= self.since)
        )

    # -- volume and resolution ------------------------------------------------------------

    def _conversation_counts(self) -> tuple[int, int, int, int]:
        """Conversations, handed over, resolved, resolved at first contact: one statement.

        Resolved: the bot handled it alone, or the agents resolved every hand-over (the
        conversation is back with the bot). At first contact: and the same customer did
        not start another conversation within 72 hours (`followed_up`, written when the
        next one starts)."""
        if not hasattr(self, "_counts"):
            resolved = Conversation.status.in_(("bot", "resolved"))
            row = self.session.execute(
                select(
                    func.count(),
                    _count_if(Conversation.handed_over.is_(True)),
                    _count_if(resolved),
                    _count_if(and_(resolved, Conversation.followed_up.is_(False))),
                ).where(*self._in_scope())
            ).one()
            self._counts = tuple(int(v or 0) for v in row)
        return self._counts

    def volume(self) -> Volume:
        total, handed, _, _ = self._conversation_counts()
        reasons = self.session.execute(
            self._joined(select(Handoff.reason, func.count()), Handoff)
            .group_by(Handoff.reason)
            .order_by(func.count().desc(), Handoff.reason)
        ).all()
        return Volume(
            conversations=total,
            contained=total - handed,
            handed_over=handed,
            containment=_ratio(total - handed, total),
            by_reason={reason: int(count) for reason, count in reasons},
        )

    def resolution(self) -> Resolution:
        _, _, done, first = self._conversation_counts()
        return Resolution(resolved=done, first_contact=first, fcr=_ratio(first, done))

    # -- times ------------------------------------------------------------------------

    def _seconds(self, start: Any, end: Any) -> ColumnElement[float]:
        """`end - start` in seconds (NULL if either is)."""
        if self.dialect == "postgresql":
            return cast(func.extract("epoch", end - start), Float)
        return (func.julianday(end) - func.julianday(start)) * 86400.0

    def _day(self, moment: Any) -> ColumnElement[Any]:
        """The UTC day of a stored moment."""
        if self.dialect == "postgresql":
            return cast(func.timezone("UTC", moment), Date)
        return func.date(moment)

    def _percentiles(self, table: Any, values: dict[str, ColumnElement[Any]], day: ColumnElement[Any]) -> Percentiles:
        """For each named value: how many there are and their PERCENTILES, over the whole
        cohort (group None) and per day, as PostgreSQL's percentile_cont computes them
        (linear between the two nearest ranks; NULLs left out)."""
        if self.dialect == "postgresql":
            return self._percentile_cont(table, values, day)
        return self._ranked(table, values, day)

    def _percentile_cont(
        self, table: Any, values: dict[str, ColumnElement[Any]], day: ColumnElement[Any]
    ) -> Percentiles:
        """PostgreSQL: percentile_cont of every value, per day and overall in one
        statement (GROUPING SETS: the overall row is the one without a day)."""
        columns: list[Any] = [day]
        for value in values.values():
            columns += [func.count(value), *(func.percentile_cont(p).within_group(value) for p in PERCENTILES)]
        query = self._joined(select(*columns), table).group_by(func.grouping_sets(tuple_(day), text("()")))
        if len(values) == 1:
            query = query.where(next(iter(values.values())).is_not(None))
        found: Percentiles = {name: {} for name in values}
        width = 1 + len(PERCENTILES)
        for row in self.session.execute(query):
            key = None if row[0] is None else _as_date(row[0])
            for index, name in enumerate(values):
                count, *at = row[1 + index * width : 1 + (index + 1) * width]
                if count:
                    found[name][key] = (int(count), {p: float(v) for p, v in zip(PERCENTILES, at, strict=True)})
        return found

    def _ranked(self, table: Any, values: dict[str, ColumnElement[Any]], day: ColumnElement[Any]) -> Percentiles:
        """SQLite: every value ranked over the cohort and within its day by window
        functions in one statement; only the rows at the ranks around each percentile
        come back (a few per day), and are interpolated here."""
        columns: list[Any] = [day.label("day")]
        wanted: list[ColumnElement[bool]] = []
        keys = []
        for index, value in enumerate(values.values()):
            columns.append(value.label(f"v{index}"))
            for scope, partition in (("all", []), ("day", [day])):
                rank, count = f"r{index}{scope}", f"n{index}{scope}"
                keys.append((index, scope, rank, count))
                # NULLs rank last and are not counted: the ranks below the count are the values'.
                order = [value.is_(None), value]
                columns.append((func.row_number().over(partition_by=partition, order_by=order) - 1).label(rank))
                columns.append(func.count(value).over(partition_by=partition).label(count))
        query = self._joined(select(*columns), table)
        if len(values) == 1:
            query = query.where(next(iter(values.values())).is_not(None))
        ranked = query.subquery()
        for _index, _scope, rank, count in keys:
            for p in PERCENTILES:
                low = cast((ranked.c[count] - 1) * p, Integer)
                wanted.append(and_(ranked.c[rank] < ranked.c[count], ranked.c[rank].in_([low, low + 1])))
        rows = self.session.execute(select(ranked).where(or_(*wanted))).mappings().all()
        at: dict[tuple[str, Any], tuple[int, dict[int, float]]] = {}
        names = list(values)
        for row in rows:
            for index, scope, rank, count in keys:
                n, r = int(row[count]), int(row[rank])
                if r >= n:
                    continue
                key = (names[index], None if scope == "all" else _as_date(row["day"]))
                at.setdefault(key, (n, {}))[1][r] = float(row[f"v{index}"])
        found: Percentiles = {name: {} for name in values}
        for (name, key), (n, ranks) in at.items():
            if all(math.floor((n - 1) * p) in ranks for p in PERCENTILES):
                found[name][key] = (n, {p: _interpolate(ranks, n, p) for p in PERCENTILES})
        return found

    # -- messages: rating questions, FAQ entries ---------------------------------------------

    def _message_counts(self) -> tuple[dict[int | None, int], list[EntryUse]]:
        """One pass over the cohort's bot messages: the rating questions asked, per agent
        they ask about (NULL: the bot), and every FAQ entry served with what followed it,
        most used first."""
        outcome = Message.outcome
        rows = self.session.execute(
            self._joined(
                select(
                    Message.decision,
                    Message.agent_id,
                    Message.faq_id,
                    func.count(),
                    _count_if(outcome == "handoff"),
                    _count_if(outcome == "not_helpful"),
                    _count_if(outcome == "repeat"),
                ),
                Message,
            )
            .where(Message.decision.in_(("ask_rating", *FAQ_DECISIONS)))
            .group_by(Message.decision, Message.agent_id, Message.faq_id)
        ).all()
        asked: dict[int | None, int] = {}
        used: dict[str, list[int]] = {}
        for decision, agent_id, faq_id, count, handoffs, not_helpful, repeats in rows:
            if decision == "ask_rating":
                asked[agent_id] = asked.get(agent_id, 0) + int(count)
            elif faq_id:
                totals = used.setdefault(faq_id, [0, 0, 0, 0])
                for i, n in enumerate((count, handoffs, not_helpful, repeats)):
                    totals[i] += int(n or 0)
        entries = [
            EntryUse(
                faq_id=faq_id,
                title=faq_id,
                answers=answers,
                handoffs=handoffs,
                not_helpful=not_helpful,
                repeats=repeats,
                unhelpful_rate=_ratio(handoffs + not_helpful + repeats, answers),
            )
            for faq_id, (answers, handoffs, not_helpful, repeats) in used.items()
        ]
        entries.sort(key=lambda e: (-e.answers, e.faq_id))
        shown = entries[:ENTRIES] + _rewrite_candidates(entries)
        titles = self._titles({e.faq_id for e in shown})
        for entry in entries:
            entry.title = titles.get(entry.faq_id, entry.faq_id)
        return asked, entries

    def _titles(self, faq_ids: set[str]) -> dict[str, str]:
        """Each entry's title as the customer last saw it (its source, kept on the
        message): one indexed lookup per entry shown, not a JSON query per dialect."""
        titles = {}
        for faq_id in sorted(faq_ids):
            source = self.session.scalar(
                select(Message.source).where(Message.faq_id == faq_id).order_by(Message.id.desc()).limit(1)
            )
            if isinstance(source, dict) and source.get("title"):
                titles[faq_id] = str(source["title"])
        return titles

    # -- satisfaction ---------------------------------------------------------------------

    def _rating_counts(self) -> list[tuple[int | None, int, int, int, int, int]]:
        """One pass over the cohort's ratings: (agent, score, ratings, NPS answers,
        promoters 9-10, detractors 0-6)."""
        rows = self.session.execute(
            self._joined(
                select(
                    Rating.agent_id,
                    Rating.score,
                    func.count(),
                    func.count(Rating.nps),
                    _count_if(Rating.nps >= 9),
                    _count_if(Rating.nps <= 6),
                ),
                Rating,
            ).group_by(Rating.agent_id, Rating.score)
        ).all()
        return [(a, int(s), int(n), int(r or 0), int(p or 0), int(d or 0)) for a, s, n, r, p, d in rows]

    def csat(self, scores: list[tuple], asked: dict[int | None, int]) -> list[Satisfaction]:
        """The bot's (ratings of conversations no agent resolved) first, then each agent's.
        Asked: the bot's rating questions (messages with decision "ask_rating"), kept
        for the agent they ask about (their `agent_id`; NULL for the bot)."""
        distribution: dict[int | None, dict[int, int]] = {None: {}}
        for agent_id, score, count, *_ in scores:
            distribution.setdefault(agent_id, {})[score] = count  # one row per (agent, score)
        for agent_id in asked:
            distribution.setdefault(agent_id, {})
        names = self._agent_names(a for a in distribution if a is not None)
        result = [_satisfaction(BOT, None, asked.get(None, 0), distribution[None])]
        agents = sorted((a for a in distribution if a is not None), key=lambda a: (names.get(a, ""), a))
        result += [_satisfaction(names.get(a, f"#{a}"), a, asked.get(a, 0), distribution[a]) for a in agents]
        return result

    def comments(self) -> list[Comment]:
        rows = self.session.execute(
            self._joined(
                select(Rating.created_at, Rating.score, Rating.comment, Agent.name, Rating.conversation_id), Rating
            )
            .outerjoin(Agent, Agent.id == Rating.agent_id)
            .where(Rating.comment.is_not(None), Rating.comment != "")
            .order_by(Rating.created_at.desc(), Rating.id.desc())
            .limit(COMMENTS)
        ).all()
        return [
            Comment(at=_utc(at), score=int(score), comment=text, who=name or BOT, conversation_id=cid)
            for at, score, text, name, cid in rows
        ]

    def _agent_names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = list(ids)
        if not wanted:
            return {}
        return dict(self.session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(wanted))).all())

    # -- days -----------------------------------------------------------------------

    def days(self, day: ColumnElement[Any], replies: Percentiles, waits: Percentiles) -> list[Day]:
        """One point per UTC day, from the first day with a conversation to the last."""
        volume = self.session.execute(
            select(day, func.count(), _count_if(Conversation.handed_over.is_(True)))
            .where(*self._in_scope())
            .group_by(day)
        ).all()
        if not volume:
            return []
        csat = self.session.execute(self._joined(select(day, func.avg(Rating.score)), Rating).group_by(day)).all()
        counts = {_as_date(d): (int(n), int(h or 0)) for d, n, h in volume}
        averages = {_as_date(d): float(v) for d, v in csat if v is not None}
        first, last = min(counts), max(counts)
        points = []
        for offset in range((last - first).days + 1):
            current = first + timedelta(days=offset)
            total, handed = counts.get(current, (0, 0))
            reply, wait = replies["reply"].get(current), waits["wait"].get(current)
            points.append(
                Day(
                    day=current,
                    conversations=total,
                    contained=total - handed,
                    handed_over=handed,
                    csat=_round(averages.get(current), 2),
                    bot_response_p50_ms=reply[1][0.5] if reply else None,
                    queue_wait_p50_s=wait[1][0.5] if wait else None,
                )
            )
        return points


# -- helpers ------------------------------------------------------------------------


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet `condition` (portable: SUM of a CASE)."""
    return func.sum(case((condition, 1), else_=0))


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _interpolate(at: dict[int, float], n: int, p: float) -> float:
    """percentile_cont from the values at the ranks around (n - 1) * p."""
    rank = (n - 1) * p
    low = math.floor(rank)
    below = at[low]
    above = at.get(low + 1, below)
    return below + (above - below) * (rank - low)


def _satisfaction(who: str, agent_id: int | None, asked: int, distribution: dict[int, int]) -> Satisfaction:
    ratings = sum(distribution.values())
    total = sum(score * count for score, count in distribution.items())
    return Satisfaction(
        who=who,
        agent_id=agent_id,
        asked=asked,
        ratings=ratings,
        average=_round(total / ratings, 2) if ratings else None,
        response_rate=_ratio(ratings, asked),
        distribution={score: distribution.get(score, 0) for score in range(1, 6)},
    )


def _spread(found: Percentiles, name: str) -> Spread:
    overall = found[name].get(None)
    if overall is None:
        return Spread(0, None, None)
    count, values = overall
    return Spread(count, values[0.5], values[0.9])


def _nps(scores: list[tuple]) -> Nps | None:
    """Promoters answer 9-10, detractors 0-6; the score is % promoters - % detractors.
    None when nobody answered (NPS is off by default)."""
    responses = sum(row[3] for row in scores)
    if responses == 0:
        return None
    promoters, detractors = sum(row[4] for row in scores), sum(row[5] for row in scores)
    score = round(100.0 * (promoters - detractors) / responses, 1)
    return Nps(responses, promoters, responses - promoters - detractors, detractors, score)


def _rewrite_candidates(entries: list[EntryUse]) -> list[EntryUse]:
    """Entries that most often did not help: by how many times, then how often."""
    unhelpful = [e for e in entries if e.handoffs + e.not_helpful + e.repeats > 0]
    unhelpful.sort(key=lambda e: (-(e.handoffs + e.not_helpful + e.repeats), -(e.unhelpful_rate or 0), e.faq_id))
    return unhelpful[:REWRITE_CANDIDATES]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _utc(moment: datetime) -> datetime:
    """Aware in UTC; a naive one is taken as UTC (what SQLite hands back). SQLite stores
    naive UTC text, so the bounds are bound in UTC too."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
