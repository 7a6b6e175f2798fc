"""The desk's reports page, for supervisors: `/desk/reports` (HTML with SVG charts, a GET
form for the period, channel and language), `/desk/reports/<table>.csv` (each table of csv_export.TABLES),
`/desk/reports/report.json` (everything), and `POST /desk/reports/gaps/draft` (a FAQ
draft from a knowledge gap).

The figures come from `figures.compute` and the gaps from `gaps` (SQL aggregates and
clustering, elsewhere); this module only reads the filters and shapes the answer. The
page works as plain HTML: no script, charts drawn on the server, texts escaped by Jinja.
Anonymous visitors are sent to the desk's login by the desk's guard (handoff/desk/auth.py),
which also checks the CSRF token of the draft form; agents who are not supervisors get 403.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
import threading
import time as clock
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
)
from markupsafe import Markup

from .. import hub
from ..api.errors import ApiError
from ..desk.auth import current_agent, login_required
from ..desk.pages import desk_language
from . import charts
from .csv_export import TABLES, table, to_csv
from .model import Cluster, Filters, Report
from .texts import LANGUAGES, duration, label, number, percent, text

log = logging.getLogger(__name__)

blueprint = Blueprint(
    "reports",
    __name__,
    url_prefix="/desk/reports",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

SUPERVISOR = "supervisor"
CHANNELS = ("web", "messenger")
QUICK_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
REUSE_SECONDS = 60
REUSE_MOST = 16
GAPS_SHOWN = 10  # the largest groups in view; the rest (often one-off questions) folded
LONGEST_PERIOD_DAYS = 3 * 366
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # beyond: a typo, not a period
# Days are UTC days, as the figures count them (figures.days) and `faqbot report` reads
# its dates: the page, the CSV and the command line agree to the conversation.
ZONE = UTC


class BadFilters(ValueError):
    """The filters cannot be read; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Period:
    """What the form shows and the links carry: UTC dates, both inclusive."""

    first: date
    last: date
    channel: str | None
    language: str | None
    days: int | None  # the quick choice that made it, if any

    def query(self, **extra: str) -> str:
        values = {"from": self.first.isoformat(), "to": self.last.isoformat()}
        values |= {k: v for k, v in (("channel", self.channel), ("language", self.language)) if v}
        return urlencode(values | extra)


# -- reading the filters ---------------------------------------------------------------------------


def read_period(args: dict[str, str], today: date, languages: Sequence[str]) -> Period:
    """The period, channel and language asked for: a quick choice (`days`) wins over the
    dates; without either, the last 30 days up to today."""
    channel = _choice(args.get("channel"), CHANNELS, "channel")
    language = _choice(args.get("language"), languages, "language")
    days_value = (args.get("days") or "").strip()
    if days_value:
        if days_value not in {str(d) for d in QUICK_DAYS}:
            raise BadFilters(f'"days" must be one of {", ".join(map(str, QUICK_DAYS))}')
        days = int(days_value)
        return Period(today - timedelta(days=days - 1), today, channel, language, days)
    last = _date(args.get("to"), "to") or today
    first = _date(args.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise BadFilters('"from" must not be after "to"')
    if (last - first).days >= LONGEST_PERIOD_DAYS:
        raise BadFilters(f"a report covers at most {LONGEST_PERIOD_DAYS} days")
    days = (last - first).days + 1 if last == today and (last - first).days + 1 in QUICK_DAYS else None
    return Period(first, last, channel, language, days)


def to_filters(period: Period) -> Filters:
    """Days to the instants the figures are computed over: [first 00:00, last+1 00:00)."""
    since = datetime.combine(period.first, time(), ZONE)
    until = datetime.combine(period.last + timedelta(days=1), time(), ZONE)
    return Filters(since=since, until=until, channel=period.channel, language=period.language)


def _date(value: str | None, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadFilters(f'"{name}" must be a date written YYYY-MM-DD') from None
    if not EARLIEST <= day <= LATEST:
        raise BadFilters(f'"{name}" must be between {EARLIEST} and {LATEST}')
    return day


def _choice(value: str | None, allowed: Sequence[str], name: str) -> str | None:
    value = (value or "").strip()
    if not value or value == "all":
        return None
    if value not in allowed:
        raise BadFilters(f'"{name}" must be one of: {", ".join(allowed)}')
    return value


# -- where the figures come from (other modules; imported late so the page loads without them) ----


def load_report(filters: Filters) -> Report:
    """The figures, reused for a minute: the page's CSV links and JSON ask for the report
    just computed for the page, and over a large history that takes seconds."""
    from .figures import compute

    key = (hub().db.url, filters)
    with _recent_lock:
        kept = _recent.get(key)
    if kept is not None and clock.monotonic() - kept[0] < REUSE_SECONDS:
        return kept[1]
    report = compute(hub().db, filters)
    with _recent_lock:
        _recent.pop(key, None)
        _recent[key] = (clock.monotonic(), report)
        while len(_recent) > REUSE_MOST:
            _recent.pop(next(iter(_recent)))  # the oldest first: dicts keep insertion order
    return report


_recent: dict[tuple[str, Filters], tuple[float, Report]] = {}
_recent_lock = threading.Lock()


def load_clusters(filters: Filters) -> list[Cluster]:
    """Grouped by the action server (it holds the model); GapsUnavailable if it cannot."""
    from .gaps import clusters

    return clusters(hub().db, filters, actions_url=hub().settings.actions_url)


def write_gap_draft(cluster: Cluster, author: str, language: str) -> str:
    """Write the draft and say where it went (as editors would open it)."""
    from ..desk.drafts import display_path
    from .gaps import draft_from_cluster

    return display_path(draft_from_cluster(hub().settings, cluster, language, author=author))


# -- access -----------------------------------------------------------------------------------------


def supervisor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Reports show every agent's figures: supervisors only."""

    @login_required
    @wraps(view)
    def wrapper(*args, **kwargs):
        agent = current_agent()
        if agent.role != SUPERVISOR:
            if request.path.endswith((".csv", ".json")):
                raise ApiError(403, "the reports are for supervisors")
            return render_template("reports/forbidden.html", r=_texts()), 403
        return view(*args, **kwargs)

    return wrapper


# -- the page ---------------------------------------------------------------------------------------


@blueprint.get("")
@supervisor_required
def page():
    settings = hub().settings
    today = _today()
    try:
        period = read_period(request.args, today, settings.languages)
    except BadFilters as exc:
        fallback = Period(today - timedelta(days=DEFAULT_DAYS - 1), today, None, None, DEFAULT_DAYS)
        return _render(fallback, None, None, error=str(exc)), 400
    filters = to_filters(period)
    report = load_report(filters)
    clusters = _clusters_or_none(filters)
    return _render(period, report, clusters)


@supervisor_required
def csv_table(name: str):
    period, filters = _api_filters()
    report = load_report(filters)
    clusters = _clusters_or_none(filters) if name == "gaps" else []
    if clusters is None:  # an empty file would read as "no gaps"
        raise ApiError(503, "the knowledge gaps cannot be grouped now (the action server is unavailable)")
    header, rows = table(name, report, clusters)
    body = "\ufeff" + to_csv(header, rows)  # the BOM: Excel then reads the Polish letters as UTF-8
    filename = f"report-{name}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# One fixed route per table (no <name> in the URL): nothing of a request's path but a
# known table name is ever echoed, and an unknown one is the hub's plain JSON 404.
for _name in TABLES:
    blueprint.add_url_rule(f"/{_name}.csv", f"csv_{_name}", csv_table, methods=["GET"], defaults={"name": _name})


@blueprint.get("/report.json")
@supervisor_required
def json_report():
    period, filters = _api_filters()
    report = load_report(filters)
    clusters = _clusters_or_none(filters)
    body = {
        "report": _jsonable(dataclasses.asdict(report)),
        "gaps": None if clusters is None else [_jsonable(dataclasses.asdict(c)) for c in clusters],
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/gaps/draft")
@supervisor_required
def create_draft():
    """One click from a gap to a FAQ draft. The form names the cluster by its messages and
    the filters it was found with; the clusters are computed again here (so a form cannot
    make the server write text that is not in the database), and the one sharing most
    messages with the form's is drafted: new questions since the page loaded do not
    make the click fail."""
    try:
        period = read_period(request.form, _today(), hub().settings.languages)
        wanted = {int(part) for part in request.form.get("messages", "").split(",") if part.strip()}
    except (BadFilters, ValueError) as exc:
        raise ApiError(400, f"cannot read the form: {exc}") from None
    if not wanted:
        raise ApiError(400, '"messages" must list the cluster\'s message ids')
    language = desk_language()
    found = _clusters_or_none(to_filters(period))
    if found is None:
        flash(text("unavailable", language), "error")
    elif (cluster := _closest(found, wanted)) is None:
        flash(text("draft_gone", language), "error")
    else:
        draft_language = cluster.languages[0] if cluster.languages else language
        try:
            where = write_gap_draft(cluster, author=current_agent().name, language=draft_language)
        except ValueError as exc:  # DraftError: what the draft lacks
            flash(text("draft_failed", language, detail=str(exc)), "error")
        else:
            flash(text("draft_written", language, path=where), "ok")
    return redirect(f"{blueprint.url_prefix}?{period.query()}#gaps", 303)


def _closest(clusters: Sequence[Cluster], wanted: set[int]) -> Cluster | None:
    best = max(clusters, key=lambda c: len(wanted.intersection(c.message_ids)), default=None)
    return best if best is not None and wanted.intersection(best.message_ids) else None


# -- shaping --------------------------------------------------------------------------------------


def _api_filters() -> tuple[Period, Filters]:
    settings = hub().settings
    try:
        period = read_period(request.args, _today(), settings.languages)
    except BadFilters as exc:
        raise ApiError(400, str(exc)) from None
    return period, to_filters(period)


def _clusters_or_none(filters: Filters) -> list[Cluster] | None:
    """The gaps need the action server's model: without it the rest of the report shows,
    and the gaps say they are unavailable (the reason is logged)."""
    from .gaps import GapsUnavailable

    try:
        return load_clusters(filters)
    except GapsUnavailable as exc:
        log.warning("knowledge gaps unavailable: %s", exc)
    except Exception:
        log.exception("knowledge gaps could not be computed")
    return None


def _today() -> date:
    return datetime.now(ZONE).date()


def _texts() -> Callable[..., str]:
    language = desk_language()
    return lambda key, **values: text(key, language, **values)


def _render(period: Period, report: Report | None, clusters: list[Cluster] | None, error: str | None = None) -> str:
    language = desk_language()
    r = _texts()
    agent = current_agent()
    return render_template(
        "reports/reports.html",
        r=r,
        label=lambda kind, value: label(kind, value, language),
        agent={"name": agent.name, "role": agent.role},
        period=period,
        report=report,
        clusters=clusters,
        error=error,
        zone="UTC",  # ZONE, as the page names it
        channels=CHANNELS,
        languages=hub().settings.languages,
        quick_days=QUICK_DAYS,
        gaps_shown=GAPS_SHOWN,
        desk_languages=LANGUAGES,
        messages=get_flashed_messages(with_categories=True),
        csv=lambda name: f"{blueprint.url_prefix}/{name}.csv?{period.query()}",
        json_url=f"{blueprint.url_prefix}/report.json?{period.query()}",
        lang_url=lambda code: f"{blueprint.url_prefix}?{period.query(lang=code)}",
        charts=_charts(report, language) if report is not None else {},
        fmt=_Formats(language, ZONE),
    )


class _Formats:
    """Numbers, shares, durations and moments as the page's language writes them."""

    def __init__(self, language: str, zone: Any) -> None:
        self.language, self.zone = language, zone

    def number(self, value: float | None, digits: int = 0) -> str:
        return number(value, self.language, digits)

    def percent(self, value: float | None) -> str:
        return percent(value, self.language)

    def seconds(self, value: float | None) -> str:
        return duration(value, self.language)

    def ms(self, value: float | None) -> str:
        return duration(None if value is None else value / 1000, self.language)

    def day(self, value: date) -> str:
        return value.strftime("%d.%m.%Y") if self.language == "pl" else value.isoformat()

    def moment(self, value: datetime) -> str:
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")


def _charts(report: Report, language: str) -> dict[str, Any]:
    def r(key: str, **values) -> str:
        return text(key, language, **values)

    def whole(value: float) -> str:
        return number(value, language)

    def one_decimal(value: float) -> str:
        return number(value, language, 0 if value == int(value) else 1)

    days = [d.day for d in report.days]
    result: dict[str, Any] = {}
    if any(d.conversations for d in report.days):
        peak = max(d.conversations for d in report.days)
        result["volume"] = _Figure(
            r("chart_volume_title"),
            charts.time_chart(
                "chart-volume",
                days,
                [
                    charts.Series(r("series_contained"), [d.contained for d in report.days], charts.SKY),
                    charts.Series(r("series_handed_over"), [d.handed_over for d in report.days], charts.BLUE),
                ],
                title=r("chart_volume_title"),
                desc=r("chart_volume_desc", total=whole(sum(d.conversations for d in report.days)), peak=whole(peak)),
                stacked=True,
                number=whole,
            ),
        )
    waits = [d.queue_wait_p50_s for d in report.days]
    if any(w is not None for w in waits):
        # Minutes when customers usually wait a minute or more, else seconds.
        minutes = statistics.median(w for w in waits if w is not None) >= 60
        unit = r("unit_min_short") if minutes else r("unit_s_short")
        result["waits"] = _Figure(
            r("chart_waits_title", unit=unit),
            charts.time_chart(
                "chart-waits",
                days,
                [charts.Series(r("series_queue_wait"), [_in(w, 60 if minutes else 1) for w in waits], charts.AMBER)],
                title=r("chart_waits_title", unit=unit),
                desc=r("chart_waits_desc", unit=unit),
                number=one_decimal,
                cap_outliers=True,
            ),
        )
    if any(d.csat is not None for d in report.days):
        result["csat"] = _Figure(
            r("chart_csat_title"),
            charts.time_chart(
                "chart-csat",
                days,
                [charts.Series(r("series_csat"), [d.csat for d in report.days], charts.GREEN)],
                title=r("chart_csat_title"),
                desc=r("chart_csat_desc"),
                number=one_decimal,
                ticks=[0, 1, 2, 3, 4, 5],
            ),
        )
    if report.volume.by_reason:
        result["reasons"] = charts.bar_chart(
            "chart-reasons",
            [(label("reason", reason, language), count) for reason, count in report.volume.by_reason.items()],
            title=r("reasons_heading"),
            desc=r("reasons_desc", total=whole(sum(report.volume.by_reason.values()))),
            number=whole,
        )
    for index, satisfaction in enumerate(report.csat):
        if satisfaction.ratings:
            who = r("who_bot") if satisfaction.agent_id is None else satisfaction.who
            described = ", ".join(f"{s}: {satisfaction.distribution.get(s, 0)}" for s in range(1, 6))
            result[f"distribution-{index}"] = charts.distribution_chart(
                f"chart-distribution-{index}",
                satisfaction.distribution,
                title=f"{r('col_distribution')}: {who}",
                desc=described,
            )
    return result


@dataclasses.dataclass(frozen=True)
class _Figure:
    """A chart with its caption shown above it (the SVG's own title is for screen readers)."""

    caption: str
    svg: Markup


def _in(value: float | None, unit: float) -> float | None:
    return None if value is None else value / unit


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
