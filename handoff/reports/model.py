"""What a report holds: plain data, computed by `figures` (SQL aggregates) and shaped by
the HTTP layer (JSON, HTML with SVG charts, CSV) or the CLI (text, JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Filters:
    """The period [since, until) and, optionally, one channel and one language."""

    since: datetime
    until: datetime
    channel: str | None = None
    language: str | None = None


@dataclass
class Spread:
    """p50 and p90 of a duration (None: nothing measured), and how many were measured."""

    count: int
    p50: float | None
    p90: float | None


@dataclass
class Volume:
    conversations: int
    contained: int  # resolved by the bot alone: never handed to humans
    handed_over: int
    containment: float | None  # contained / conversations
    by_reason: dict[str, int]  # hand-overs by reason, largest first


@dataclass
class Resolution:
    """First-contact resolution: see README ("First-contact resolution") for the rule."""

    resolved: int
    first_contact: int
    fcr: float | None  # first_contact / resolved


@dataclass
class Times:
    bot_response_ms: Spread  # customer message -> bot reply
    queue_wait_s: Spread  # hand-over -> an agent claims it
    agent_first_response_s: Spread  # hand-over -> the agent's first reply
    handle_s: Spread  # claimed -> resolved


@dataclass
class Satisfaction:
    """CSAT for the bot (agent_id None) or one agent."""

    who: str  # "bot" or the agent's name
    agent_id: int | None
    asked: int
    ratings: int
    average: float | None
    response_rate: float | None  # ratings / asked
    distribution: dict[int, int]  # score 1..5 -> count


@dataclass
class Nps:
    responses: int
    promoters: int  # 9-10
    passives: int  # 7-8
    detractors: int  # 0-6
    score: float | None  # % promoters - % detractors, -100..100


@dataclass
class Comment:
    at: datetime
    score: int
    comment: str
    who: str  # "bot" or the agent's name
    conversation_id: str


@dataclass
class EntryUse:
    """A FAQ entry's use, and how often it did not help (candidates for a rewrite)."""

    faq_id: str
    title: str
    answers: int
    handoffs: int  # followed by a hand-over
    not_helpful: int  # followed by "that didn't help"
    repeats: int  # followed by the same question again
    unhelpful_rate: float | None  # (handoffs + not_helpful + repeats) / answers


@dataclass
class Day:
    """One point of the charts."""

    day: date
    conversations: int
    contained: int
    handed_over: int
    csat: float | None
    bot_response_p50_ms: float | None
    queue_wait_p50_s: float | None


@dataclass
class Report:
    filters: Filters
    volume: Volume
    resolution: Resolution
    times: Times
    csat: list[Satisfaction]  # the bot first, then agents by name
    nps: Nps | None  # None when NPS is off and nobody answered it
    comments: list[Comment]  # newest first
    entries: list[EntryUse]  # most used first
    rewrite_candidates: list[EntryUse]  # most often unhelpful first
    days: list[Day] = field(default_factory=list)


@dataclass
class Cluster:
    """Questions the bot could not answer, grouped by meaning."""

    size: int
    representative: str  # the question closest to the group's centre
    examples: list[str]  # distinct phrasings, representative first
    languages: list[str]
    newest: datetime
    reasons: dict[str, int]  # fallback / handoff / low_confidence -> count
    message_ids: list[int]  # the customer messages, for the desk to open
