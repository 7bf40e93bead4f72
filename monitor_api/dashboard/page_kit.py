"""What every dashboard page module shares: the language, the logged-in visit, page and error rendering, and the hall
picker's data. The page modules (pages, report_pages, labelling_pages, admin_pages) import it; it imports none of
them."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor_api.dashboard import present
from monitor_api.dashboard.api_client import ApiClient, ApiError
from monitor_api.dashboard.i18n import LANG_COOKIE, Translator, normalise_lang, translator
from monitor_api.dashboard.rendering import render

LANG_COOKIE_MAX_AGE_S = 365 * 24 * 3600


def page_translator(request: Request) -> tuple[Translator, str | None]:
    """The visitor's language: ?lang= (remembered in a cookie), else the cookie, else zh-CN."""
    asked = normalise_lang(request.query_params.get("lang"))
    if asked:
        return translator(asked), asked
    return translator(request.cookies.get(LANG_COOKIE)), None


def page(request: Request, template: str, tr: Translator, remember: str | None, context: dict[str, Any],
          status: int = 200) -> HTMLResponse:
    context = {"user": None, "nav": "", "hall": None, **context}
    response = render(request, template, {"tr": tr, **context}, status=status)
    if remember:
        response.set_cookie(LANG_COOKIE, remember, max_age=LANG_COOKIE_MAX_AGE_S, samesite="lax", path="/")
    return response


def safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//' or backslash tricks) may follow a login. Browsers drop
    tabs and newlines from URLs ('/', TAB, '/evil' becomes '//evil'), so control characters and spaces are refused."""
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)):
        return "/dashboard"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("/api/"):
        return "/dashboard"
    return value


def to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(here, safe=""), status_code=303)


async def visit(request: Request):
    """(translator, remember-language flag, API client, user) for a logged-in visitor, or None (send to /login)."""
    tr, remember = page_translator(request)
    api = ApiClient(request)
    user = await me(api, tr)
    return None if user is None else (tr, remember, api, user)


async def me(api: ApiClient, tr: Translator) -> present.UserView | None:
    try:
        return present.user_view(await api.get("/auth/me"), tr)
    except ApiError as error:
        if error.status in (401, 403):
            return None
        raise


def error_page(request: Request, tr: Translator, remember: str | None, user: present.UserView | None, message: str,
           status: int) -> HTMLResponse:
    return page(request, "error.html", tr, remember, {"user": user, "message": message}, status=status)


def api_failure(request: Request, tr: Translator, remember: str | None, user: present.UserView | None,
                 error: ApiError, *, forbidden: str = "incident.forbidden",
                 not_found: str = "error.not_found") -> Response:
    if error.status == 401:
        return to_login(request)
    if error.status == 403:
        return error_page(request, tr, remember, user, tr.t(forbidden), 403)
    if error.status in (404, 410):
        return error_page(request, tr, remember, user, tr.t(not_found), 404)
    return error_page(request, tr, remember, user, tr.t("error.api", status=error.status), 502)


def items(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        document = document.get("items", [])
    return [item for item in document or [] if isinstance(item, dict)]


async def halls(api: ApiClient, user: present.UserView) -> tuple[present.HallView, ...]:
    """The halls this person may watch (the API lists only those), with names and time zones."""
    listed = tuple(present.HallView(str(h.get("id")), str(h.get("name") or h.get("id")),
                                    str(h.get("timezone") or present.DEFAULT_TIMEZONE))
                   for h in items(await api.get("/halls")) if h.get("id"))
    if user.halls:
        allowed = {hall.id for hall in user.halls}
        listed = tuple(hall for hall in listed if hall.id in allowed) or user.halls
    return listed


def chosen_hall(request: Request, halls: tuple[present.HallView, ...]) -> present.HallView | None:
    asked = request.query_params.get("hall")
    for hall in halls:
        if hall.id == asked:
            return hall
    return halls[0] if halls else None
