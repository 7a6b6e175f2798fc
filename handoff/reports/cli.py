"""`faqbot report`: the report's figures as readable text tables, or as JSON (`--json`),
for a period (default: the last 30 days), a channel and a language. The same figures
as the desk's reports page (handoff/reports/figures.py computes them)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .figures import period
from .model import Cluster, Filters, Report, Spread

DEFAULT_DAYS = 30
CLUSTERS_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=moment, help="first day (YYYY-MM-DD, UTC; default: 30 days ago)")
    parser.add_argument("--until", type=moment, help="last day, included (YYYY-MM-DD; default: now)")
    parser.add_argument("--channel", help="only this channel (web, messenger)")
    parser.add_argument("--language", help="only this language (pl, en)")
    parser.add_argument("--json", action="store_true", help="the same figures as JSON")
    parser.add_argument("--no-gaps", action="store_true", help="leave out the knowledge gaps (they need the bot)")


def moment(text: str) -> datetime:
    """A day (YYYY-MM-DD) or an ISO 8601 moment, as an aware UTC datetime; argparse turns
    the ValueError into a clear usage error."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def filters_from(args: argparse.Namespace, now: datetime | None = None) -> Filters:
    """The period [since, until): a bare day given as --until counts whole."""
    until = args.until
    if until is not None and _is_day(until):
        until += timedelta(days=1)
    until = until or now or datetime.now(UTC)
    since = args.since or period(DEFAULT_DAYS, until)[0]
    if since >= until:
        raise ValueError("--since must be before --until")
    return Filters(since=since, until=until, channel=args.channel or None, language=args.language or None)


def _is_day(value: datetime) -> bool:
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)


def gap_clusters(db: Any, filters: Filters) -> list[Cluster] | None:
    """The knowledge gaps' clusters (handoff/reports/gaps.py: the action server groups
    them), or None when they cannot be had: the rest of the report does not need them,
    so the command says why on stderr and prints the rest."""
    from . import gaps

    try:
        return gaps.clusters(db, filters)
    except gaps.GapsUnavailable as exc:
        print(f"knowledge gaps left out: {exc}", file=sys.stderr)
        return None


# -- JSON ----------------------------------------------------------------------------------


def as_json(report: Report, clusters: Sequence[Cluster] | None = None) -> str:
    data = _plain(report)
    if clusters is not None:
        data["gaps"] = [_plain(c) for c in clusters]
    return json.dumps(data, ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    """Dataclasses, dates and dict keys as JSON has them."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- text ---------------------------------------------------------------------------------


def as_text(report: Report, clusters: Sequence[Cluster] | None = None) -> str:
    sections = [
        _heading(report),
        _volume(report),
        _times(report),
        _csat(report),
        _nps(report),
        _entries("FAQ entries most used", report.entries),
        _entries(
            "Rewrite candidates (followed by a hand-over, 'that didn't help' or the same question)",
            report.rewrite_candidates,
        ),
        _comments(report),
    ]
    if clusters is not None:
        sections.append(_clusters(clusters))
    return "\n\n".join(s for s in sections if s) + "\n"


def _heading(report: Report) -> str:
    f = report.filters
    scope = [
        f"channel {f.channel}" if f.channel else "all channels",
        f"language {f.language}" if f.language else "all languages",
    ]
    return f"Report {_day(f.since)} .. {_day(f.until - timedelta(microseconds=1))} ({', '.join(scope)})"


def _volume(report: Report) -> str:
    v, r = report.volume, report.resolution
    rows = [
        ("conversations", str(v.conversations)),
        ("resolved by the bot alone", f"{v.contained} ({_percent(v.containment)})"),
        ("handed to humans", str(v.handed_over)),
        *[(f"  reason: {reason}", str(count)) for reason, count in v.by_reason.items()],
        ("resolved", str(r.resolved)),
        ("first-contact resolution", f"{r.first_contact} of {r.resolved} ({_percent(r.fcr)})"),
    ]
    return _table(("VOLUME", ""), rows)


def _times(report: Report) -> str:
    t = report.times
    rows = [
        _spread_row("bot response", t.bot_response_ms, lambda ms: f"{ms:.0f} ms"),
        _spread_row("queue wait", t.queue_wait_s, _duration),
        _spread_row("agent first response", t.agent_first_response_s, _duration),
        _spread_row("handle time", t.handle_s, _duration),
    ]
    return _table(("TIMES", "P50", "P90", "MEASURED"), rows)


def _spread_row(name: str, spread: Spread, show: Callable[[float], str]) -> tuple[str, ...]:
    def shown(value: float | None) -> str:
        return "-" if value is None else show(value)

    return (name, shown(spread.p50), shown(spread.p90), str(spread.count))


def _csat(report: Report) -> str:
    rows = [
        (
            s.who,
            "-" if s.average is None else f"{s.average:.2f}",
            str(s.ratings),
            str(s.asked),
            _percent(s.response_rate),
            " ".join(f"{score}:{s.distribution.get(score, 0)}" for score in range(1, 6)),
        )
        for s in report.csat
    ]
    return _table(("CSAT", "AVERAGE", "RATINGS", "ASKED", "RESPONSE RATE", "DISTRIBUTION"), rows)


def _nps(report: Report) -> str:
    n = report.nps
    if n is None:
        return "NPS  no answers in this period (NPS is asked only when turned on)"
    return (
        f"NPS  {n.score:+.0f}  ({n.responses} answers: {n.promoters} promoters, "
        f"{n.passives} passives, {n.detractors} detractors)"
    )


def _entries(title: str, entries: list) -> str:
    if not entries:
        return f"{title}: none"
    rows = [
        (
            e.faq_id,
            _cut(e.title, 50),
            str(e.answers),
            str(e.handoffs),
            str(e.not_helpful),
            str(e.repeats),
            _percent(e.unhelpful_rate),
        )
        for e in entries
    ]
    return f"{title}\n" + _table(("ENTRY", "TITLE", "ANSWERS", "HAND-OVER", "NOT HELPFUL", "REPEAT", "UNHELPFUL"), rows)


def _comments(report: Report) -> str:
    if not report.comments:
        return "Comments: none"
    rows = [(_day(c.at), str(c.score), c.who, _cut(c.comment, 70)) for c in report.comments]
    return "Comments (newest first)\n" + _table(("DAY", "SCORE", "FOR", "COMMENT"), rows)


def _clusters(clusters: Sequence[Cluster]) -> str:
    if not clusters:
        return "Knowledge gaps: none"
    rows = [
        (str(c.size), _cut(c.representative, 60), ",".join(c.languages), _day(c.newest))
        for c in list(clusters)[:CLUSTERS_SHOWN]
    ]
    return "Knowledge gaps (questions the bot could not answer)\n" + _table(
        ("SIZE", "QUESTION", "LANG", "NEWEST"), rows
    )


# -- formatting -----------------------------------------------------------------------------


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; text is printed as text (no terminal codes)."""
    cells = [tuple(_printable(c) for c in row) for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells)


def _printable(text: str) -> str:
    """Customers' words may hold control characters: shown as spaces, never interpreted."""
    return "".join(c if c.isprintable() else " " for c in str(text))


def _cut(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()
