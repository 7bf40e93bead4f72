"""Report data from the record: pure reads and aggregation, no writes.

Presence (monitor_api.reports.presence, explained in the report itself): each window's elapsed service time splits
into present, absent, paused and unknown; unknown is time no camera observed the window (offline, no frames), told by
a `Coverage`, and the presence rate is present / (service - unknown). The report also lists every incident of the
period (monitor_api.reports.details) and, for a month or a year, the appraisal scores of the staff in scope.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from counterwatch.behaviours import ABSENCE_TYPES
from monitor_api.dashboard.catalogue_zh import ZH
from monitor_api.reports.details import incident_list, score_rows
from monitor_api.reports.period import KINDS_ZH, Period
from monitor_api.reports.presence import Calendar, Coverage, Interval, presence, total_presence
from monitor_api.scoring.config import ScoringConfig
from monitor_api.storage.models import (
    AppealRow,
    HallRow,
    IncidentRow,
    PausePeriodRow,
    ReviewState,
    RosterEntryRow,
    StaffRow,
    WindowRow,
)

SCOPES = ("hall", "window", "staff", "department")
REVIEW_STATES = tuple(state.value for state in ReviewState)
__all__ = ["ABSENCE_TYPES", "REVIEW_STATES", "SCOPES", "Calendar", "Coverage", "Report", "build_report"]


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
    presence_total: dict[str, Any] | None = None  # the windows' presence added up; None without a calendar
    pauses: list[dict[str, Any]] = field(default_factory=list)  # source, count, minutes
    pending_reviews: int = 0
    pending_appeals: list[dict[str, Any]] = field(default_factory=list)
    incident_list: list[dict[str, Any]] = field(default_factory=list)  # every incident, oldest first
    scores_state: str = "not_permitted"  # details.SCORE_STATES
    scores: list[dict[str, Any]] = field(default_factory=list)
    coverage_known: bool = False  # unobserved time was told apart (a Coverage was given)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def presence_note(self) -> str:
        note = ZH["reports.presence_note"]
        return note if self.coverage_known else f"{note}{ZH['reports.presence_note.no_coverage']}"

    @property
    def generated_local(self) -> str:
        return self.generated_at.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M")

    def as_json(self) -> dict[str, Any]:
        return {
            "hall_id": self.hall_id, "hall_name": self.hall_name, "timezone": self.timezone,
            "period": {"kind": self.period.kind, "text": self.period.text, "first": self.period.first.isoformat(),
                       "end": self.period.end.isoformat(), "label": self.period.label_zh()},
            "scope": self.scope, "key": self.key, "subject": self.subject, "title": self.title,
            "incidents": self.incidents, "by_type": self.by_type, "trend": self.trend, "heatmap": self.heatmap,
            "people": self.people, "windows": self.windows, "presence_total": self.presence_total,
            "pauses": self.pauses, "pending_reviews": self.pending_reviews, "pending_appeals": self.pending_appeals,
            "incident_list": self.incident_list, "scores_state": self.scores_state, "scores": self.scores,
            "coverage_known": self.coverage_known, "presence_note": self.presence_note,
            "generated_at": self.generated_at.isoformat(), "generated_local": self.generated_local,
        }


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back what was stored; UTCDateTime makes it aware UTC, but be defensive for naive values.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
                 calendar: Calendar | None = None, now: dt.datetime | None = None, *,
                 coverage: Coverage | None = None, scoring: ScoringConfig | None = None,
                 with_scores: bool = True) -> Report:
    """The report of one hall's `scope` (`key` names the window, staff member or department) over `period`.
    LookupError: unknown hall or subject; ValueError: bad scope. Without a calendar presence is left out. `now`
    (aware; the current time by default) bounds presence: service time after it has not happened yet. `coverage`
    tells unobserved time (without it, it counts as present). `scoring` is the appraisal config in use (None: the
    defaults); `with_scores` False leaves scores out (a reader who may not see them)."""
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
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    report = Report(hall.id, hall.name, hall.timezone, period, scope, key, subject,
                    _title(hall.name, period, scope, subject), coverage_known=coverage is not None, generated_at=now)
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
            gaps = coverage.unobserved(window.id, since, min(until, now)) if coverage is not None else []
            row.update(presence(calendar, window.id, period.days(), absences[window.id], pause_intervals[window.id],
                                gaps, now))
        report.windows.append(row)
    report.presence_total = total_presence(report.windows)

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
    report.incident_list = incident_list(session, hall_id, (since, until), incidents, zone, windows, staff_rows)
    if with_scores:
        report.scores_state, report.scores = score_rows(session, hall_id, hall.timezone, period, scope, key,
                                                        staff_rows, scoring)
    return report
