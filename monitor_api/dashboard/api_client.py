"""Pages read data through the app's own JSON API, in process, with the visitor's cookies.

Why not call the storage layer directly: the API is where authentication, the hall-scope checks after every lookup
and the audit log live. Reading through it gives a page exactly what that person may see, writes the same audit
entries, and keeps the dashboard coupled to the published `/api/v1` contract only, not to the backend's internals.
Only safe GET requests are made here; every change goes from the browser to the API with the CSRF header.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

API_PREFIX = "/api/v1"
_FORWARDED_HEADERS = (b"cookie", b"authorization", b"accept-language", b"user-agent", b"host", b"x-forwarded-for")


class ApiError(Exception):
    """The API answered with an error status (401, 403, 404, 5xx): pages map it to a redirect or an error page."""

    def __init__(self, status: int, path: str, detail: str = ""):
        super().__init__(f"GET {path} -> {status} {detail}".strip())
        self.status = status
        self.path = path
        self.detail = detail


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class ApiClient:
    """GET requests to `/api/v1/...` of the app serving `request`, as the person who sent `request`."""

    def __init__(self, request: Request):
        self._request = request

    async def fetch(self, path: str, params: dict[str, Any] | None = None) -> ApiResponse:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None and v != ""})
        full_path = API_PREFIX + path
        scope = self._scope(full_path, query)
        received = False
        done = asyncio.Event()
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # a streaming response listens for a disconnect: only after it has finished
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self._request.app(scope, receive, send)
        except Exception as error:  # noqa: BLE001 - Starlette re-raises after it has sent its 500 response
            if not start:
                raise ApiError(500, path, type(error).__name__) from error
        finally:
            done.set()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
        return ApiResponse(int(start.get("status", 500)), headers, b"".join(chunks))

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON body of a successful GET; ApiError otherwise."""
        response = await self.fetch(path, params)
        if response.status >= 400:
            detail = ""
            try:
                document = response.json()
                if isinstance(document, dict):
                    detail = str(document.get("detail") or document.get("title") or "")
            except (ValueError, UnicodeDecodeError):
                pass
            raise ApiError(response.status, path, detail)
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(502, path, f"not JSON: {error}") from error

    def _scope(self, path: str, query: str) -> dict[str, Any]:
        outer = self._request.scope
        headers = [(name, value) for name, value in outer.get("headers", []) if name in _FORWARDED_HEADERS]
        headers.append((b"accept", b"application/json"))
        scope: dict[str, Any] = {
            "type": "http", "asgi": dict(outer.get("asgi", {"version": "3.0"})),
            "http_version": outer.get("http_version", "1.1"), "method": "GET", "scheme": outer.get("scheme", "http"),
            "path": path, "raw_path": path.encode("utf-8"), "query_string": query.encode("ascii"),
            "root_path": outer.get("root_path", ""), "headers": headers, "client": outer.get("client"),
            "server": outer.get("server"), "extensions": {},
        }
        if "state" in outer:  # the lifespan state (database, settings) the API's dependencies read
            scope["state"] = dict(outer["state"])
        return scope
