"""The dashboard's pages: login, the live wall of a hall's windows with the alert feed, incident detail, cameras.

Pages are rendered on the server (Jinja2, autoescaped) from the JSON API, read in process as the visitor (see
api_client.py). The browser scripts only log in, send review actions to the API with the CSRF header, and swap in
re-rendered fragments of the wall and the feed when the live feed says something changed.
"""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor_api.dashboard import present
from monitor_api.dashboard.api_client import ApiClient, ApiError
from monitor_api.dashboard.i18n import LANG_COOKIE, Translator, normalise_lang, translator
from monitor_api.dashboard.rendering import render, static_response

router = APIRouter(include_in_schema=False)

FEED_LIMIT = 30
LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600
FRAGMENTS = ("wall", "feed", "cameras")


def _translator(request: Request) -> tuple[Translator, str | None]:
    """The visitor's language: ?lang= (remembered in a cookie), else the cookie, else zh-CN."""
    asked = normalise_lang(request.query_params.get("lang"))
    if asked:
        return translator(asked), asked
    return translator(request.cookies.get(LANG_COOKIE)), None


def _page(request: Request, template: str, tr: Translator, remember: str | None, context: dict[str, Any],
          status: int = 200) -> HTMLResponse:
    context = {"user": None, "nav": "", "hall": None, **context}
    response = render(request, template, {"tr": tr, **context}, status=status)
    if remember:
        response.set_cookie(LANG_COOKIE, remember, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax", path="/")
    return response


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//' or backslash tricks) may follow a login. Browsers drop
    tabs and newlines from URLs ('/', TAB, '/evil' becomes '//evil'), so control characters and spaces are refused."""
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)):
        return "/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("/api/"):
        return "/dashboard"
    return value


def _to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(here, safe=""), status_code=303)


async def _visit(request: Request):
    """(translator, remember-language flag, API client, user) for a logged-in visitor, or None (send to /login)."""
    tr, remember = _translator(request)
    api = ApiClient(request)
    user = await _me(api, tr)
    return None if user is None else (tr, remember, api, user)


async def _me(api: ApiClient, tr: Translator) -> present.UserView | None:
    try:
        return present.user_view(await api.get("/auth/me"), tr)
    except ApiError as error:
        if error.status in (401, 403):
            return None
        raise


def _error(request: Request, tr: Translator, remember: str | None, user: present.UserView | None, message: str,
           status: int) -> HTMLResponse:
    return _page(request, "error.html", tr, remember, {"user": user, "message": message}, status=status)


def _api_failure(request: Request, tr: Translator, remember: str | None, user: present.UserView | None,
                 error: ApiError, *, forbidden: str = "incident.forbidden",
                 not_found: str = "error.not_found") -> Response:
    if error.status == 401:
        return _to_login(request)
    if error.status == 403:
        return _error(request, tr, remember, user, tr.t(forbidden), 403)
    if error.status in (404, 410):
        return _error(request, tr, remember, user, tr.t(not_found), 404)
    return _error(request, tr, remember, user, tr.t("error.api", status=error.status), 502)


def _items(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        document = document.get("items", [])
    return [item for item in document or [] if isinstance(item, dict)]


async def _halls(api: ApiClient, user: present.UserView) -> tuple[present.HallView, ...]:
    """The halls this person may watch (the API lists only those), with names and time zones."""
    listed = tuple(present.HallView(str(h.get("id")), str(h.get("name") or h.get("id")),
                                    str(h.get("timezone") or present.DEFAULT_TIMEZONE))
                   for h in _items(await api.get("/halls")) if h.get("id"))
    if user.halls:
        allowed = {hall.id for hall in user.halls}
        listed = tuple(hall for hall in listed if hall.id in allowed) or user.halls
    return listed


def _chosen_hall(request: Request, halls: tuple[present.HallView, ...]) -> present.HallView | None:
    asked = request.query_params.get("hall")
    for hall in halls:
        if hall.id == asked:
            return hall
    return halls[0] if halls else None


async def _wall_and_feed(api: ApiClient, user: present.UserView, hall: present.HallView, tr: Translator
                         ) -> tuple[list[present.WindowView], list[present.IncidentView]]:
    if user.sees_wall:
        windows_doc, incidents_doc = await asyncio.gather(
            api.get("/windows", {"hall": hall.id}), api.get("/incidents", {"hall": hall.id, "limit": FEED_LIMIT}))
    else:  # auditors read incidents, not the live status of windows
        windows_doc, incidents_doc = [], await api.get("/incidents", {"hall": hall.id, "limit": FEED_LIMIT})
    windows = _items(windows_doc)
    names = {str(w.get("window_id")): str(w.get("name") or w.get("window_id")) for w in windows}
    feed = [present.incident_view(doc, tr, hall.tz, names) for doc in _items(incidents_doc)]
    by_id = {incident.id: incident for incident in feed}
    for window in windows:  # a window's current incident may be older than the feed's page
        current = present.window_incident_id(window)
        if current and current not in by_id:
            try:
                by_id[current] = present.incident_view(
                    await api.get("/incidents/" + quote(current, safe="")), tr, hall.tz, names)
            except ApiError:
                pass
    return [present.window_view(w, tr, by_id) for w in windows], feed


@router.get("/")
async def home(request: Request) -> Response:
    tr, _ = _translator(request)
    user = await _me(ApiClient(request), tr)
    return RedirectResponse(user.home if user else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    tr, remember = _translator(request)
    target = _safe_next(request.query_params.get("next"))
    if await _me(ApiClient(request), tr) is not None:
        return RedirectResponse(target, status_code=303)
    return _page(request, "login.html", tr, remember, {"next": target})


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    visit = await _visit(request)
    if visit is None:
        return _to_login(request)
    tr, remember, api, user = visit
    if user.home != "/dashboard":  # no wall for window staff and admins: a login that asked for it lands at home
        return RedirectResponse(user.home, status_code=303)
    try:
        halls = await _halls(api, user)
        hall = _chosen_hall(request, halls)
        windows, feed = await _wall_and_feed(api, user, hall, tr) if hall else ([], [])
    except ApiError as error:
        return _api_failure(request, tr, remember, user, error)
    return _page(request, "dashboard.html", tr, remember, {
        "user": user, "halls": halls, "hall": hall, "windows": windows, "feed": feed, "nav": "dashboard",
        "statuses": present.WINDOW_STATUSES, "reasons": present.reason_options(tr)})


@router.get("/dashboard/fragments/{part}")
async def dashboard_fragment(request: Request, part: str) -> Response:
    """The wall, the feed or the camera table alone, re-rendered for live updates (401: the script goes to the
    login page)."""
    if part not in FRAGMENTS:
        return Response(status_code=404)
    tr, _ = _translator(request)
    api = ApiClient(request)
    user = await _me(api, tr)
    if user is None:
        return Response(status_code=401)
    try:
        if part == "cameras":
            return render(request, "_cameras.html", {"tr": tr, "cameras": await _cameras(api, user, tr)})
        hall = _chosen_hall(request, await _halls(api, user))
        windows, feed = await _wall_and_feed(api, user, hall, tr) if hall else ([], [])
    except ApiError as error:
        return Response(status_code=error.status if error.status in (401, 403, 404) else 502)
    if part == "wall":
        return render(request, "_wall.html", {"tr": tr, "windows": windows, "hall": hall, "user": user})
    return render(request, "_feed.html", {"tr": tr, "feed": feed, "hall": hall, "user": user,
                                          "reasons": present.reason_options(tr)})


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: str) -> Response:
    visit = await _visit(request)
    if visit is None:
        return _to_login(request)
    tr, remember, api, user = visit
    try:
        document = await api.get("/incidents/" + quote(incident_id, safe=""))
        halls = {hall.id: hall for hall in await _halls(api, user)}
    except ApiError as error:
        return _api_failure(request, tr, remember, user, error, not_found="incident.not_found")
    hall_id = str(document.get("hall_id") or "")
    hall = halls.get(hall_id, present.HallView(hall_id, hall_id))
    incident = present.incident_view(document, tr, hall.tz)
    appeal = present.pending_appeal(document)
    may_appeal = incident.review_state == "confirmed" and appeal is None and user.may_appeal(incident)
    return _page(request, "incident.html", tr, remember, {
        "user": user, "incident": incident, "timeline": present.timeline(document, incident, tr, hall.tz),
        "appeal": appeal, "may_appeal": may_appeal, "reasons": present.reason_options(tr), "hall": hall})


async def _cameras(api: ApiClient, user: present.UserView, tr: Translator) -> list[present.CameraView]:
    halls = {hall.id: hall for hall in await _halls(api, user)}
    cameras = []
    for document in _items(await api.get("/cameras")):
        cameras.append(present.camera_view(document, tr, halls.get(str(document.get("hall_id")))))
    return cameras


@router.get("/cameras")
async def cameras_page(request: Request) -> Response:
    visit = await _visit(request)
    if visit is None:
        return _to_login(request)
    tr, remember, api, user = visit
    try:
        cameras = await _cameras(api, user, tr)
    except ApiError as error:
        return _api_failure(request, tr, remember, user, error, forbidden="action.forbidden")
    return _page(request, "cameras.html", tr, remember, {"user": user, "cameras": cameras, "nav": "cameras"})


@router.get("/dashboard/static/{path:path}")
async def dashboard_static(path: str) -> Response:
    return static_response(path)


def _include_page_routers() -> None:
    """The report and staff pages (report_pages.py), the labelling queue (labelling_pages.py) and the admin pages
    (admin_pages.py)."""
    from monitor_api.dashboard.admin_pages import router as admin_router
    from monitor_api.dashboard.labelling_pages import router as labelling_router
    from monitor_api.dashboard.report_pages import router as report_router

    router.include_router(report_router)
    router.include_router(labelling_router)
    router.include_router(admin_router)


_include_page_routers()


def _declare_policies() -> None:
    """The pages themselves are public (anonymous visitors get the login page or a redirect to it); every piece of
    data on them comes through the API, whose own policies decide what this person sees."""
    from monitor_api.auth.policy import PUBLIC, declare

    for route in router.routes:
        declare(route, PUBLIC)


_declare_policies()
