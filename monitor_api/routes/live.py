"""The live feed over Server-Sent Events and WebSocket: incident, camera and window messages for the caller's halls.

Messages are JSON objects with a `type` (incident.opened, incident.updated, incident.closed, incident.reviewed,
camera.state, window.status) and a `hall_id`. SSE sends each as `event: <type>` + `data: <json>`, and a keep-alive
comment when idle (proxies close silent connections). A subscriber that falls behind is dropped by the hub: the SSE
stream ends (EventSource reconnects by itself) and the WebSocket closes with 1013 (try again later).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from monitor_api.auth.policy import LiveSubscriber
from monitor_api.live.hub import Subscription
from monitor_api.services import ServicesDep

router = APIRouter(prefix="/events", tags=["live"])


def _sse(message: dict) -> bytes:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {message.get('type', 'message')}\ndata: {data}\n\n".encode("utf-8")


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}},
            summary="Live feed (Server-Sent Events)")
async def stream(principal: LiveSubscriber, services: ServicesDep) -> StreamingResponse:
    hub, keepalive = services.hub, services.settings.sse_keepalive_s
    subscription = hub.subscribe(principal.halls)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n: connected\n\n"
            while True:
                try:
                    message = await subscription.get(timeout=keepalive)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield _sse(message)
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _forward(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        message = await subscription.get()
        if message is None:
            await websocket.close(code=1013, reason="too far behind; reconnect")
            return
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
    subscription = services.hub.subscribe(principal.halls)
    await websocket.send_text(json.dumps({"type": "hello", "halls": sorted(principal.halls) if principal.halls
                                          is not None else None}))
    tasks = [asyncio.create_task(_forward(websocket, subscription)), asyncio.create_task(_drain(websocket))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        services.hub.unsubscribe(subscription)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
