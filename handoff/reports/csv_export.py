"""The report's tables as CSV, one file per table, for a spreadsheet.

Column names are English and stable (scripts read them), numbers are plain (a dot for
decimals, no units: the column name says the unit), times are ISO 8601 in UTC.

Customers write the comments and the questions: a cell that a spreadsheet would take
for a formula (starting with = + - @, or a tab or carriage return) is prefixed with an
apostrophe (OWASP's advice against CSV injection), so opening the file runs nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from .model import Cluster, Report, Spread

Rows = tuple[list[str], list[list[object]]]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class UnknownTable(LookupError):
    """No table of that name: the page answers 404."""


def table(name: str, report: Report, clusters: Sequence[Cluster] = ()) -> Rows:
    """The header and rows of one table of the report."""
    try:
        build = TABLES[name]
    except KeyError:
        raise UnknownTable(f"no table {name!r}: one of {', '.join(TABLES)}") from None
    return build(report, clusters)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()


def safe_cell(value: object) -> str:
    """One cell as text that no spreadsheet runs as a formula. Numbers stay numbers
    (a negative NPS is -20, not '-20): only text is guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}".rstrip("0").rstrip(".")


# -- the tables ----------------------------------------------------------------------------


def _summary(report: Report, _clusters) -> Rows:
    volume, resolution = report.volume, report.resolution
    bot = next((s for s in report.csat if s.agent_id is None), None)
    rows: list[list[object]] = [
        ["since", report.filters.since],
        ["until", report.filters.until],
        ["channel", report.filters.channel or "all"],
        ["language", report.filters.language or "all"],
        ["conversations", volume.conversations],
        ["contained", volume.contained],
        ["handed_over", volume.handed_over],
        ["containment", volume.containment],
        ["resolved", resolution.resolved],
        ["first_contact", resolution.first_contact],
        ["fcr", resolution.fcr],
        ["csat_ratings", sum(s.ratings for s in report.csat)],
        ["csat_average", _overall_csat(report)],
        ["csat_bot_average", bot.average if bot else None],
        ["bot_response_p50_ms", report.times.bot_response_ms.p50],
        ["bot_response_p90_ms", report.times.bot_response_ms.p90],
    ]
    if report.nps is not None:
        rows.append(["nps", report.nps.score])
    return ["measure", "value"], rows


def _days(report: Report, _clusters) -> Rows:
    header = ["day", "conversations", "contained", "handed_over", "csat", "bot_response_p50_ms", "queue_wait_p50_s"]
    rows = [
        [d.day, d.conversations, d.contained, d.handed_over, d.csat, d.bot_response_p50_ms, d.queue_wait_p50_s]
        for d in report.days
    ]
    return header, rows


def _reasons(report: Report, _clusters) -> Rows:
    total = sum(report.volume.by_reason.values())
    rows = [[reason, count, count / total if total else None] for reason, count in report.volume.by_reason.items()]
    return ["reason", "handoffs", "share"], rows


def _times(report: Report, _clusters) -> Rows:
    times = report.times

    def row(name: str, spread: Spread, unit: str) -> list[object]:
        return [name, unit, spread.count, spread.p50, spread.p90]

    rows = [
        row("bot_response", times.bot_response_ms, "ms"),
        row("queue_wait", times.queue_wait_s, "s"),
        row("agent_first_response", times.agent_first_response_s, "s"),
        row("handle", times.handle_s, "s"),
    ]
    return ["measure", "unit", "measured", "p50", "p90"], rows


def _csat(report: Report, _clusters) -> Rows:
    header = ["who", "agent_id", "asked", "ratings", "response_rate", "average", *[f"score_{n}" for n in range(1, 6)]]
    rows = [
        [
            s.who,
            s.agent_id,
            s.asked,
            s.ratings,
            s.response_rate,
            s.average,
            *[s.distribution.get(n, 0) for n in range(1, 6)],
        ]
        for s in report.csat
    ]
    return header, rows


def _nps(report: Report, _clusters) -> Rows:
    header = ["responses", "promoters", "passives", "detractors", "score"]
    nps = report.nps
    rows = [] if nps is None else [[nps.responses, nps.promoters, nps.passives, nps.detractors, nps.score]]
    return header, rows


def _comments(report: Report, _clusters) -> Rows:
    rows = [[c.at, c.score, c.who, c.conversation_id, c.comment] for c in report.comments]
    return ["at", "score", "who", "conversation_id", "comment"], rows


def _entries(rows_of: Callable[[Report], list]) -> Callable[[Report, Sequence[Cluster]], Rows]:
    def build(report: Report, _clusters) -> Rows:
        header = ["faq_id", "title", "answers", "handoffs", "not_helpful", "repeats", "unhelpful_rate"]
        rows = [
            [e.faq_id, e.title, e.answers, e.handoffs, e.not_helpful, e.repeats, e.unhelpful_rate]
            for e in rows_of(report)
        ]
        return header, rows

    return build


def _gaps(_report: Report, clusters: Sequence[Cluster]) -> Rows:
    header = ["size", "representative", "examples", "languages", "newest", "fallback", "handoff", "low_confidence"]
    rows = [
        [
            c.size,
            c.representative,
            " | ".join(c.examples),
            " ".join(c.languages),
            c.newest,
            c.reasons.get("fallback", 0),
            c.reasons.get("handoff", 0),
            c.reasons.get("low_confidence", 0),
        ]
        for c in clusters
    ]
    return header, rows


def _overall_csat(report: Report) -> float | None:
    ratings = sum(s.ratings for s in report.csat if s.average is not None)
    if not ratings:
        return None
    return sum(s.average * s.ratings for s in report.csat if s.average is not None) / ratings


TABLES: dict[str, Callable[[Report, Sequence[Cluster]], Rows]] = {
    "summary": _summary,
    "days": _days,
    "reasons": _reasons,
    "times": _times,
    "csat": _csat,
    "nps": _nps,
    "comments": _comments,
    "entries": _entries(lambda report: report.entries),
    "rewrite": _entries(lambda report: report.rewrite_candidates),
    "gaps": _gaps,
}
