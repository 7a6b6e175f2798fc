"""Charts drawn on the server as SVG: no script, no CDN, nothing for a strict CSP to refuse.

Every chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`
(what a screen reader says), with its numbers written on it as text (axis ticks, values
at the ends of bars), so it reads at a glance and prints. Only presentation attributes
colour it: a `style` attribute would need 'unsafe-inline' in the page's CSP. Every text
that comes from data (a reason, an agent's name) is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

# Calm colours that keep a 3:1 contrast on white for lines and bars.
BLUE = "#2f5f8a"
SKY = "#7fa7c9"
AMBER = "#b7793f"
GREEN = "#3f7d5c"
GRID = "#e3e7ec"
AXIS = "#c5cbd3"
INK = "#1f2933"
MUTED = "#5b6675"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif"

WIDTH = 640
Number = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    colour: str


def plain_number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.1f}"


def time_chart(
    chart_id: str,
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    stacked: bool = False,
    day_label: Callable[[date], str] = lambda d: f"{d.day}.{d.month:02d}",
    number: Number = plain_number,
    ticks: Sequence[float] | None = None,
    cap_outliers: bool = False,
) -> Markup:
    """Values over days: stacked areas (parts of a whole, e.g. contained + handed over)
    or lines (a missing value breaks the line rather than pretending it was zero).
    `ticks` fixes the scale (a 1-5 rating), else it reaches the highest value, or with
    `cap_outliers` the usual days: one day of overnight tickets would otherwise flatten
    a month of waits to a line at zero. A capped value sits on the top edge, its number
    written beside it."""
    height, left, right, top, bottom = 260, 56, 16, 34, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    tops = _stack(series) if stacked else [list(s.values) for s in series]
    known = sorted(v for row in tops for v in row if v is not None)
    ticks = list(ticks) if ticks else nice_ticks(_scale_top(known, cap_outliers))
    scale_max = ticks[-1] or 1
    count = len(days)

    def x(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    def y(value: float) -> float:
        return top + plot_h - plot_h * min(value, scale_max) / scale_max

    parts = [_open(chart_id, title, desc, height)]
    parts += _legend(series, left, 14)
    for tick in ticks:
        parts.append(_line(left, y(tick), WIDTH - right, y(tick), GRID if tick else AXIS))
        parts.append(_text(left - 8, y(tick) + 4, number(tick), anchor="end"))
    for index in _label_positions(count):
        last = count > 1 and index == count - 1  # kept inside the picture's right edge
        parts.append(
            _text(
                x(index) + (8 if last else 0), height - 10, day_label(days[index]), anchor="end" if last else "middle"
            )
        )
    if stacked:
        floor = [0.0] * count
        for values, one in zip(tops, series, strict=True):
            upper = [v or 0.0 for v in values]
            parts.append(
                _area(
                    [(x(i), y(v)) for i, v in enumerate(upper)], [(x(i), y(v)) for i, v in enumerate(floor)], one.colour
                )
            )
            floor = upper
    else:
        for values, one in zip(tops, series, strict=True):
            for run in _runs(values):
                points = [(x(i), y(values[i])) for i in run]
                parts.append(_polyline(points, one.colour))
            if count <= 45:
                parts += [_dot(x(i), y(v), one.colour) for i, v in enumerate(values) if v is not None]
            for i, v in enumerate(values):
                if v is not None and v > scale_max:
                    near_end = x(i) > WIDTH - right - 60
                    label = _text(
                        x(i) + (-7 if near_end else 7), top + 4, number(v), anchor="end" if near_end else "start"
                    )
                    parts.append(_dot(x(i), y(v), one.colour) + label.replace(f'fill="{MUTED}"', f'fill="{INK}"'))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    chart_id: str,
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str,
    colour: str = BLUE,
    number: Number = plain_number,
    label_width: int = 230,
) -> Markup:
    """Horizontal bars, one per row, labelled on the left and valued at the bar's end:
    long labels (FAQ titles, reasons) stay readable, unlike under vertical bars."""
    row, top = 30, 8
    height = top * 2 + row * max(len(bars), 1)
    plot_w = WIDTH - label_width - 70
    highest = max((value for _, value in bars), default=0) or 1
    parts = [_open(chart_id, title, desc, height)]
    for index, (label, value) in enumerate(bars):
        y = top + index * row
        width = max(plot_w * value / highest, 2 if value else 0)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f"<g><title>{escape(label)}: {escape(number(value))}</title>")
        parts.append(_text(label_width - 10, y + 19, short, anchor="end", colour=INK))
        parts.append(
            f'<rect x="{label_width}" y="{y + 6}" width="{width:.1f}" height="18" rx="3" fill="{colour}"></rect>'
        )
        parts.append(_text(label_width + width + 6, y + 19, number(value), colour=INK))
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def distribution_chart(chart_id: str, counts: dict[int, int], *, title: str, desc: str) -> Markup:
    """Ratings 1..5 as five small columns with their counts: the shape of satisfaction
    (mostly 5s, or split between 1s and 5s) that an average hides."""
    width, height, column, gap, top, bottom = 170, 76, 26, 8, 16, 18
    highest = max(counts.values(), default=0) or 1
    parts = [_open(chart_id, title, desc, height, width=width)]
    for index, score in enumerate(range(1, 6)):
        value = counts.get(score, 0)
        x = 4 + index * (column + gap)
        bar = (height - top - bottom) * value / highest
        base = height - bottom
        colour = GREEN if score >= 4 else (SKY if score == 3 else AMBER)
        parts.append(
            f'<rect x="{x}" y="{base - bar:.1f}" width="{column}" height="{bar:.1f}" rx="2" fill="{colour}"></rect>'
        )
        parts.append(_line(x, base, x + column, base, AXIS))
        parts.append(_text(x + column / 2, base - bar - 4, str(value), anchor="middle", size=11, colour=INK))
        parts.append(_text(x + column / 2, height - 4, str(score), anchor="middle", size=11))
    parts.append("</svg>")
    return Markup("".join(parts))


# -- scales ---------------------------------------------------------------------------------


def nice_ticks(highest: float, steps: int = 4) -> list[float]:
    """0 and a few round steps (1, 2, 2.5, 5 × 10^n) reaching at least `highest`."""
    if highest <= 0:
        return [0.0, 1.0]
    raw = highest / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = math.ceil(highest / step - 1e-9)
    return [round(step * i, 10) for i in range(count + 1)]


def _scale_top(known: Sequence[float], cap_outliers: bool) -> float:
    """The highest value, or with `cap_outliers` a little above the usual days (their
    90th percentile) when the highest is far beyond them."""
    if not known:
        return 0
    highest = known[-1]
    if cap_outliers and len(known) >= 5:
        usual = known[int(0.9 * (len(known) - 1))]
        if usual > 0 and highest > 2.5 * usual:
            return usual * 1.25
    return highest


def _label_positions(count: int, most: int = 8) -> list[int]:
    """Which days get a date under them: the first, the last, and evenly between."""
    if count <= most:
        return list(range(count))
    every = math.ceil((count - 1) / (most - 1))
    positions = list(range(0, count - 1, every))
    if count - 1 - positions[-1] < every / 2:
        positions.pop()
    return [*positions, count - 1]


def _stack(series: Sequence[Series]) -> list[list[float]]:
    totals: list[list[float]] = []
    running = [0.0] * (len(series[0].values) if series else 0)
    for one in series:
        running = [r + (v or 0.0) for r, v in zip(running, one.values, strict=True)]
        totals.append(running)
    return totals


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    runs: list[list[int]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(index)
    return [run for run in runs if len(run) > 1]


# -- SVG pieces ------------------------------------------------------------------------------------


def _open(chart_id: str, title: str, desc: str, height: int, width: int = WIDTH) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" font-family="{FONT}" font-size="13">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts = []
    for one in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="12" height="12" rx="2" fill="{one.colour}"></rect>')
        parts.append(_text(x + 18, y + 1, one.label, colour=INK))
        x += 18 + 7.6 * len(one.label) + 22
    return parts


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 13, colour: str = MUTED) -> str:
    position = f'x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"'
    return f'<text {position} font-size="{size}" fill="{colour}">{escape(content)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="1"></line>'


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _polyline(points: Sequence[tuple[float, float]], colour: str) -> str:
    return (
        f'<polyline points="{_points(points)}" fill="none" stroke="{colour}" stroke-width="2.5" '
        'stroke-linejoin="round" stroke-linecap="round"></polyline>'
    )


def _area(upper: Sequence[tuple[float, float]], lower: Sequence[tuple[float, float]], colour: str) -> str:
    if len(upper) == 1:  # one day: a column rather than an invisible sliver
        (x, y_top), (_, y_bottom) = upper[0], lower[0]
        return (
            f'<rect x="{x - 14:.1f}" y="{y_top:.1f}" width="28" height="{y_bottom - y_top:.1f}" fill="{colour}"></rect>'
        )
    outline = [*upper, *reversed(lower)]
    return (
        f'<polygon points="{_points(outline)}" fill="{colour}" fill-opacity="0.85"></polygon>'
        f'<polyline points="{_points(upper)}" fill="none" stroke="{colour}" stroke-width="1.5"></polyline>'
    )


def _dot(x: float, y: float, colour: str) -> str:
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"></circle>'
