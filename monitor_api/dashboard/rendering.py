"""Templates (Jinja2, autoescaped), the static files with content-hashed URLs, and the pages' security headers."""
from __future__ import annotations

import hashlib
import mimetypes
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from monitor_api.dashboard.i18n import HTML_LANG

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/dashboard/static/"

# Scripts and styles come only from our own files (no inline script, no eval); evidence images and clips come from
# the API on the same origin; the live feed is same-origin SSE. Nothing may frame the pages.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show personal data and review state: never from a cache
}


@cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """The URL of a static file with its content hash, so a deployment never runs yesterday's script."""
    return f"{STATIC_PREFIX}{name}?v={_static_version(name)}"


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.globals["static_url"] = static_url
    return environment


ENVIRONMENT = _environment()


def _lang_switch_url(request: Request, other: str) -> str:
    """This page in the other language: the same path and query, `lang` replaced."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    return request.url.path + "?" + urlencode(query)


def render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    tr = context["tr"]
    other = "en" if tr.lang == "zh" else "zh"
    html = ENVIRONMENT.get_template(name).render(
        lang_switch_url=_lang_switch_url(request, other), other_html_lang=HTML_LANG[other], **context)
    return HTMLResponse(html, status_code=status, headers=dict(SECURITY_HEADERS))


def static_response(path: str) -> Response:
    """A file from static/ (no directory listing, nothing outside it)."""
    base = STATIC_DIR.resolve()
    candidate = (base / path).resolve()
    if not path or not candidate.is_relative_to(base) or not candidate.is_file():
        return Response(status_code=404)
    media_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "application/javascript":
        media_type += "; charset=utf-8"
    return Response(candidate.read_bytes(), media_type=media_type, headers={
        "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"})
