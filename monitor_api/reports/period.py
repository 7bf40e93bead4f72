"""Report periods (a day, an ISO week, a month, a year) as local dates in the hall's time zone.

Periods are local because a hall's "November" starts at midnight in Shanghai, not in UTC; `utc_bounds` converts
for the queries (stored times are UTC).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

KINDS_ZH = {"day": "日报", "week": "周报", "month": "月报", "year": "年报"}
KINDS_EN = {"day": "daily", "week": "weekly", "month": "monthly", "year": "annual"}

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month | year
    text: str  # as asked, e.g. "2026-11"
    first: dt.date  # first local date, inclusive
    end: dt.date  # first local date after the period

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.end - self.first).days)]

    def utc_bounds(self, tz: str) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(tz)
        start = dt.datetime.combine(self.first, dt.time(), zone).astimezone(dt.UTC)
        stop = dt.datetime.combine(self.end, dt.time(), zone).astimezone(dt.UTC)
        return start, stop

    def label_zh(self) -> str:
        if self.kind == "day":
            return f"{self.first.year}年{self.first.month}月{self.first.day}日"
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}年第{week}周"
        if self.kind == "month":
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first.year}年"


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)


def parse_period(text: str) -> Period:
    """'2026-11-03' | '2026-W45' | '2026-11' | '2026'; ValueError otherwise."""
    text = text.strip()
    try:
        if match := _DAY.match(text):
            first = dt.date(*map(int, match.groups()))
            return Period("day", text, first, first + dt.timedelta(days=1))
        if match := _WEEK.match(text):
            first = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return Period("week", text, first, first + dt.timedelta(days=7))
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            first = dt.date(year, month, 1)
            return Period("month", text, first, _month_end(year, month))
        if match := _YEAR.match(text):
            year = int(match[1])
            return Period("year", text, dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
    except ValueError:
        pass
    raise ValueError(f"period must be YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY, got {text!r}")


def previous_month(today: dt.date) -> Period:
    """The month before `today`'s month (the one that has closed)."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return parse_period(f"{last.year:04d}-{last.month:02d}")
