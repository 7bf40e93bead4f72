"""The hall calendar evaluated in the hall's time zone: service periods, opening times and the roster.

Pure functions over the configuration. Local clock times (HH:MM in the config) become timezone-aware datetimes in
the hall's zone; callers pass aware datetimes (UTC from frames), so daylight-saving transitions are handled by
zoneinfo rather than by arithmetic on naive times. Caution for callers: Python compares and subtracts two datetimes
that share a tzinfo as wall-clock times (ignoring the offset), so convert to UTC before arithmetic across a DST
change; this module compares in UTC.

Precedence for one window on one date (most specific first):
1. a day exception naming this window, then a day exception for every window (``windows: []``);
   ``closed`` closes the date, ``hours`` replace the weekly pattern, neither means "a regular working day";
2. one of the hall's own holidays (``calendar.holidays``): closed;
3. a national holiday (``calendar.national``, counterwatch.config.national): closed;
4. a national make-up working day (调休上班): a regular working day, as an exception without hours;
5. the weekly pattern of the window's schedule: regular hours minus lunch, plus extended-service periods
   (延时服务) for that weekday.
An exception outranks a holiday so that a hall can open one window on a holiday. A date in a year that none of
the hall's national calendars covers follows the weekly pattern, with a warning in the log once per year.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from counterwatch.config.base import TimeRange, minutes_of
from counterwatch.config.calendar import WEEKDAYS, DayException, RosterEntry, Schedule
from counterwatch.config.national import load_national
from counterwatch.config.schema import HallConfig

log = logging.getLogger(__name__)

Period = tuple[dt.datetime, dt.datetime]

_CACHE_SIZE = 256  # (window, date) pairs: every window of a hall for a few days; callers ask once per frame


@dataclass(frozen=True)
class _Minutes:
    """A half-open range of minutes of the day, [start, end)."""

    start: int
    end: int


def _merge(ranges: list[_Minutes]) -> list[_Minutes]:
    """Union of ranges, sorted; touching ranges join (lunch-time extended service fills the lunch break)."""
    merged: list[_Minutes] = []
    for item in sorted(ranges, key=lambda r: (r.start, r.end)):
        if merged and item.start <= merged[-1].end:
            merged[-1] = _Minutes(merged[-1].start, max(merged[-1].end, item.end))
        else:
            merged.append(item)
    return merged


def _of(time_range: TimeRange) -> _Minutes:
    return _Minutes(minutes_of(time_range.start), minutes_of(time_range.end))


def _regular_day(schedule: Schedule) -> list[_Minutes]:
    day = _Minutes(minutes_of(schedule.open), minutes_of(schedule.close))
    if schedule.lunch is None:
        return [day]
    lunch = _of(schedule.lunch)
    return [_Minutes(day.start, lunch.start), _Minutes(lunch.end, day.end)]


def _weekday(date: dt.date) -> str:
    return WEEKDAYS[date.weekday()]


def _worked_day(schedule: Schedule, date: dt.date) -> list[_Minutes]:
    """A worked day (调休): regular hours, plus the extended service of regular working days and of this weekday
    (a Saturday worked as a weekday keeps the weekday lunch-time service)."""
    weekday = _weekday(date)
    extended = [_of(e.hours) for e in schedule.extended if weekday in e.days or set(e.days) & set(schedule.days)]
    return _merge(_regular_day(schedule) + extended)


def _require_aware(name: str, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


class HallCalendar:
    """Service periods and the roster of every window of one hall."""

    def __init__(self, config: HallConfig):
        if not isinstance(config, HallConfig):
            raise ValueError(f"config must be a HallConfig, got {type(config).__name__}")
        self._config = config
        self.zone = ZoneInfo(config.calendar.timezone)
        self._schedule_of = {}
        for window in config.windows:
            if window.schedule not in config.calendar.schedules:
                raise ValueError(f"windows.{window.id}.schedule: unknown schedule {window.schedule!r}")
            self._schedule_of[window.id] = config.calendar.schedules[window.schedule]
        self._holidays = frozenset(config.calendar.holidays)
        self._national = load_national(config.calendar.national, config.base_dir)
        self._unlisted_years: set[int] = set()
        self._periods: dict[tuple[str, dt.date], tuple[Period, ...]] = {}

    @property
    def window_ids(self) -> tuple[str, ...]:
        return tuple(self._schedule_of)

    def _schedule(self, window_id: str) -> Schedule:
        try:
            return self._schedule_of[window_id]
        except KeyError:
            raise ValueError(f"window_id: unknown window {window_id!r}") from None

    def _exception(self, window_id: str, date: dt.date) -> DayException | None:
        specific = general = None
        for exception in self._config.calendar.exceptions:
            if exception.date != date:
                continue
            if window_id in exception.windows and specific is None:
                specific = exception
            elif not exception.windows and general is None:
                general = exception
        return specific or general

    def _minutes(self, window_id: str, date: dt.date) -> list[_Minutes]:
        schedule = self._schedule(window_id)
        exception = self._exception(window_id, date)
        if exception is not None:
            if exception.closed:
                return []
            if exception.hours:
                return _merge([_of(r) for r in exception.hours])
            return _worked_day(schedule, date)
        if date in self._holidays:
            return []
        if self._config.calendar.national:
            if date in self._national.holidays:
                return []
            if date in self._national.workdays:
                return _worked_day(schedule, date)
            if not self._national.covers(date.year) and date.year not in self._unlisted_years:
                self._unlisted_years.add(date.year)
                log.warning("hall %s: no national holiday calendar for %d (calendar.national): its holidays count "
                            "as service days; run `counterwatch calendar update --year %d`", self._config.hall.id,
                            date.year, date.year)
        weekday = _weekday(date)
        regular = _regular_day(schedule) if weekday in schedule.days else []
        extended = [_of(e.hours) for e in schedule.extended if weekday in e.days]
        return _merge(regular + extended)

    def _local(self, date: dt.date, minute: int) -> dt.datetime:
        naive = dt.datetime.combine(date, dt.time(minute // 60, minute % 60))
        # A wall time inside a spring-forward gap does not exist; the round trip through UTC maps it to the
        # instant the clocks show after the jump, so periods keep their order and never run backwards.
        return naive.replace(tzinfo=self.zone).astimezone(dt.UTC).astimezone(self.zone)

    def service_periods(self, window_id: str, date: dt.date) -> tuple[Period, ...]:
        """(start, end) pairs, timezone-aware in the hall's zone, sorted and disjoint; () when closed."""
        if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
            raise ValueError(f"date must be a datetime.date, got {date!r}")
        key = (window_id, date)
        periods = self._periods.get(key)
        if periods is None:
            periods = tuple((self._local(date, r.start), self._local(date, r.end))
                            for r in self._minutes(window_id, date))
            if len(self._periods) >= _CACHE_SIZE:
                self._periods.clear()  # the config is immutable: dropping entries only costs recomputation
            self._periods[key] = periods
        return periods

    def local_date(self, at: dt.datetime) -> dt.date:
        _require_aware("at", at)
        return at.astimezone(self.zone).date()

    def is_open(self, window_id: str, at: dt.datetime) -> bool:
        """Whether `at` (any aware datetime, normally UTC) falls inside a service period of the window."""
        _require_aware("at", at)
        instant = at.astimezone(dt.UTC)
        return any(start.astimezone(dt.UTC) <= instant < end.astimezone(dt.UTC)
                   for start, end in self.service_periods(window_id, self.local_date(at)))

    def opening_time(self, window_id: str, date: dt.date) -> dt.datetime | None:
        periods = self.service_periods(window_id, date)
        return periods[0][0] if periods else None

    def closing_time(self, window_id: str, date: dt.date) -> dt.datetime | None:
        periods = self.service_periods(window_id, date)
        return periods[-1][1] if periods else None

    def rostered_staff(self, window_id: str, at: dt.datetime) -> str | None:
        """Who the roster puts at the window at `at`.

        Date-specific entries outrank weekly ones; within each, an entry with shift hours that contain the time
        outranks an all-day entry. An entry without hours covers its whole date (the person answerable for the
        window that day, also before opening, so that a late arrival names them). A date-specific entry whose
        hours do not cover the time leaves the weekly entry in charge (a morning-only cover).
        """
        _require_aware("at", at)
        self._schedule(window_id)
        local = at.astimezone(self.zone)
        date, minute = local.date(), local.hour * 60 + local.minute
        weekday = _weekday(date)
        dated: list[RosterEntry] = []
        weekly: list[RosterEntry] = []
        for entry in self._config.roster:
            if entry.window != window_id:
                continue
            if entry.valid_from is not None and date < entry.valid_from:
                continue
            if entry.valid_until is not None and date > entry.valid_until:
                continue
            if entry.date is not None:
                if entry.date == date:
                    dated.append(entry)
            elif weekday in entry.days:
                weekly.append(entry)
        for group in (dated, weekly):
            timed = [e for e in group if e.hours is not None and e.hours.contains(minute)]
            if timed:
                return timed[0].staff
            all_day = [e for e in group if e.hours is None]
            if all_day:
                return all_day[0].staff
        return None
