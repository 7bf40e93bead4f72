"""API documents -> what the templates show: labels in the visitor's language, times in the hall's zone, colours.

Templates see only these frozen views, never raw API dicts, so a field the API renames breaks here, in one place,
and a template can never print something unescaped or unexpected.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor_api.dashboard.i18n import REASON_CODES, Translator
from monitor_api.dashboard.reason_text import reason_text

DEFAULT_TIMEZONE = "Asia/Shanghai"
WINDOW_STATUSES = ("present", "absent", "paused", "in_incident", "unknown")
# Who may do what, as monitor_api.auth.policy says; only to decide which forms to show (the API enforces it).
REVIEWER_ROLES = frozenset({"supervisor", "manager"})
APPEAL_DECIDER_ROLES = frozenset({"manager"})
APPEAL_FILER_ROLES = frozenset({"manager"})
WALL_ROLES = frozenset({"supervisor", "manager"})
STAFF_ROLE = "staff"  # window staff: only their own record (/me) and their appeals


def zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: Any, tz: tzinfo, *, with_date: bool = True) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def format_duration(seconds: float | None, tr: Translator) -> str:
    if seconds is None or seconds < 0:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return tr.t("duration.hours", h=hours, m=minutes)
    if minutes:
        return tr.t("duration.minutes", m=minutes, s=secs)
    return tr.t("duration.seconds", s=secs)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class HallView:
    id: str
    name: str
    timezone: str = DEFAULT_TIMEZONE

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    role: str
    role_label: str
    halls: tuple[HallView, ...]  # empty: every hall (managers, admins, auditors)
    staff: tuple[str, str] | None  # (hall id, staff id) when this person is also a staff member

    @property
    def can_review(self) -> bool:
        return self.role in REVIEWER_ROLES

    @property
    def can_decide_appeals(self) -> bool:
        return self.role in APPEAL_DECIDER_ROLES

    @property
    def sees_wall(self) -> bool:
        return self.role in WALL_ROLES

    @property
    def is_window_staff(self) -> bool:
        return self.role == STAFF_ROLE

    @property
    def home(self) -> str:
        """Where this person lands after login: window staff on their record, admins on /admin, auditors on the audit
        log, others on the wall."""
        return {STAFF_ROLE: "/me", "admin": "/admin", "auditor": "/admin/audit"}.get(self.role, "/dashboard")

    def is_about(self, incident: IncidentView) -> bool:
        """The incident names this person as its staff member: the API refuses their review of it (403)."""
        return self.staff is not None and self.staff == (incident.hall_id, incident.staff_id)

    def may_appeal(self, incident: IncidentView) -> bool:
        return self.role in APPEAL_FILER_ROLES or self.staff == (incident.hall_id, incident.staff_id)


def user_view(document: Mapping[str, Any], tr: Translator) -> UserView:
    """`document` is /auth/me's answer or login's `user`; halls may be ids or {id, name} objects."""
    user = document.get("user", document) if isinstance(document.get("user"), Mapping) else document
    halls: list[HallView] = []
    for hall in user.get("halls") or ():
        if isinstance(hall, Mapping):
            hall_id = _text(hall.get("id") or hall.get("hall_id"))
            halls.append(HallView(hall_id, _text(hall.get("name")) or hall_id))
        elif hall not in (None, "*"):
            halls.append(HallView(str(hall), str(hall)))
    role = _text(user.get("role"))
    staff = None
    if user.get("staff_id") and user.get("staff_hall_id"):
        staff = (_text(user.get("staff_hall_id")), _text(user.get("staff_id")))
    return UserView(_text(user.get("username")), _text(user.get("display_name")) or _text(user.get("username")),
                    role, tr.label("role", role), tuple(halls), staff)


@dataclass(frozen=True)
class IncidentView:
    id: str
    type: str
    type_label: str
    hall_id: str
    window_id: str
    window_name: str
    camera_id: str
    staff_id: str
    staff_name: str
    state: str
    state_label: str
    review_state: str
    review_label: str
    started: str
    started_short: str
    ended: str
    duration: str
    confidence: str
    reason: str
    attributes: tuple[tuple[str, str], ...]
    evidence_missing: bool
    is_open: bool
    has_snapshot: bool
    has_clip: bool

    @property
    def url(self) -> str:
        return "/incidents/" + quote(self.id, safe="")

    @property
    def snapshot_url(self) -> str:
        return self.api_url + "/snapshot"

    @property
    def clip_url(self) -> str:
        return self.api_url + "/clip"

    @property
    def api_url(self) -> str:
        return "/api/v1/incidents/" + quote(self.id, safe="")


def incident_view(document: Mapping[str, Any], tr: Translator, tz: tzinfo,
                  window_names: Mapping[str, str] | None = None) -> IncidentView:
    kind = _text(document.get("incident_type") or document.get("type"))
    state = _text(document.get("state")) or "open"
    review = _text(document.get("review_state")) or "pending"
    started, ended = parse_time(document.get("started_at")), parse_time(document.get("ended_at"))
    window_id = _text(document.get("window_id"))
    end_or_now = ended or (datetime.now(UTC) if state == "open" else None)
    seconds = (end_or_now - started).total_seconds() if started and end_or_now else None
    peak = document.get("peak_confidence")
    attributes = document.get("attributes") or {}
    if isinstance(attributes, Mapping):
        pairs = tuple((str(k), _text(v)) for k, v in attributes.items())
    else:
        pairs = tuple((str(item[0]), _text(item[1])) for item in attributes if len(item) == 2)
    return IncidentView(
        id=_text(document.get("id") or document.get("incident_id")), type=kind,
        type_label=tr.label("incident_type", kind), hall_id=_text(document.get("hall_id")), window_id=window_id,
        window_name=_text(document.get("window_name")) or (window_names or {}).get(window_id, window_id),
        camera_id=_text(document.get("camera_id")), staff_id=_text(document.get("staff_id")),
        staff_name=_text(document.get("staff_name")) or _text(document.get("staff_id")),
        state=state, state_label=tr.label("incident_state", state), review_state=review,
        review_label=tr.label("review_state", review), started=format_time(started, tz),
        started_short=format_time(started, tz, with_date=False),
        ended=format_time(ended, tz) if ended else tr.t("incident.not_ended"),
        duration=format_duration(seconds, tr),
        confidence=f"{float(peak) * 100:.0f}%" if isinstance(peak, (int, float)) else "",
        reason=reason_text(document, tr), attributes=pairs,
        evidence_missing=bool(document.get("evidence_missing")), is_open=state == "open",
        has_snapshot=_has_evidence(document, "snapshot"), has_clip=_has_evidence(document, "clip"))


def _has_evidence(document: Mapping[str, Any], kind: str) -> bool:
    """Whether a kept file of this kind exists. A list item carries no evidence rows: assume it may (the page
    replaces an image that fails to load with a placeholder)."""
    rows = document.get("evidence")
    if rows is None:
        return kind == "snapshot" and not document.get("evidence_missing")
    return any(isinstance(r, Mapping) and r.get("kind") == kind and not r.get("purged") for r in rows)


@dataclass(frozen=True)
class WindowView:
    hall_id: str
    id: str
    name: str
    department: str
    staff: str
    status: str
    status_label: str
    detail: str  # the pause source, or the current incident's type
    incident: IncidentView | None

    @property
    def css(self) -> str:
        return "tile--" + self.status


def window_incident_id(document: Mapping[str, Any]) -> str | None:
    value = document.get("incident_id") or document.get("current_incident_id")
    return str(value) if value else None


def window_view(document: Mapping[str, Any], tr: Translator, incidents: Mapping[str, IncidentView]) -> WindowView:
    status = _text(document.get("status"))
    status = "in_incident" if status == "incident" else status
    status = status if status in WINDOW_STATUSES else "unknown"
    incident_id = window_incident_id(document)
    incident = incidents.get(incident_id) if incident_id else None
    if incident is not None and status != "in_incident":
        status = "in_incident"  # an open incident is what the wall must show, whatever else the window is doing
    if status == "paused":
        detail = tr.label("pause_source", _text(document.get("pause_source")) or "unknown")
    elif status == "in_incident":
        detail = incident.type_label if incident else tr.label("incident_type", _text(document.get("incident_type")))
    else:
        detail = ""
    staff = (_text(document.get("rostered_staff_name")) or _text(document.get("rostered_staff_id"))
             or _text(document.get("staff_name")) or _text(document.get("staff_id")))
    return WindowView(hall_id=_text(document.get("hall_id")), id=_text(document.get("window_id") or
                      document.get("id")), name=_text(document.get("name")) or _text(document.get("window_id")),
                      department=_text(document.get("department")), staff=staff,
                      status=status, status_label=tr.label("status", status), detail=detail, incident=incident)


@dataclass(frozen=True)
class CameraView:
    id: str
    hall_id: str
    hall_name: str
    state: str
    state_label: str
    reason: str
    last_frame: str
    frames: str
    windows: str

    @property
    def css(self) -> str:
        return "badge--camera-" + self.state


def camera_view(document: Mapping[str, Any], tr: Translator, hall: HallView | None = None) -> CameraView:
    state = _text(document.get("state")) or "unknown"
    age = document.get("last_frame_age_s")
    last = document.get("last_frame_wall_time") or document.get("last_frame_at")
    if isinstance(age, (int, float)):
        last_frame = tr.t("cameras.age_s", seconds=f"{age:.0f}")
    elif last:
        last_frame = format_time(last, hall.tz if hall else zone(None))
    else:
        last_frame = tr.t("cameras.never")
    hall_id = _text(document.get("hall_id"))
    return CameraView(id=_text(document.get("camera_id") or document.get("id")), hall_id=hall_id,
                      hall_name=hall.name if hall else hall_id, state=state,
                      state_label=tr.label("camera_state", state), reason=_text(document.get("reason")),
                      last_frame=last_frame, frames=_text(document.get("frames_processed")),
                      windows=", ".join(str(w) for w in document.get("windows") or ()))


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    text: str
    note: str
    kind: str  # css modifier: system, review, appeal
    sort_key: tuple[float, int]


def _who(value: Any) -> str:
    """A person's name as the API gives it; a bare user id (no name published) reads '#7'."""
    if isinstance(value, Mapping):
        return _text(value.get("display_name") or value.get("username") or value.get("id"))
    if isinstance(value, int):
        return f"#{value}"
    return _text(value)


def _entry(at: Any, order: int, text: str, kind: str, tz: tzinfo, note: str = "") -> TimelineEntry:
    moment = parse_time(at)
    return TimelineEntry(format_time(moment, tz), text, note, kind, (moment.timestamp() if moment else 0.0, order))


def timeline(document: Mapping[str, Any], incident: IncidentView, tr: Translator, tz: tzinfo) -> list[TimelineEntry]:
    """Everything that happened to an incident, oldest first: events from the pipeline, acknowledgement, reviews,
    appeals and their decisions."""
    entries: list[TimelineEntry] = []
    events: Sequence[Mapping[str, Any]] = document.get("events") or ()
    for i, event in enumerate(events):
        kind = _text(event.get("kind"))
        if kind not in ("opened", "updated", "closed"):
            continue
        at = event.get("at") or event.get("received_at") or (event.get("payload") or {}).get("started_at")
        text = tr.t("timeline.opened", type=incident.type_label) if kind == "opened" else tr.t(f"timeline.{kind}")
        entries.append(_entry(at, i, text, "system", tz))
    if not any(e.kind == "system" for e in entries):
        entries.append(_entry(document.get("started_at"), 0, tr.t("timeline.opened", type=incident.type_label),
                              "system", tz))
        if document.get("ended_at"):
            key = "timeline.closed_by_recovery" if incident.state == "closed_by_recovery" else "timeline.closed"
            entries.append(_entry(document.get("ended_at"), 1, tr.t(key), "system", tz))
    if document.get("acknowledged_at"):
        entries.append(_entry(document.get("acknowledged_at"), 10, tr.t("timeline.acknowledged", user=_who(
            document.get("acknowledged_by_name") or document.get("acknowledged_by"))), "review", tz))
    reviews = document.get("reviews") or ([document["review"]] if isinstance(document.get("review"), Mapping) else [])
    for i, review in enumerate(reviews):
        decision = _text(review.get("decision"))
        if decision not in ("confirm", "dismiss"):
            continue
        entries.append(_entry(review.get("at") or review.get("reviewed_at"), 20 + i, tr.t(
            f"timeline.reviewed.{decision}",
            user=_who(review.get("reviewer_name") or review.get("reviewer") or review.get("reviewer_id")),
            reason=tr.reason(decision, _text(review.get("reason_code")))), "review", tz,
            _note(review.get("note"), tr)))
    for i, appeal in enumerate(document.get("appeals") or ()):
        entries.append(_entry(appeal.get("filed_at"), 40 + i, tr.t(
            "timeline.appeal_filed", user=_who(appeal.get("filed_by_name") or appeal.get("filed_by")),
            reason=_text(appeal.get("reason"))),
            "appeal", tz))
        decision = _text(appeal.get("decision"))
        if decision in ("upheld", "rejected"):
            entries.append(_entry(appeal.get("decided_at"), 60 + i, tr.t(
                f"timeline.appeal_decided.{decision}",
                user=_who(appeal.get("decided_by_name") or appeal.get("decided_by"))), "appeal", tz,
                _note(appeal.get("decision_note") or appeal.get("note"), tr)))
    return sorted(entries, key=lambda e: e.sort_key)


def _note(value: Any, tr: Translator) -> str:
    return tr.t("timeline.note", note=value) if value else ""


@dataclass(frozen=True)
class PendingAppeal:
    id: str
    reason: str

    @property
    def decision_url(self) -> str:
        return "/api/v1/appeals/" + quote(self.id, safe="") + "/decision"


def pending_appeal(document: Mapping[str, Any]) -> PendingAppeal | None:
    for appeal in document.get("appeals") or ():
        if not appeal.get("decision") and not appeal.get("decided_at"):
            return PendingAppeal(_text(appeal.get("id")), _text(appeal.get("reason")))
    return None


@dataclass(frozen=True)
class ReasonOption:
    decision: str
    code: str
    label: str


def reason_options(tr: Translator) -> tuple[ReasonOption, ...]:
    return tuple(ReasonOption(decision, code, tr.reason(decision, code))
                 for decision, codes in REASON_CODES.items() for code in codes)
