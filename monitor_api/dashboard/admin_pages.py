"""The admin pages: the admin home (/admin, where an admin's login lands), users (/admin/users, one account at
/admin/users/{id}), API keys (/admin/keys), the audit log (/admin/audit) and hall settings (/admin/halls).

Admins only: anyone else gets 403 here (the API refuses them the data as well). Data comes through the API as the
visitor (see api_client.py); every change is a form that admin.js sends to the API's admin routes with the CSRF
header, like every action of the dashboard, so the API's validation, authorisation and audit apply unchanged. What
the API answers on refusal is shown as a zh-CN (or English) sentence chosen by the failing field (admin.js, with the
messages `script_messages` hands it), never as a traceback.
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from monitor_api.dashboard import admin_views as views, page_kit
from monitor_api.dashboard.api_client import ApiClient, ApiError
from monitor_api.dashboard.i18n import Translator
from monitor_api.dashboard.present import HallView, UserView

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 50
HOME_AUDIT = 8
# Request fields whose refusal has its own sentence (admin.error.<field>); the API names them body.<field>.
ERROR_FIELDS = ("username", "password", "role", "display_name", "halls", "staff_id", "staff_hall_id", "unlink_staff",
                "name", "scopes", "hall_id", "expires_days")
ERROR_STATUSES = ("0", "404", "409", "422")
AUDITOR_ROLE = "auditor"  # reads the audit page (the API's audit-read policy), nothing else here


def script_messages(tr: Translator) -> dict[str, Any]:
    """What admin.js needs to explain a refusal in the visitor's language."""
    return {"fields": {name: tr.t(f"admin.error.{name}") for name in ERROR_FIELDS},
            "status": {status: tr.t(f"admin.error.status.{status}") for status in ERROR_STATUSES},
            "exists": tr.t("admin.error.username_exists"), "copied": tr.t("admin.keys.copied")}


async def _admin_visit(request: Request, roles: tuple[str, ...] = (views.ADMIN_ROLE,)
                       ) -> tuple[Translator, str | None, ApiClient, UserView] | Response:
    """The visit of a logged-in admin (or another of `roles`); a redirect to the login page, or 403 for any other
    role."""
    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, _, user = visit
    if user.role not in roles:
        return page_kit.error_page(request, tr, remember, user, tr.t("admin.forbidden"), 403)
    return visit


def _render(request: Request, template: str, tr: Translator, remember: str | None, user: UserView, nav: str,
            context: dict[str, Any]) -> Response:
    return page_kit.page(request, template, tr, remember, {
        "user": user, "nav": nav, "admin_messages": script_messages(tr), **context})


def _failure(request: Request, tr: Translator, remember: str | None, user: UserView, error: ApiError) -> Response:
    return page_kit.api_failure(request, tr, remember, user, error, forbidden="admin.forbidden")


def _now() -> datetime:
    return datetime.now(UTC)


async def _users(api: ApiClient) -> list[dict[str, Any]]:
    return page_kit.items(await api.get("/users"))


async def _settings(api: ApiClient, halls: tuple[HallView, ...]) -> list[dict[str, Any]]:
    documents = await asyncio.gather(*(api.get(f"/halls/{quote(hall.id, safe='')}/settings") for hall in halls))
    return [document for document in documents if isinstance(document, dict)]


def _accounts(documents: list[dict[str, Any]], tr: Translator, tz: tzinfo, halls: tuple[HallView, ...],
              settings: list[dict[str, Any]]) -> list[views.AccountView]:
    hall_names = {hall.id: hall.name for hall in halls}
    staff_names = {(option.hall_id, option.staff_id): option.label for option in views.staff_options(settings)}
    now = _now()
    return [views.account_view(document, tr, tz, hall_names, staff_names, now) for document in documents]


def _people(documents: list[dict[str, Any]]) -> dict[str, str]:
    """User id (as the audit log writes it) -> display name (username)."""
    names = {}
    for document in documents:
        username, display = str(document.get("username") or ""), str(document.get("display_name") or "")
        names[str(document.get("id"))] = f"{display}（{username}）" if display else username
    return names


@router.get("/admin")
async def admin_home(request: Request) -> Response:
    visit = await _admin_visit(request)
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    try:
        users, keys, audit, halls = await asyncio.gather(
            _users(api), api.get("/keys"), api.get("/audit", {"limit": HOME_AUDIT}), page_kit.halls(api, user))
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    now = _now()
    hall_names = {hall.id: hall.name for hall in halls}
    people = _people(users)
    key_views = [views.key_view(doc, tr, tz, hall_names, people, now) for doc in page_kit.items(keys)]
    key_names = {str(key.id): key.name for key in key_views}
    accounts = [views.account_view(doc, tr, tz, hall_names, {}, now) for doc in users]
    return _render(request, "admin_home.html", tr, remember, user, "admin", {
        "counts": {"users": len(accounts), "inactive": sum(not a.active for a in accounts),
                   "locked": sum(a.locked for a in accounts),
                   "active_keys": sum(k.state == "active" for k in key_views),
                   "expiring": sum(k.expires_soon for k in key_views)},
        "entries": [views.audit_entry_view(doc, tr, tz, people, key_names, hall_names)
                    for doc in page_kit.items(audit)],
        "halls": halls, "tz_name": tz_name})


@router.get("/admin/users")
async def users_page(request: Request) -> Response:
    visit = await _admin_visit(request)
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    try:
        users, halls = await asyncio.gather(_users(api), page_kit.halls(api, user))
        settings = await _settings(api, halls)
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    return _render(request, "admin_users.html", tr, remember, user, "admin-users", {
        "accounts": _accounts(users, tr, tz, halls, settings), "halls": halls, "roles": views.role_choices(tr),
        "hall_roles": sorted(views.HALL_ROLES), "staff_options": views.staff_options(settings), "tz_name": tz_name})


@router.get("/admin/users/{user_id}")
async def user_page(request: Request, user_id: str) -> Response:
    visit = await _admin_visit(request)
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    try:
        users, halls = await asyncio.gather(_users(api), page_kit.halls(api, user))
        settings = await _settings(api, halls)
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    account = next((a for a in _accounts(users, tr, tz, halls, settings) if str(a.id) == user_id), None)
    if account is None:
        return page_kit.error_page(request, tr, remember, user, tr.t("admin.users.not_found"), 404)
    me = next((document.get("id") for document in users if document.get("username") == user.username), None)
    return _render(request, "admin_user.html", tr, remember, user, "admin-users", {
        "account": account, "halls": halls, "roles": views.role_choices(tr), "hall_roles": sorted(views.HALL_ROLES),
        "staff_options": views.staff_options(settings), "is_self": me == account.id, "tz_name": tz_name})


@router.get("/admin/keys")
async def keys_page(request: Request) -> Response:
    visit = await _admin_visit(request)
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    try:
        keys, users, halls = await asyncio.gather(api.get("/keys"), _users(api), page_kit.halls(api, user))
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    hall_names = {hall.id: hall.name for hall in halls}
    now = _now()
    key_views = [views.key_view(doc, tr, tz, hall_names, _people(users), now) for doc in page_kit.items(keys)]
    key_views.sort(key=lambda key: (key.state != "active", -key.id))
    return _render(request, "admin_keys.html", tr, remember, user, "admin-keys", {
        "keys": key_views, "halls": halls, "scopes": views.scope_choices(tr), "tz_name": tz_name})


def _audit_filters(request: Request) -> dict[str, str]:
    query = request.query_params
    return {name: query.get(name, "").strip() for name in ("actor", "action", "hall", "since", "until")}


@router.get("/admin/audit")
async def audit_page(request: Request) -> Response:
    visit = await _admin_visit(request, (views.ADMIN_ROLE, AUDITOR_ROLE))
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    filters = _audit_filters(request)
    try:
        if user.role == views.ADMIN_ROLE:
            users, keys, halls = await asyncio.gather(_users(api), api.get("/keys"), page_kit.halls(api, user))
        else:  # an auditor reads the log, not the accounts and keys: the log names them by id
            users, keys, halls = [], {"items": []}, await page_kit.halls(api, user)
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    since, until, dates_valid = views.day_bounds(filters["since"], filters["until"], tz)
    actor_type, _, actor_id = filters["actor"].partition(":")
    params: dict[str, Any] = {"action": filters["action"], "hall": filters["hall"], "since": since, "until": until,
                              "actor_type": actor_type if actor_id else None, "actor_id": actor_id or None,
                              "cursor": request.query_params.get("cursor"), "limit": AUDIT_PAGE}
    problem = "" if dates_valid else tr.t("admin.audit.bad_date")
    document: Any = {"items": [], "next_cursor": None}
    try:
        document = await api.get("/audit", params)
    except ApiError as error:
        if error.status != 422:
            return _failure(request, tr, remember, user, error)
        problem = tr.t("admin.audit.bad_filter")
    people = _people(users)
    key_names = {str(doc.get("id")): str(doc.get("name") or "") for doc in page_kit.items(keys)}
    hall_names = {hall.id: hall.name for hall in halls}
    entries = [views.audit_entry_view(doc, tr, tz, people, key_names, hall_names) for doc in page_kit.items(document)]
    kept = {name: value for name, value in filters.items() if value}
    next_cursor = document.get("next_cursor") if isinstance(document, dict) else None
    actors = [views.Choice(f"user:{doc.get('id')}", people[str(doc.get('id'))]) for doc in users]
    actors += [views.Choice(f"api_key:{key_id}", tr.t("admin.audit.actor.api_key", name=name))
               for key_id, name in key_names.items()]
    return _render(request, "admin_audit.html", tr, remember, user, "admin-audit", {
        "entries": entries, "filters": filters, "actors": actors, "actions": views.action_choices(tr),
        "halls": halls, "problem": problem, "tz_name": tz_name, "paged": bool(request.query_params.get("cursor")),
        "first_url": "/admin/audit" + ("?" + urlencode(kept) if kept else ""),
        "next_url": "/admin/audit?" + urlencode({**kept, "cursor": next_cursor}) if next_cursor else ""})


@router.get("/admin/halls")
async def halls_page(request: Request) -> Response:
    visit = await _admin_visit(request)
    if isinstance(visit, Response):
        return visit
    tr, remember, api, user = visit
    try:
        halls, users = await asyncio.gather(page_kit.halls(api, user), _users(api))
        hall = page_kit.chosen_hall(request, halls)
        document = await api.get(f"/halls/{quote(hall.id, safe='')}/settings") if hall else None
    except ApiError as error:
        return _failure(request, tr, remember, user, error)
    tz, tz_name = views.admin_zone(halls)
    accounts: dict[tuple[str, str], tuple[str, ...]] = {}
    for doc in users:
        if doc.get("staff_hall_id") and doc.get("staff_id"):
            link = (str(doc["staff_hall_id"]), str(doc["staff_id"]))
            accounts[link] = (*accounts.get(link, ()), str(doc.get("username")))
    settings = views.hall_settings(document, tz, accounts) if isinstance(document, dict) else None
    return _render(request, "admin_halls.html", tr, remember, user, "admin-halls", {
        "halls": halls, "hall": hall, "settings": settings, "tz_name": tz_name})
