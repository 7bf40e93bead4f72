"""The live feed over Server-Sent Events and WebSocket: incident, camera and window messages for the caller's halls.

Messages are JSON objects with a `type` (incident.opened, incident.updated, incident.closed, incident.reviewed,
camera.state, window.status) and a `hall_id`. SSE sends each as `event: <type>` + `data: <json>`, and a keep-alive
comment when idle (proxies close silent connections). A subscriber that falls behind is dropped by the hub: the SSE
stream ends (EventSource reconnects by itself) and the WebSocket closes with 1013 (try again later).

An open stream is re-checked against the subscriber's current access (SubscriberGuard: before delivering a message
and while idle, with a result reused for at most hub.recheck_s seconds): when the session ends (logout, deactivation,
password change, a role without the live feed) the SSE stream ends and the WebSocket closes with 1008 (policy
violation); when the user's halls change, messages of halls they no longer have stop from the next re-check on.
"""
from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections.abc import AsyncIterator, Callable
from typing import Final

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect, WebSocketException
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection

from monitor_api.auth.policy import LIVE_FEED, LiveSubscriber, gate
from monitor_api.auth.principal import Principal
from monitor_api.live.guard import SubscriberGuard
from monitor_api.live.hub import Message, Subscription
from monitor_api.problems import ApiProblem
from monitor_api.services import ServicesDep

router = APIRouter(prefix="/events", tags=["live"])


class _Idle(enum.Enum):
    IDLE = enum.auto()


_IDLE: Final = _Idle.IDLE  # no message arrived before a re-check or keep-alive fell due


def _sse(message: dict) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {message.get('type', 'message')}\ndata: {data}\n\n".encode()


def _recheck(connection: HTTPConnection) -> Callable[[], Principal | None]:
    """The route's own authentication and policy, run again on the credentials the stream was opened with."""
    live_feed = gate(LIVE_FEED)

    def check() -> Principal | None:
        try:
            return live_feed(connection)
        except (ApiProblem, WebSocketException):
            return None

    return check


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
            summary="Live feed (Server-Sent Events)")
async def stream(request: Request, principal: LiveSubscriber, services: ServicesDep) -> StreamingResponse:
    hub, keepalive = services.hub, services.settings.sse_keepalive_s
    subscription = hub.subscribe(principal.halls)
    guard = SubscriberGuard(subscription, _recheck(request), hub.recheck_s)

    async def events() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        try:
            yield b"retry: 3000\n: connected\n\n"
            keepalive_at = loop.time() + keepalive
            while True:
                wait = min(max(0.0, keepalive_at - loop.time()), guard.due_in())
                message: Message | _Idle | None
                try:
                    message = await subscription.get(timeout=wait)
                except TimeoutError:
                    message = _IDLE
                if message is None or not await guard.still_allowed():
                    return
                if message is not _IDLE and subscription.wants(message):
                    keepalive_at = loop.time() + keepalive
                    yield _sse(message)
                elif loop.time() >= keepalive_at:
                    keepalive_at = loop.time() + keepalive
                    yield b": keep-alive\n\n"
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _forward(websocket: WebSocket, subscription: Subscription, guard: SubscriberGuard) -> None:
    while True:
        message: Message | _Idle | None
        try:
            message = await subscription.get(timeout=guard.due_in())
        except TimeoutError:
            message = _IDLE
        if message is None:
            await websocket.close(code=1013, reason="too far behind; reconnect")
            return
        if not await guard.still_allowed():
            await websocket.close(code=1008, reason="session ended or access revoked")
            return
        if message is not _IDLE and subscription.wants(message):
            await websocket.send_text(json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str))


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.websocket("/ws")
async def websocket_feed(websocket: WebSocket, principal: LiveSubscriber, services: ServicesDep) -> None:
    """Live feed over WebSocket; authenticate with the session cookie (same origin) or `?token=<bearer token>`."""
    await websocket.accept()
    hub = services.hub
    subscription = hub.subscribe(principal.halls)
    guard = SubscriberGuard(subscription, _recheck(websocket), hub.recheck_s)
    await websocket.send_text(json.dumps({"type": "hello", "halls": sorted(principal.halls) if principal.halls
                                          is not None else None}))
    tasks = [asyncio.create_task(_forward(websocket, subscription, guard)), asyncio.create_task(_drain(websocket))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
