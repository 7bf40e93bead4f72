"""ASGI middleware: the request-body cap (413) and a few security headers.

Written as plain ASGI, not BaseHTTPMiddleware: the cap must see the body as it streams in (a chunked upload has no
Content-Length), and streaming responses (clips, SSE) must pass through untouched.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor_api.problems import ApiProblem, problem_response

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class BodySizeLimit:
    """Refuse request bodies over `max_bytes`: at once from Content-Length, else while the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                response = problem_response(400, "Content-Length is not a number", instance=scope.get("path"))
                await response(scope, receive, send)
                return
            if too_large:
                response = problem_response(413, f"request body over {self.max_bytes} bytes",
                                            instance=scope.get("path"))
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app: the problem handlers turn it into a 413 document.
                    raise ApiProblem(413, f"request body over {self.max_bytes} bytes")
            return message

        await self.app(scope, counting_receive, send)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in _SECURITY_HEADERS if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
