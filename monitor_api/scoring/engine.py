"""Pure scoring: the record (incidents with their review and appeals, complaints) + config + period -> scores.

Nothing here touches the database or the clock, so a score is a function of the record: a dismissal or an upheld
appeal simply makes an incident stop counting, and every period it touched is different the next time it is computed.
Periods are calendar months/years in the hall's time zone: an incident at 00:30 on 1 April in Asia/Shanghai belongs
to April although it is still 31 March in UTC (stored times are UTC).
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor_api.scoring.config import FlagThreshold, ScoringConfig

_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` calendar months later, the day clamped to the month's end (Jan 31 + 1 =
    Feb 28/29): the meaning of "12 months" in 投诉问责制 第七条 (一年内) for a hall."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31,
            30, 31][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days))


@dataclass(frozen=True)
class Period:
    """A month ("2026-03") or a year ("2026") in a time zone."""

    label: str
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if not _PERIOD.match(self.label):
            raise ValueError(f"period must be YYYY-MM or YYYY, got {self.label!r}")
        if not 1970 <= int(self.label[:4]) <= 9000:  # a 12-month look-back must stay representable
            raise ValueError(f"period year must be within 1970..9000, got {self.label!r}")
        ZoneInfo(self.tz)

    @property
    def is_month(self) -> bool:
        return len(self.label) == 7

    @property
    def start_local(self) -> datetime:
        year = int(self.label[:4])
        month = int(self.label[5:7]) if self.is_month else 1
        return datetime(year, month, 1, tzinfo=ZoneInfo(self.tz))

    @property
    def end_local(self) -> datetime:
        return add_months(self.start_local, 1 if self.is_month else 12)

    @property
    def start(self) -> datetime:
        return self.start_local.astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.end_local.astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @classmethod
    def month_of(cls, moment: datetime, tz: str) -> Period:
        local = moment.astimezone(ZoneInfo(tz))
        return cls(f"{local.year:04d}-{local.month:02d}", tz)

    @classmethod
    def year_of(cls, moment: datetime, tz: str) -> Period:
        return cls(f"{moment.astimezone(ZoneInfo(tz)).year:04d}", tz)


@dataclass(frozen=True)
class IncidentRecord:
    """An incident as the record has it: the first review's decision and whether any appeal was upheld."""

    id: str
    hall_id: str
    window_id: str
    staff_id: str | None
    type: str
    started_at: datetime
    ended_at: datetime | None
    review_decision: str | None  # "confirm" | "dismiss" | None (not reviewed)
    appeal_upheld: bool = False

    @property
    def counts(self) -> bool:
        """Due process: only a confirmation that survived its appeals changes a score."""
        return self.review_decision == "confirm" and not self.appeal_upheld

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else max(0.0, (self.ended_at - self.started_at).total_seconds())


@dataclass(frozen=True)
class ComplaintRecord:
    id: int
    hall_id: str
    window_id: str | None
    staff_id: str | None
    received_at: datetime
    outcome: str | None  # "upheld" | "not_upheld" | None (open, rejected)
    incident_ids: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        return self.outcome == "upheld"


@dataclass(frozen=True)
class Deduction:
    source: str  # "incident" | "complaint"
    source_id: str
    type: str  # the incident type, or "complaint_upheld"
    window_id: str | None
    at: datetime
    points: float


@dataclass(frozen=True)
class Flag:
    name: str  # notice_issued | self_examination_required | award_eligibility_lost | escalation
    incident_ids: tuple[str, ...]
    complaint_ids: tuple[int, ...]
    at: datetime | None = None  # escalation: when the escalating violation happened


@dataclass(frozen=True)
class StaffScore:
    hall_id: str
    staff_id: str
    period: str
    base: float
    deducted: float
    score: float
    deductions: tuple[Deduction, ...]
    flags: tuple[Flag, ...]
    by_window: tuple[tuple[str, float], ...] = field(default=())  # (window id, points deducted there)


def _violations(incidents: Iterable[IncidentRecord], complaints: Iterable[ComplaintRecord],
                config: ScoringConfig) -> dict[tuple[str, str], list[Deduction]]:
    per_staff: dict[tuple[str, str], list[Deduction]] = defaultdict(list)
    for incident in incidents:
        if incident.counts and incident.staff_id is not None:
            points = config.incident_points(incident.type, incident.duration_s)
            per_staff[(incident.hall_id, incident.staff_id)].append(Deduction(
                "incident", incident.id, incident.type, incident.window_id, incident.started_at, points))
    for complaint in complaints:
        if complaint.counts and complaint.staff_id is not None:
            per_staff[(complaint.hall_id, complaint.staff_id)].append(Deduction(
                "complaint", str(complaint.id), "complaint_upheld", complaint.window_id, complaint.received_at,
                config.complaints.upheld))
    for items in per_staff.values():
        items.sort(key=lambda item: (item.at, item.source, item.source_id))
    return per_staff


def _ids(items: Iterable[Deduction]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    items = list(items)
    return (tuple(item.source_id for item in items if item.source == "incident"),
            tuple(int(item.source_id) for item in items if item.source == "complaint"))


def _threshold_flag(name: str, threshold: FlagThreshold, items: list[Deduction]) -> Flag | None:
    deducted = sum(item.points for item in items)
    by_count = threshold.min_violations > 0 and len(items) >= threshold.min_violations
    by_points = threshold.min_points > 0 and deducted >= threshold.min_points
    if not items or not (by_count or by_points):
        return None
    incident_ids, complaint_ids = _ids(items)
    return Flag(name, incident_ids, complaint_ids)


def escalations(history: list[Deduction], config: ScoringConfig, tz: str) -> list[Flag]:
    """第七条 (三): a violation escalates when it is the N-th (default 2nd) inside a rolling window of calendar months:
    an earlier violation at t1 is inside the window of a later one at t2 iff t2 < t1 + months (hall-local wall clock,
    day clamped). Twelve months and a day later is outside; a day short of twelve months is inside."""
    zone, months, needed = ZoneInfo(tz), config.flags.escalation_window_months, config.flags.escalation_violations
    flags = []
    for index, current in enumerate(history):
        now_local = current.at.astimezone(zone)
        window = [earlier for earlier in history[:index]
                  if now_local < add_months(earlier.at.astimezone(zone), months)]
        if len(window) + 1 >= needed:
            incident_ids, complaint_ids = _ids([*window, current])
            flags.append(Flag("escalation", incident_ids, complaint_ids, current.at))
    return flags


def compute_scores(incidents: Iterable[IncidentRecord], complaints: Iterable[ComplaintRecord],
                   config: ScoringConfig, period: Period,
                   staff: Iterable[tuple[str, str]] = ()) -> tuple[StaffScore, ...]:
    """Scores of `period` per staff member (hall, staff id), sorted. The record must reach back
    escalation_window_months before the period for escalations to see earlier violations. `staff` adds members
    without any deduction (full score)."""
    per_staff = _violations(incidents, complaints, config)
    base = config.monthly_base if period.is_month else config.annual_base
    results = []
    for key in sorted(set(per_staff) | set(staff)):
        history = per_staff.get(key, [])
        inside = [item for item in history if period.contains(item.at)]
        deducted = round(sum(item.points for item in inside), 4)
        flags: list[Flag] = []
        for name in ("notice_issued", "self_examination_required", "award_eligibility_lost"):
            flag = _threshold_flag(name, getattr(config.flags, name), inside)
            if flag is not None:
                flags.append(flag)
        flags.extend(flag for flag in escalations(history, config, period.tz)
                     if flag.at is not None and period.contains(flag.at))
        windows: dict[str, float] = defaultdict(float)
        for item in inside:
            windows[item.window_id or ""] += item.points
        results.append(StaffScore(key[0], key[1], period.label, base, deducted,
                                  max(config.floor, round(base - deducted, 4)), tuple(inside), tuple(flags),
                                  tuple(sorted((window, round(points, 4)) for window, points in windows.items()))))
    return tuple(results)
