"""Schedules (opening hours, lunch, extended service, holidays, exceptions), staff and the roster."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from counterwatch.config.base import ClockTime, Identifier, Strict, TimeRange, minutes_of

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ExtendedService(Strict):
    """延时服务: extra service hours (lunch-time or weekend) on top of the regular opening hours."""

    days: tuple[Weekday, ...] = Field(min_length=1, description="Weekdays on which the extended hours apply.")
    hours: TimeRange = Field(description="The extended service period.")


class Schedule(Strict):
    """Regular opening hours of a window (or a group of windows)."""

    days: tuple[Weekday, ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri"), min_length=1, description="Regular working weekdays.")
    open: ClockTime = Field(default="08:30", description="Opening time, HH:MM.")
    close: ClockTime = Field(default="17:30", description="Closing time, HH:MM.")
    lunch: TimeRange | None = Field(default=None, description="Lunch break when the window is closed; null for none.")
    extended: tuple[ExtendedService, ...] = Field(
        default=(), description="Extended-service periods (延时服务) when the window is staffed outside regular hours.")

    @model_validator(mode="after")
    def _ordered(self) -> Schedule:
        if minutes_of(self.close) <= minutes_of(self.open):
            raise ValueError(f"close {self.close} must be after open {self.open}")
        if self.lunch is not None and not (
            minutes_of(self.open) < minutes_of(self.lunch.start) < minutes_of(self.lunch.end) < minutes_of(self.close)
        ):
            raise ValueError(f"lunch {self.lunch.start}-{self.lunch.end} must lie inside {self.open}-{self.close}")
        return self


class DayException(Strict):
    """A date that differs from the weekly pattern: a working weekend (调休) or a special closure or short day."""

    date: dt.date = Field(description="The date, YYYY-MM-DD.")
    closed: bool = Field(default=False, description="true: no service on this date.")
    hours: tuple[TimeRange, ...] = Field(
        default=(), description="Service periods on this date (replaces the weekly pattern); empty with closed=false "
        "means 'a regular working day with the schedule's normal hours'.")
    windows: tuple[Identifier, ...] = Field(
        default=(), description="Windows the exception applies to; empty = every window.")
    note: str = Field(default="", max_length=200, description="Why (shown in reports).")

    @model_validator(mode="after")
    def _consistent(self) -> DayException:
        if self.closed and self.hours:
            raise ValueError("a closed day cannot list service hours")
        return self


class Calendar(Strict):
    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone of the hall; stored times are UTC.")
    schedules: dict[Identifier, Schedule] = Field(
        default_factory=lambda: {"standard": Schedule()}, min_length=1,
        description="Named schedules; each window names one.")
    national: tuple[str, ...] = Field(
        default=(), description="National holiday calendars the hall follows (法定节假日 and 调休上班 make-up working "
        "days, written by `counterwatch calendar update`): files or folders of them, relative to this config file. "
        "A national holiday closes every window; a make-up working day is a regular working day.")
    holidays: tuple[dt.date, ...] = Field(default=(), description="The hall's own extra holidays: every window "
                                          "closed.")
    exceptions: tuple[DayException, ...] = Field(default=(), description="Dates that differ from the weekly pattern.")

    @model_validator(mode="after")
    def _valid_zone(self) -> Calendar:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (use an IANA name such as Asia/Shanghai)") from None
        return self


class StaffMember(Strict):
    id: Identifier = Field(description="Staff id (e.g. the HR number).")
    name: str = Field(min_length=1, max_length=64, description="Full name as shown in reports.")
    department: str = Field(default="", max_length=64, description="Department (部门).")


class RosterEntry(Strict):
    """Who staffs which window when. Date-specific entries override weekly ones for that date and window."""

    window: Identifier = Field(description="Window id.")
    staff: Identifier = Field(description="Staff id.")
    days: tuple[Weekday, ...] = Field(default=WEEKDAYS[:5], description="Weekdays this entry covers.")
    date: dt.date | None = Field(default=None, description="A single date (overrides weekly entries that day).")
    valid_from: dt.date | None = Field(default=None, description="First date the entry applies (inclusive).")
    valid_until: dt.date | None = Field(default=None, description="Last date the entry applies (inclusive).")
    hours: TimeRange | None = Field(default=None, description="Shift hours; null = the window's service hours.")

    @model_validator(mode="after")
    def _range(self) -> RosterEntry:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self
