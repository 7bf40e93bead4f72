"""API documents of the admin pages (users, API keys, the audit log, hall settings) -> what the templates show.

Like present.py for the other pages: templates see only these frozen views, labels come from the catalogues, times
are shown in the halls' time zone. The role, scope and action names mirror the API's (a test checks they agree);
they only choose labels and which form fields to offer, the API decides what is allowed.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from monitor_api.dashboard.i18n import Translator
from monitor_api.dashboard.present import DEFAULT_TIMEZONE, HallView, format_time, parse_time, zone

ADMIN_ROLE = "admin"
# The role select's order: the everyday roles first. Mirrors monitor_api.storage.models.Role.
ROLES = ("supervisor", "manager", "staff", "auditor", "admin")
HALL_ROLES = frozenset({"supervisor"})  # roles scoped to halls; the others see every hall or their own record
# Mirrors monitor_api.auth.keys.SCOPES.
SCOPES = ("queue:pause", "appraisal:read", "incidents:read", "metrics:read")
EXPIRING_DAYS = 30  # the admin home counts active keys that expire sooner than this
# The actions the audit log records (monitor_api and its storage layer), offered as the action filter.
AUDIT_ACTIONS = (
    "auth.login", "auth.login_failed", "user.locked", "session.revoke", "user.create", "user.update", "user.password",
    "user.halls", "user.staff", "api_key.create", "api_key.revoke", "evidence.view", "incident.acknowledge",
    "incident.confirm", "incident.dismiss", "incident.recovered", "appeal.file", "appeal.upheld", "appeal.rejected",
    "complaint.file", "complaint.accept", "complaint.reject", "complaint.resolve", "complaint.reply",
    "window.pause", "window.resume", "export.appraisal", "export.report", "export.report.monthly",
    "label_sample.view", "label_sample.label")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def admin_zone(halls: Sequence[HallView]) -> tuple[tzinfo, str]:
    """The time zone admin pages show times in: the halls' own when they share one, else the default."""
    names = {hall.timezone for hall in halls}
    name = names.pop() if len(names) == 1 else DEFAULT_TIMEZONE
    return zone(name), name


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    hint: str = ""


@dataclass(frozen=True)
class StaffOption:
    hall_id: str
    staff_id: str
    label: str  # e.g. "甲大厅 · s001 张三"


def role_choices(tr: Translator) -> tuple[Choice, ...]:
    return tuple(Choice(role, tr.label("role", role), tr.t(f"admin.role_hint.{role}")) for role in ROLES)


def scope_choices(tr: Translator) -> tuple[Choice, ...]:
    return tuple(Choice(scope, tr.t(f"admin.scope.{scope}")) for scope in SCOPES)


def action_choices(tr: Translator) -> tuple[Choice, ...]:
    return tuple(Choice(action, action_label(action, tr)) for action in AUDIT_ACTIONS)


def action_label(action: str, tr: Translator) -> str:
    key = f"admin.action.{action}"
    label = tr.t(key)
    return action if label == key else label


def staff_options(settings: Iterable[Mapping[str, Any]]) -> tuple[StaffOption, ...]:
    """Every active staff member of every hall (from the halls' settings), for the account link select."""
    options = []
    for hall in settings:
        hall_id, hall_name = _text(hall.get("id")), _text(hall.get("name") or hall.get("id"))
        for member in hall.get("staff") or ():
            if member.get("active", True):
                staff_id = _text(member.get("id"))
                options.append(StaffOption(hall_id, staff_id, f"{hall_name} · {staff_id} {_text(member.get('name'))}"))
    return tuple(options)


@dataclass(frozen=True)
class AccountView:
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    active: bool
    locked: bool
    status_label: str
    hall_ids: tuple[str, ...]
    halls_label: str
    staff_key: tuple[str, str] | None
    staff_label: str
    last_login: str
    created: str
    locked_until: str

    @property
    def url(self) -> str:
        return f"/admin/users/{self.id}"

    @property
    def api_url(self) -> str:
        return f"/api/v1/users/{self.id}"

    @property
    def name(self) -> str:
        """How the audit log and the key list name this person: display name (username)."""
        return f"{self.display_name}（{self.username}）" if self.display_name else self.username


def account_view(document: Mapping[str, Any], tr: Translator, tz: tzinfo, hall_names: Mapping[str, str],
                 staff_names: Mapping[tuple[str, str], str], now: datetime) -> AccountView:
    role = _text(document.get("role"))
    hall_ids = tuple(_text(hall) for hall in document.get("halls") or ())
    if role in HALL_ROLES:
        halls_label = "、".join(hall_names.get(hall, hall) for hall in hall_ids)
    else:
        halls_label = tr.t("admin.users.all_halls") if role != "staff" else tr.t("admin.users.own_record")
    staff = None
    staff_label = ""
    if document.get("staff_hall_id") and document.get("staff_id"):
        staff = (_text(document["staff_hall_id"]), _text(document["staff_id"]))
        staff_label = staff_names.get(staff) or f"{hall_names.get(staff[0], staff[0])} · {staff[1]}"
    locked_until = parse_time(document.get("locked_until"))
    locked = locked_until is not None and locked_until > now
    active = bool(document.get("active"))
    status = "inactive" if not active else "locked" if locked else "active"
    return AccountView(
        id=int(document["id"]), username=_text(document.get("username")),
        display_name=_text(document.get("display_name")), role=role, role_label=tr.label("role", role),
        active=active, locked=locked, status_label=tr.t(f"admin.users.status.{status}"), hall_ids=hall_ids,
        halls_label=halls_label, staff_key=staff, staff_label=staff_label,
        last_login=format_time(document.get("last_login_at"), tz) or tr.t("admin.never"),
        created=format_time(document.get("created_at"), tz),
        locked_until=format_time(locked_until, tz) if locked else "")


@dataclass(frozen=True)
class KeyView:
    id: int
    name: str
    prefix: str
    scopes_label: str
    hall_label: str
    created: str
    created_by: str
    expires: str
    last_used: str
    state: str  # active | expired | revoked
    state_label: str
    expires_soon: bool  # active, and expires within EXPIRING_DAYS

    @property
    def revoke_url(self) -> str:
        return f"/api/v1/keys/{self.id}/revoke"


def key_view(document: Mapping[str, Any], tr: Translator, tz: tzinfo, hall_names: Mapping[str, str],
             people: Mapping[str, str], now: datetime) -> KeyView:
    expires_at = parse_time(document.get("expires_at"))
    if document.get("revoked_at"):
        state = "revoked"
    elif expires_at is not None and expires_at <= now:
        state = "expired"
    else:
        state = "active"
    scopes = [tr.t(f"admin.scope.{scope}") if scope in SCOPES else _text(scope)
              for scope in document.get("scopes") or ()]
    hall = document.get("hall_id")
    return KeyView(
        id=int(document["id"]), name=_text(document.get("name")), prefix=_text(document.get("prefix")),
        scopes_label="、".join(scopes),
        hall_label=hall_names.get(_text(hall), _text(hall)) if hall else tr.t("admin.users.all_halls"),
        created=format_time(document.get("created_at"), tz),
        created_by=people.get(_text(document.get("created_by")), "") if document.get("created_by") else "",
        expires=format_time(expires_at, tz) if expires_at else tr.t("admin.keys.never_expires"),
        last_used=format_time(document.get("last_used_at"), tz) or tr.t("admin.never"),
        state=state, state_label=tr.t(f"admin.keys.state.{state}"),
        expires_soon=state == "active" and expires_at is not None and expires_at - now < timedelta(days=EXPIRING_DAYS))


@dataclass(frozen=True)
class AuditEntryView:
    id: int
    at: str
    actor: str
    action: str
    action_label: str
    subject: str
    hall: str
    details: str
    client_ip: str


def _details(details: Any) -> str:
    if not isinstance(details, Mapping) or not details:
        return ""
    parts = []
    for name, value in details.items():
        if isinstance(value, str):
            shown = value
        elif isinstance(value, (list, tuple)) and all(isinstance(item, (str, int)) for item in value):
            shown = "、".join(str(item) for item in value) or "—"
        else:
            shown = json.dumps(value, ensure_ascii=False)
        parts.append(f"{name}: {shown}")
    return "；".join(parts)


def audit_entry_view(document: Mapping[str, Any], tr: Translator, tz: tzinfo, people: Mapping[str, str],
                     keys: Mapping[str, str], hall_names: Mapping[str, str]) -> AuditEntryView:
    actor_type, actor_id = _text(document.get("actor_type")), _text(document.get("actor_id"))
    if actor_type == "user":
        actor = people.get(actor_id) or tr.t("admin.audit.actor.user", id=actor_id)
    elif actor_type == "api_key":
        actor = tr.t("admin.audit.actor.api_key", name=keys.get(actor_id) or actor_id)
    else:
        actor = tr.t("admin.audit.actor.system", name=actor_id)
    object_type, object_id = _text(document.get("object_type")), _text(document.get("object_id"))
    named = {"user": people, "api_key": keys}.get(object_type, {}).get(object_id)
    type_key = f"admin.object.{object_type}"
    type_label = tr.t(type_key) if tr.t(type_key) != type_key else object_type
    subject = f"{type_label} {named}" if named else f"{type_label} {object_id}"
    action = _text(document.get("action"))
    hall = _text(document.get("hall_id"))
    return AuditEntryView(
        id=int(document.get("id") or 0), at=format_time(document.get("at"), tz), actor=actor, action=action,
        action_label=action_label(action, tr), subject=subject, hall=hall_names.get(hall, hall),
        details=_details(document.get("details")), client_ip=_text(document.get("client_ip")))


def day_bounds(since: str | None, until: str | None, tz: tzinfo) -> tuple[str | None, str | None, bool]:
    """The audit filter's dates (YYYY-MM-DD, both inclusive, in `tz`) as the API's since/until instants
    (until exclusive), and whether every given date was valid."""
    bounds: list[str | None] = []
    valid = True
    for value, extra in ((since, 0), (until, 1)):
        if not value:
            bounds.append(None)
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            valid = False
            bounds.append(None)
            continue
        bounds.append(datetime.combine(day + timedelta(days=extra), time(0), tzinfo=tz).isoformat())
    return bounds[0], bounds[1], valid


@dataclass(frozen=True)
class WindowSetting:
    id: str
    name: str
    department: str
    schedule: str
    pause_marker: str
    active: bool


@dataclass(frozen=True)
class CameraSetting:
    id: str
    source: str
    windows: str
    active: bool


@dataclass(frozen=True)
class StaffSetting:
    id: str
    name: str
    department: str
    active: bool
    accounts: tuple[str, ...]  # usernames linked to this staff member


@dataclass(frozen=True)
class HallSettings:
    id: str
    name: str
    timezone: str
    served_here: bool
    configured: bool
    updated: str
    windows: tuple[WindowSetting, ...]
    cameras: tuple[CameraSetting, ...]
    staff: tuple[StaffSetting, ...]


def hall_settings(document: Mapping[str, Any], tz: tzinfo,
                  accounts: Mapping[tuple[str, str], tuple[str, ...]]) -> HallSettings:
    hall_id = _text(document.get("id"))
    windows = tuple(WindowSetting(
        _text(w.get("id")), _text(w.get("name")), _text(w.get("department")), _text(w.get("schedule")),
        _text(w.get("pause_marker_id")), bool(w.get("active", True))) for w in document.get("windows") or ())
    names = {window.id: window.name or window.id for window in windows}
    cameras = tuple(CameraSetting(
        _text(c.get("id")), _text(c.get("source")),
        "、".join(names.get(_text(w), _text(w)) for w in c.get("windows") or ()), bool(c.get("active", True)))
        for c in document.get("cameras") or ())
    staff = tuple(StaffSetting(
        _text(s.get("id")), _text(s.get("name")), _text(s.get("department")), bool(s.get("active", True)),
        accounts.get((hall_id, _text(s.get("id"))), ())) for s in document.get("staff") or ())
    return HallSettings(hall_id, _text(document.get("name")), _text(document.get("timezone")),
                        bool(document.get("served_here")), bool(document.get("configured", True)),
                        format_time(document.get("updated_at"), tz), windows, cameras, staff)
