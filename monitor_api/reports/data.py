"""Report data from the record: pure reads and aggregation, no writes.

Presence approximation (documented in the report itself): for each window in scope and each local date, the
service hours come from the hall calendar (counterwatch.rules.schedule.HallCalendar). Time counts as *absent* when
an absence incident (types in ABSENCE_TYPES, not dismissed) covers it, and as *paused* when a pause period covers it;
everything else within service hours counts as *present*. Only elapsed service time counts: hours after the
report's `now` contribute nothing. Cameras do not report "present" directly, so a camera outage counts as presence:
the figure is an upper bound.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.reports.period import KINDS_ZH, Period
from monitor_api.storage.models import (AppealRow, HallRow, IncidentRow, PausePeriodRow, ReviewState, RosterEntryRow,
                                        StaffRow, WindowRow)

SCOPES = ("hall", "window", "staff", "department")
ABSENCE_TYPES = frozenset({"absent_without_pause", "left_during_service"})
REVIEW_STATES = tuple(state.value for state in ReviewState)
Interval = tuple[dt.datetime, dt.datetime]


class Calendar(Protocol):
    """What reports need of counterwatch.rules.schedule.HallCalendar."""

    def service_periods(self, window_id: str, date: dt.date) -> tuple[Interval, ...]: ...


@dataclass
class Report:
    hall_id: str
    hall_name: str
    timezone: str
    period: Period
    scope: str
    key: str | None
    subject: str  # the scope's display name: hall name, window name, staff name or department
    title: str
    incidents: int = 0
    by_type: list[dict[str, Any]] = field(default_factory=list)  # type, pending.., total
    trend: list[dict[str, Any]] = field(default_factory=list)  # date, count
    heatmap: list[list[int]] = field(default_factory=list)  # 7 weekdays (Mon first) x 24 hours
    people: list[dict[str, Any]] = field(default_factory=list)  # per staff member
    windows: list[dict[str, Any]] = field(default_factory=list)  # per window: incidents and presence
    pauses: list[dict[str, Any]] = field(default_factory=list)  # source, count, minutes
    pending_reviews: int = 0
    pending_appeals: list[dict[str, Any]] = field(default_factory=list)
    presence_note: str = ("在岗率 = 截至出表时已过去的服务时段内未被离岗告警（未驳回）与暂停时段覆盖的时间占比；摄像头离线时按在岗计，为上限估计。")

    def as_json(self) -> dict[str, Any]:
        return {
            "hall_id": self.hall_id, "hall_name": self.hall_name, "timezone": self.timezone,
            "period": {"kind": self.period.kind, "text": self.period.text, "first": self.period.first.isoformat(),
                       "end": self.period.end.isoformat(), "label": self.period.label_zh()},
            "scope": self.scope, "key": self.key, "subject": self.subject, "title": self.title,
            "incidents": self.incidents, "by_type": self.by_type, "trend": self.trend, "heatmap": self.heatmap,
            "people": self.people, "windows": self.windows, "pauses": self.pauses,
            "pending_reviews": self.pending_reviews, "pending_appeals": self.pending_appeals,
            "presence_note": self.presence_note,
        }


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back what was stored; UTCDateTime makes it aware UTC, but be defensive for naive values.
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _union_minutes(intervals: list[Interval]) -> float:
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += (current_end - current_start).total_seconds()
    return total / 60.0


def _clip(intervals: list[Interval], bounds: Interval) -> list[Interval]:
    out = []
    for start, end in intervals:
        start, end = max(start, bounds[0]), min(end, bounds[1])
        if end > start:
            out.append((start, end))
    return out


def _scope_windows(session: Session, hall_id: str, scope: str, key: str | None) -> list[WindowRow]:
    query = select(WindowRow).where(WindowRow.hall_id == hall_id).order_by(WindowRow.id)
    if scope == "window":
        query = query.where(WindowRow.id == key)
    elif scope == "department":
        query = query.where(WindowRow.department == key)
    elif scope == "staff":
        rostered = select(RosterEntryRow.window_id).where(RosterEntryRow.hall_id == hall_id,
                                                          RosterEntryRow.staff_id == key)
        query = query.where(WindowRow.id.in_(rostered))
    else:
        query = query.where(WindowRow.active.is_(True))
    return list(session.scalars(query))


def _subject(session: Session, hall: HallRow, scope: str, key: str | None) -> str:
    if scope == "hall":
        return hall.name
    if scope == "window":
        window = session.get(WindowRow, (hall.id, key))
        return window.name if window else str(key)
    if scope == "staff":
        staff = session.get(StaffRow, (hall.id, key))
        return staff.name if staff else str(key)
    return str(key)


def _title(hall_name: str, period: Period, scope: str, subject: str) -> str:
    who = "" if scope == "hall" else f" {subject}"
    return f"{hall_name}{who} {period.label_zh()} 窗口行为{KINDS_ZH[period.kind]}"


def build_report(session: Session, hall_id: str, period: Period, scope: str = "hall", key: str | None = None,
                 calendar: Calendar | None = None, now: dt.datetime | None = None) -> Report:
    """The report of one hall's `scope` (`key` names the window, staff member or department) over `period`.
    LookupError: unknown hall or subject; ValueError: bad scope. Without a calendar presence is left out. `now`
    (aware; the current time by default) bounds presence: service time after it has not happened yet."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    if scope != "hall" and not key:
        raise ValueError(f"scope {scope} needs a key")
    hall = session.get(HallRow, hall_id)
    if hall is None:
        raise LookupError(f"hall {hall_id} not found")
    if scope == "window" and session.get(WindowRow, (hall_id, key)) is None:
        raise LookupError(f"window {key} not found")
    if scope == "staff" and session.get(StaffRow, (hall_id, key)) is None:
        raise LookupError(f"staff member {key} not found")
    subject = _subject(session, hall, scope, key)
    report = Report(hall.id, hall.name, hall.timezone, period, scope, key, subject,
                    _title(hall.name, period, scope, subject))
    zone = ZoneInfo(hall.timezone)
    since, until = period.utc_bounds(hall.timezone)
    windows = {w.id: w for w in session.scalars(select(WindowRow).where(WindowRow.hall_id == hall_id))}
    staff_rows = {s.id: s for s in session.scalars(select(StaffRow).where(StaffRow.hall_id == hall_id))}
    scoped_windows = _scope_windows(session, hall_id, scope, key)

    query = select(IncidentRow).where(IncidentRow.hall_id == hall_id, IncidentRow.started_at >= since,
                                      IncidentRow.started_at < until)
    if scope == "window":
        query = query.where(IncidentRow.window_id == key)
    elif scope == "staff":
        query = query.where(IncidentRow.staff_id == key)
    elif scope == "department":
        query = query.where(IncidentRow.window_id.in_([w.id for w in scoped_windows] or [""]))
    incidents = list(session.scalars(query.order_by(IncidentRow.started_at, IncidentRow.id)))
    report.incidents = len(incidents)

    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    per_day: Counter[dt.date] = Counter()
    heat = [[0] * 24 for _ in range(7)]
    per_staff: dict[str, Counter[str]] = defaultdict(Counter)
    per_window: dict[str, Counter[str]] = defaultdict(Counter)
    for incident in incidents:
        state = incident.review_state.value
        by_type[incident.type][state] += 1
        local = _utc(incident.started_at).astimezone(zone)
        per_day[local.date()] += 1
        heat[local.weekday()][local.hour] += 1
        if incident.staff_id:
            per_staff[incident.staff_id][state] += 1
        per_window[incident.window_id][state] += 1
    report.by_type = [{"type": kind, **{s: counts[s] for s in REVIEW_STATES}, "total": sum(counts.values())}
                      for kind, counts in sorted(by_type.items())]
    report.trend = [{"date": day.isoformat(), "count": per_day[day]} for day in period.days()]
    report.heatmap = heat
    report.people = [{"staff_id": staff_id, "name": staff_rows[staff_id].name if staff_id in staff_rows else staff_id,
                      "department": staff_rows[staff_id].department if staff_id in staff_rows else "",
                      **{s: counts[s] for s in REVIEW_STATES}, "total": sum(counts.values())}
                     for staff_id, counts in sorted(per_staff.items())]

    window_ids = [w.id for w in scoped_windows]
    pauses = list(session.scalars(
        select(PausePeriodRow).where(PausePeriodRow.hall_id == hall_id,
                                     PausePeriodRow.window_id.in_(window_ids or [""]),
                                     PausePeriodRow.started_at < until,
                                     (PausePeriodRow.ended_at.is_(None)) | (PausePeriodRow.ended_at > since))))
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    pause_intervals: dict[str, list[Interval]] = defaultdict(list)
    pause_usage: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for pause in pauses:
        # An open period counts up to now (or the period's end): it is still running.
        interval = (max(_utc(pause.started_at), since), min(_utc(pause.ended_at) if pause.ended_at else now, until))
        if interval[1] <= interval[0]:
            continue
        pause_intervals[pause.window_id].append(interval)
        usage = pause_usage[pause.source.value]
        usage[0] += 1
        usage[1] += (interval[1] - interval[0]).total_seconds() / 60.0
    report.pauses = [{"source": source, "count": int(count), "minutes": round(minutes, 1)}
                     for source, (count, minutes) in sorted(pause_usage.items())]

    absences: dict[str, list[Interval]] = defaultdict(list)
    for incident in incidents:
        if incident.type in ABSENCE_TYPES and incident.review_state is not ReviewState.DISMISSED:
            ended = _utc(incident.ended_at) if incident.ended_at else min(now, until)
            absences[incident.window_id].append((_utc(incident.started_at), ended))
    for window in scoped_windows:
        row: dict[str, Any] = {"window_id": window.id, "name": window.name, "department": window.department,
                               **{s: per_window[window.id][s] for s in REVIEW_STATES},
                               "total": sum(per_window[window.id].values())}
        if calendar is not None:
            row.update(_presence(calendar, window.id, period, absences[window.id], pause_intervals[window.id], now))
        report.windows.append(row)

    report.pending_reviews = sum(1 for i in incidents if i.review_state is ReviewState.PENDING)
    appeals = session.execute(
        select(AppealRow, IncidentRow).join(IncidentRow, AppealRow.incident_id == IncidentRow.id)
        .where(AppealRow.decided_at.is_(None), IncidentRow.id.in_([i.id for i in incidents] or [""]))
        .order_by(AppealRow.filed_at)).all()
    report.pending_appeals = [
        {"appeal_id": appeal.id, "incident_id": incident.id, "type": incident.type,
         "staff": staff_rows[incident.staff_id].name if incident.staff_id in staff_rows else incident.staff_id,
         "filed_at": _utc(appeal.filed_at).astimezone(zone).strftime("%Y-%m-%d %H:%M")}
        for appeal, incident in appeals]
    return report


def _presence(calendar: Calendar, window_id: str, period: Period, absences: list[Interval],
              pauses: list[Interval], now: dt.datetime) -> dict[str, float]:
    service = absent = paused = 0.0
    for day in period.days():
        for start, end in calendar.service_periods(window_id, day):
            bounds = (start.astimezone(dt.timezone.utc), min(end.astimezone(dt.timezone.utc), now))
            if bounds[1] <= bounds[0]:
                continue  # not yet elapsed
            service += (bounds[1] - bounds[0]).total_seconds() / 60.0
            clipped_absent, clipped_paused = _clip(absences, bounds), _clip(pauses, bounds)
            absent_or_paused = _union_minutes(clipped_absent + clipped_paused)
            paused_only = _union_minutes(clipped_paused)
            paused += paused_only
            absent += absent_or_paused - paused_only  # absence inside a pause is not absence
    present = max(service - absent - paused, 0.0)
    return {"service_minutes": round(service, 1), "present_minutes": round(present, 1),
            "paused_minutes": round(paused, 1), "absent_minutes": round(absent, 1),
            "presence_rate": round(present / service, 4) if service else None}
