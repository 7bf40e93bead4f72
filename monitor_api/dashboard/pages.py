"""The dashboard's pages: login, the live wall of a hall's windows with the alert feed, incident detail, cameras.

Pages are rendered on the server (Jinja2, autoescaped) from the JSON API, read in process as the visitor (see
api_client.py). The browser scripts only log in, send review actions to the API with the CSRF header, and swap in
re-rendered fragments of the wall and the feed when the live feed says something changed.
"""
from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from monitor_api.dashboard import page_kit, present
from monitor_api.dashboard.api_client import ApiClient, ApiError
from monitor_api.dashboard.i18n import Translator
from monitor_api.dashboard.rendering import render, static_response

router = APIRouter(include_in_schema=False)

FEED_LIMIT = 30
FRAGMENTS = ("wall", "feed", "cameras")


async def _wall_and_feed(api: ApiClient, user: present.UserView, hall: present.HallView, tr: Translator
                         ) -> tuple[list[present.WindowView], list[present.IncidentView]]:
    if user.sees_wall:
        windows_doc, incidents_doc = await asyncio.gather(
            api.get("/windows", {"hall": hall.id}), api.get("/incidents", {"hall": hall.id, "limit": FEED_LIMIT}))
    else:  # auditors read incidents, not the live status of windows
        windows_doc, incidents_doc = [], await api.get("/incidents", {"hall": hall.id, "limit": FEED_LIMIT})
    windows = page_kit.items(windows_doc)
    names = {str(w.get("window_id")): str(w.get("name") or w.get("window_id")) for w in windows}
    feed = [present.incident_view(doc, tr, hall.tz, names) for doc in page_kit.items(incidents_doc)]
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
    tr, _ = page_kit.page_translator(request)
    user = await page_kit.me(ApiClient(request), tr)
    return RedirectResponse(user.home if user else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    tr, remember = page_kit.page_translator(request)
    target = page_kit.safe_next(request.query_params.get("next"))
    if await page_kit.me(ApiClient(request), tr) is not None:
        return RedirectResponse(target, status_code=303)
    return page_kit.page(request, "login.html", tr, remember, {"next": target})


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    if user.home != "/dashboard":  # no wall for window staff and admins: a login that asked for it lands at home
        return RedirectResponse(user.home, status_code=303)
    try:
        halls = await page_kit.halls(api, user)
        hall = page_kit.chosen_hall(request, halls)
        windows, feed = await _wall_and_feed(api, user, hall, tr) if hall else ([], [])
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error)
    return page_kit.page(request, "dashboard.html", tr, remember, {
        "user": user, "halls": halls, "hall": hall, "windows": windows, "feed": feed, "nav": "dashboard",
        "statuses": present.WINDOW_STATUSES, "reasons": present.reason_options(tr)})


@router.get("/dashboard/fragments/{part}")
async def dashboard_fragment(request: Request, part: str) -> Response:
    """The wall, the feed or the camera table alone, re-rendered for live updates (401: the script goes to the
    login page)."""
    if part not in FRAGMENTS:
        return Response(status_code=404)
    tr, _ = page_kit.page_translator(request)
    api = ApiClient(request)
    user = await page_kit.me(api, tr)
    if user is None:
        return Response(status_code=401)
    try:
        if part == "cameras":
            return render(request, "_cameras.html", {"tr": tr, "cameras": await _cameras(api, user, tr)})
        hall = page_kit.chosen_hall(request, await page_kit.halls(api, user))
        windows, feed = await _wall_and_feed(api, user, hall, tr) if hall else ([], [])
    except ApiError as error:
        return Response(status_code=error.status if error.status in (401, 403, 404) else 502)
    if part == "wall":
        return render(request, "_wall.html", {"tr": tr, "windows": windows, "hall": hall, "user": user})
    return render(request, "_feed.html", {"tr": tr, "feed": feed, "hall": hall, "user": user,
                                          "reasons": present.reason_options(tr)})


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: str) -> Response:
    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    try:
        document = await api.get("/incidents/" + quote(incident_id, safe=""))
        halls = {hall.id: hall for hall in await page_kit.halls(api, user)}
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error, not_found="incident.not_found")
    hall_id = str(document.get("hall_id") or "")
    hall = halls.get(hall_id, present.HallView(hall_id, hall_id))
    incident = present.incident_view(document, tr, hall.tz)
    appeal = present.pending_appeal(document)
    may_appeal = incident.review_state == "confirmed" and appeal is None and user.may_appeal(incident)
    return page_kit.page(request, "incident.html", tr, remember, {
        "user": user, "incident": incident, "timeline": present.timeline(document, incident, tr, hall.tz),
        "appeal": appeal, "may_appeal": may_appeal, "reasons": present.reason_options(tr), "hall": hall})


async def _cameras(api: ApiClient, user: present.UserView, tr: Translator) -> list[present.CameraView]:
    halls = {hall.id: hall for hall in await page_kit.halls(api, user)}
    cameras = []
    for document in page_kit.items(await api.get("/cameras")):
        cameras.append(present.camera_view(document, tr, halls.get(str(document.get("hall_id")))))
    return cameras


@router.get("/cameras")
async def cameras_page(request: Request) -> Response:
    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    try:
        cameras = await _cameras(api, user, tr)
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error, forbidden="action.forbidden")
    return page_kit.page(request, "cameras.html", tr, remember, {"user": user, "cameras": cameras, "nav": "cameras"})


@router.get("/dashboard/static/{path:path}")
async def dashboard_static(path: str) -> Response:
    return static_response(path)
