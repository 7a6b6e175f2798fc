"""Business hours: when agents answer in the chat, from `BUSINESS_HOURS`.

Outside them an escalation becomes a ticket (answered later by e-mail), so the value is
read once, at start-up, and a typo stops the hub with a message that names the problem
instead of silently sending every customer to tickets (or none).

The format, in `FAQBOT_TIMEZONE`: `;`-separated spans of days and times,
e.g. "mon-fri 08:00-18:00; sat 09:00-14:00". Days are mon..sun, as ranges ("mon-fri")
or lists ("mon,wed,fri"); one or more time ranges follow ("08:00-12:00,13:00-17:00").
A span ends at the latest at 24:00: one that crosses midnight is written as two.
"" means always open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.payloads import NO_AGENT_ONLINE, OUT_OF_HOURS

from .models import now

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "pl": ("pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz."),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
END_OF_DAY = 24 * 60


class InvalidBusinessHours(ValueError):
    """The configured business hours cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Span:
    days: tuple[int, ...]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # minutes after midnight, up to END_OF_DAY


@dataclass(frozen=True)
class BusinessHours:
    spans: tuple[Span, ...]
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, timezone: str = "Europe/Warsaw") -> BusinessHours:
        """Read the setting; raise InvalidBusinessHours naming the part that is wrong."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidBusinessHours(f"FAQBOT_TIMEZONE: unknown time zone {timezone!r}") from None
        spans = tuple(span for part in text.split(";") if part.strip() for span in _spans(part.strip(), text))
        return cls(spans, zone)

    @property
    def always_open(self) -> bool:
        return not self.spans

    def is_open(self, moment: datetime | None = None) -> bool:
        """Whether agents answer live at `moment` (now by default)."""
        if self.always_open:
            return True
        local = (moment or now()).astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(local.weekday() in s.days and s.start <= minute < s.end for s in self.spans)

    def describe(self, language: str) -> str:
        """The hours as a customer reads them, e.g. "pon.–pt. 8:00–18:00, sob. 9:00–14:00"."""
        names = DAY_NAMES.get(language, DAY_NAMES["en"])
        return ", ".join(
            f"{_days_text(s.days, names)} {_minutes_text(s.start)}–{_minutes_text(s.end)}" for s in self.spans
        )


def _spans(part: str, whole: str) -> list[Span]:
    """One span per time range of a `<days> <ranges>` part."""
    pieces = part.split()
    if len(pieces) != 2:
        raise _error(whole, part, "expected '<days> <HH:MM-HH:MM>', e.g. 'mon-fri 08:00-18:00'")
    days = _days(pieces[0].lower(), whole, part)
    return [Span(days, *_time_range(r, whole, part)) for r in pieces[1].split(",")]


def _days(text: str, whole: str, part: str) -> tuple[int, ...]:
    days: list[int] = []
    for item in text.split(","):
        first, _, last = item.partition("-")
        start, end = _day(first, whole, part), _day(last or first, whole, part)
        if end < start:
            raise _error(whole, part, f"'{item}' runs backwards (write e.g. 'sat-sun' or 'mon-fri')")
        days.extend(range(start, end + 1))
    return tuple(sorted(set(days)))


def _day(name: str, whole: str, part: str) -> int:
    if name not in DAYS:
        raise _error(whole, part, f"unknown day {name!r} (use {', '.join(DAYS)})")
    return DAYS.index(name)


def _time_range(text: str, whole: str, part: str) -> tuple[int, int]:
    first, dash, last = text.partition("-")
    if not dash:
        raise _error(whole, part, f"{text!r} is not a time range like 08:00-18:00")
    start, end = _minutes(first, whole, part), _minutes(last, whole, part)
    if end <= start:
        raise _error(whole, part, f"{text!r} ends before it starts (split a night: 'fri 22:00-24:00; sat 00:00-06:00')")
    return start, end


def _minutes(text: str, whole: str, part: str) -> int:
    match = _TIME.match(text)
    if not match:
        raise _error(whole, part, f"{text!r} is not a time like 08:00")
    hours, minutes = int(match[1]), int(match[2])
    value = hours * 60 + minutes
    if minutes > 59 or value > END_OF_DAY:
        raise _error(whole, part, f"{text!r} is not a time of day (00:00 to 24:00)")
    return value


def _error(whole: str, part: str, why: str) -> InvalidBusinessHours:
    return InvalidBusinessHours(f"BUSINESS_HOURS={whole!r}: in {part!r}: {why}")


def _days_text(days: tuple[int, ...], names: tuple[str, ...]) -> str:
    """Consecutive days as a range: (0, 1, 2, 3, 4, 6) -> "Mon–Fri, Sun"."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}–{names[r[-1]]}" for r in runs)


def _minutes_text(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def why_no_live_help(hours: BusinessHours, agents_online: int, moment: datetime | None = None) -> str | None:
    """None if an agent can answer live now; otherwise why not: "out_of_hours" or
    "no_agent_online" (the handoff's reason, and what the customer is told)."""
    if not hours.is_open(moment):
        return OUT_OF_HOURS
    if agents_online <= 0:
        return NO_AGENT_ONLINE
    return None
