"""Errors as RFC 7807 problem details (application/problem+json), for every status the API returns.

Handlers are installed for HTTPException (ours and Starlette's: 404 for unknown paths, 405), validation errors (422,
each error naming its field) and anything unexpected (500, logged with a reference id, no internals leaked).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("counterwatch.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. body.reason_code or query.limit.")
    message: str


class Problem(BaseModel):
    """RFC 7807 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "Malformed request: the body is not UTF-8 JSON",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state (e.g. already done); reload and try again",
    410: "Gone: purged by retention",
    413: "Body too large",
    422: "Invalid request",
    429: "Too many requests",
    503: "Temporarily unavailable",
}


def problem_responses(*statuses: int, notes: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for problem documents: `responses=problem_responses(409, notes={409: "already decided"})`.

    A route's entry replaces the app's entry of the same status, so each one carries the Problem model (`model`
    registers the schema; FastAPI also lists it under application/json, the route's own media type)."""
    notes = notes or {}
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {status: {"model": Problem, "content": content,
                     "description": notes.get(status) or _DESCRIPTIONS.get(status) or HTTPStatus(status).phrase}
            for status in (*statuses, *(status for status in notes if status not in statuses))}


class ApiProblem(StarletteHTTPException):
    """Raise to answer with a problem document: ApiProblem(409, "incident already confirmed")."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 errors: list[FieldError] | None = None) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.errors = errors


def problem_response(status: int, detail: str | None, *, instance: str | None = None,
                     errors: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = Problem(title=title, status=status, detail=detail, instance=instance, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers,
                        media_type=PROBLEM_MEDIA_TYPE)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location) or "request"


def validation_errors(raw: list[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(field=_field_name(error.get("loc", ())), message=str(error.get("msg", "invalid")))
            for error in raw]


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    errors = getattr(exc, "errors", None)
    return problem_response(exc.status_code, detail, instance=request.url.path, errors=errors,
                            headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(list(exc.errors()))
    names = ", ".join(error.field for error in errors[:5])
    return problem_response(422, f"invalid request: {names}", instance=request.url.path, errors=errors)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    reference = uuid.uuid4().hex[:12]
    logger.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
    return problem_response(500, f"internal error (reference {reference})", instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
