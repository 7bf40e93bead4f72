"""Open live-feed subscriptions follow the subscriber's access: a logout or a deactivation ends the stream (SSE: the
response ends; WebSocket: close 1008) within the re-check interval, and a hall taken from the user stops its
messages from the next re-check on. Over HTTP against the real database, for both transports; and the guard's
budget: one database check per interval however many messages arrive, failing closed."""
from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from monitor_api.auth.principal import Principal
from monitor_api.live.guard import SubscriberGuard
from monitor_api.live.hub import EventHub
from tests.api.http.world import PASSWORD, World

RECHECK_S = 0.3  # the hub's re-check interval in these tests (the default is a few seconds)
SLACK_S = 1.5  # scheduling slack on a loaded machine
TRANSPORTS = ("sse", "ws")


@dataclass(frozen=True)
class End:
    """The stream ended: SSE response finished (code None) or WebSocket closed with `code`."""
    code: int | None


@dataclass
class Subscriber:
    items: queue.Queue[dict | End]
    logout: Callable[[], int]  # logs the subscriber's session out; the status code


def _message(hall: str, n: object) -> dict:
    return {"type": "window.status", "hall_id": hall, "n": n, "sent": time.monotonic()}


def _read_sse(stream: httpx.Response, items: queue.Queue[dict | End]) -> None:
    lines = stream.iter_lines()
    with contextlib.suppress(httpx.HTTPError, RuntimeError):  # the test closed the stream
        for line in lines:
            if line.startswith("data: "):
                items.put(json.loads(line[len("data: "):]))
        items.put(End(None))


def _read_ws(websocket, items: queue.Queue[dict | End]) -> None:
    try:
        while True:
            items.put(json.loads(websocket.recv()))
    except ConnectionClosed as closed:
        items.put(End(closed.rcvd.code if closed.rcvd is not None else None))


@contextlib.contextmanager
def _subscribe(world: World, client: httpx.Client, username: str, transport: str) -> Iterator[Subscriber]:
    """Subscribe as `username`: SSE with a dashboard cookie session, WebSocket with a bearer token in the query."""
    items: queue.Queue[dict | End] = queue.Queue()
    if transport == "sse":
        login = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = login.json()["csrf_token"]
        with client.stream("GET", "/api/v1/events/stream") as stream:
            assert stream.status_code == 200
            reader = threading.Thread(target=_read_sse, args=(stream, items), daemon=True)
            reader.start()
            yield Subscriber(items, lambda: client.post("/api/v1/auth/logout",
                                                        headers={"X-CSRF-Token": csrf}).status_code)
        reader.join(5)
        return
    token = world.token(username, fresh=True)
    url = world.base_url.replace("http://", "ws://") + f"/api/v1/events/ws?token={token}"
    with connect(url, open_timeout=5) as websocket:
        assert json.loads(websocket.recv(timeout=5))["type"] == "hello"
        reader = threading.Thread(target=_read_ws, args=(websocket, items), daemon=True)
        reader.start()
        yield Subscriber(items, lambda: client.post("/api/v1/auth/logout", headers={
            "Authorization": f"Bearer {token}"}).status_code)
    reader.join(5)


def _first_message(items: queue.Queue[dict | End]) -> dict:
    """The first message (the SSE subscription exists once the response started; publish until one arrives)."""
    item = items.get(timeout=5)
    assert isinstance(item, dict), item
    return item


@contextlib.contextmanager
def _publishing(world: World, halls: list[str], period: float = 0.05) -> Iterator[None]:
    """Publish a message per hall every `period` seconds, as the runner does while windows change."""
    stop = threading.Event()

    def run() -> None:
        n = 0
        while not stop.is_set():
            for hall in halls:
                world.services.hub.publish_threadsafe(_message(hall, n))
            n += 1
            stop.wait(period)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def _until_end(items: queue.Queue[dict | End], deadline: float) -> tuple[list[dict], End | None]:
    messages: list[dict] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            item = items.get(timeout=left)
        except queue.Empty:
            break
        if isinstance(item, End):
            return messages, item
        messages.append(item)
    return messages, None


def _fast(world: World) -> World:
    world.services.hub.recheck_s = RECHECK_S
    return world


def _change_user(world: World, client: httpx.Client, username: str, **changes: object) -> None:
    response = client.patch(f"/api/v1/users/{world.ids[username]}", json=changes, headers=world.headers("admin"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_logout_ends_an_open_stream(sqlite_world: World, transport: str) -> None:
    world = _fast(sqlite_world)
    with world.client() as client, _subscribe(world, client, "supervisor_a", transport) as subscriber:
        with _publishing(world, ["hall-a"]):
            assert _first_message(subscriber.items)["hall_id"] == "hall-a"
            assert subscriber.logout() == 204
            logged_out = time.monotonic()
            messages, end = _until_end(subscriber.items, logged_out + RECHECK_S + SLACK_S)
    assert end is not None, f"the stream outlived its session ({len(messages)} messages after the logout)"
    assert end.code == (1008 if transport == "ws" else None)
    late = [m for m in messages if m["sent"] > logged_out + RECHECK_S + 0.5]
    assert late == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_deactivating_the_user_ends_an_open_stream(sqlite_world: World, transport: str) -> None:
    world = _fast(sqlite_world)
    with world.client() as client, _subscribe(world, client, "supervisor_b", transport) as subscriber:
        with _publishing(world, ["hall-b"]):
            assert _first_message(subscriber.items)["hall_id"] == "hall-b"
            _change_user(world, client, "supervisor_b", active=False)
            messages, end = _until_end(subscriber.items, time.monotonic() + RECHECK_S + SLACK_S)
    assert end is not None, f"the stream outlived the account ({len(messages)} messages after the deactivation)"
    assert end.code == (1008 if transport == "ws" else None)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_hall_taken_from_the_user_stops_its_messages(sqlite_world: World, transport: str) -> None:
    world = _fast(sqlite_world)
    hub = world.services.hub
    with world.client() as client:
        _change_user(world, client, "supervisor_a", halls=["hall-a", "hall-b"])
        with _subscribe(world, client, "supervisor_a", transport) as subscriber:
            with _publishing(world, ["hall-b"]):
                assert _first_message(subscriber.items)["hall_id"] == "hall-b"  # the user has hall B now
            _change_user(world, client, "supervisor_a", halls=["hall-a"])
            time.sleep(RECHECK_S * 3)  # idle: the re-check runs on its own
            while not subscriber.items.empty():  # what was delivered before the change took effect
                assert isinstance(subscriber.items.get_nowait(), dict)
            hub.publish_threadsafe(_message("hall-b", "after-b"))
            hub.publish_threadsafe(_message("hall-a", "after-a"))
            delivered = subscriber.items.get(timeout=5)
            assert isinstance(delivered, dict) and delivered["n"] == "after-a", delivered  # hall B's never came
            # The stream stays open for the halls the user keeps.
            hub.publish_threadsafe(_message("hall-a", "still"))
            assert subscriber.items.get(timeout=5)["n"] == "still"


def test_the_guard_checks_once_per_interval_however_many_messages_and_fails_closed() -> None:
    async def scenario() -> None:
        now = [100.0]
        calls: list[float] = []
        answers: list[Principal | None | Exception] = [
            Principal("user", 1, "u", "bearer", halls=frozenset({"hall-a"})), RuntimeError("database down")]

        def check() -> Principal | None:
            calls.append(now[0])
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        subscription = EventHub().subscribe(None)
        guard = SubscriberGuard(subscription, check, interval=2.0, clock=lambda: now[0])
        for _ in range(50):  # a burst within the interval: no check (the route authenticated just now)
            assert await guard.still_allowed()
        assert calls == [] and guard.due_in() == 2.0
        now[0] += 2.0
        for _ in range(50):  # the next burst: one check, whose halls now filter the subscription
            assert await guard.still_allowed()
        assert calls == [102.0] and subscription.halls == frozenset({"hall-a"})
        assert not subscription.wants({"hall_id": "hall-b"})
        now[0] += 2.5
        assert not await guard.still_allowed()  # a check that cannot be made ends the stream
        now[0] += 10.0
        assert not await guard.still_allowed() and calls == [102.0, 104.5]  # and it stays ended

    asyncio.run(scenario())
