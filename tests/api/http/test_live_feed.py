"""The live feed: an ingested incident reaches SSE and WebSocket subscribers of its hall only; a slow subscriber is
dropped without blocking ingest; window statuses, camera states and queue pauses reach the registries."""
from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cameras.health import CameraHealth, CameraState
from counterwatch.runtime.messages import CameraStats, WindowStatus
from monitor_api.ingest import PipelineBridge
from monitor_api.live.hub import EventHub
from monitor_api.storage.models import PausePeriodRow
from tests.api.http.world import World
from tests.api.storage.helpers import event


def _ingest_later(world: World, *events, delay: float = 0.3) -> threading.Timer:
    bridge = PipelineBridge(world.services, "hall-a")

    def deliver() -> None:
        for item in events:
            bridge.handle(item)

    timer = threading.Timer(delay, deliver)
    timer.start()
    return timer


def test_sse_delivers_ingested_incidents_of_the_subscribers_halls(sqlite_world: World) -> None:
    world = sqlite_world
    hall_b = event("opened", "live-b", hall="hall-b", camera="cam-b1", ts=500.0, start_ts=470.0)
    hall_a = event("opened", "live-a", ts=500.0, start_ts=470.0)
    received: list[dict] = []
    comments = 0
    with httpx.Client(base_url=world.base_url, timeout=10.0) as client:
        with client.stream("GET", "/api/v1/events/stream", headers=world.headers("supervisor_a")) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            timer = _ingest_later(world, hall_b, hall_a, delay=0.8)  # after at least one keep-alive (0.5 s)
            for line in stream.iter_lines():
                if line.startswith(":"):
                    comments += 1
                elif line.startswith("data: "):
                    received.append(json.loads(line[len("data: "):]))
                    break
            timer.join()
    assert comments >= 2  # "connected" and at least one keep-alive
    assert [(m["type"], m["incident"]["id"], m["hall_id"]) for m in received] == [
        ("incident.opened", "live-a", "hall-a")]


def test_websocket_delivers_by_hall_with_a_bearer_token_in_the_query(sqlite_world: World) -> None:
    world = sqlite_world
    url = world.base_url.replace("http://", "ws://") + "/api/v1/events/ws"
    token = world.token("supervisor_b")
    with connect(f"{url}?token={token}", open_timeout=5) as websocket:
        assert json.loads(websocket.recv(timeout=5)) == {"type": "hello", "halls": ["hall-b"]}
        timer = _ingest_later(world, event("opened", "ws-a", ts=600.0, start_ts=570.0),
                              event("opened", "ws-b", hall="hall-b", camera="cam-b1", ts=600.0, start_ts=570.0))
        message = json.loads(websocket.recv(timeout=10))
        timer.join()
    assert message["type"] == "incident.opened" and message["incident"]["id"] == "ws-b"


def test_websocket_refuses_anonymous_and_cross_origin_cookie_sessions(sqlite_world: World) -> None:
    url = sqlite_world.base_url.replace("http://", "ws://") + "/api/v1/events/ws"
    with pytest.raises(InvalidStatus):
        with connect(url, open_timeout=5):
            pass
    with httpx.Client(base_url=sqlite_world.base_url) as client:
        client.post("/api/v1/auth/login", json={"username": "manager", "password": "correct horse battery"})
        cookie = f"cw_session={client.cookies['cw_session']}"
    with pytest.raises(InvalidStatus):
        with connect(url, additional_headers={"Cookie": cookie, "Origin": "http://evil.example"}, open_timeout=5):
            pass
    with connect(url, additional_headers={"Cookie": cookie}, open_timeout=5) as websocket:
        assert json.loads(websocket.recv(timeout=5))["type"] == "hello"


def test_a_slow_subscriber_is_dropped_and_never_blocks_publishing() -> None:
    async def scenario() -> None:
        hub = EventHub(maxsize=3)
        hub.bind(asyncio.get_running_loop())
        slow = hub.subscribe(None)
        filtered = hub.subscribe(frozenset({"hall-z"}))
        for index in range(100):
            hub.publish({"type": "incident.opened", "hall_id": "hall-a", "n": index})
        assert slow.dropped and hub.subscribers == 1 and hub.dropped_subscribers == 1
        assert await slow.get(timeout=1) is None  # the stream ends
        assert filtered.queue.empty() and not filtered.dropped
        # From another thread, publishing hands over to the loop and returns at once.
        assert await asyncio.to_thread(hub.publish_threadsafe, {"type": "x", "hall_id": "hall-z"})
        assert (await filtered.get(timeout=1))["type"] == "x"

    asyncio.run(scenario())


def test_window_status_camera_state_metrics_and_queue_pause(sqlite_world: World) -> None:
    world = sqlite_world
    calls: list[tuple[str, str, bool]] = []
    world.services.queue_control = lambda hall, window, paused: calls.append((hall, window, paused))
    bridge = PipelineBridge(world.services, "hall-a")
    now = datetime.now(UTC)
    bridge.handle(WindowStatus("w01", "cam1", True, False, None, 12.0, now))
    bridge.handle(CameraHealth("cam1", CameraState.ONLINE, "", 10, 0, 0, 0, now, 0.1))
    bridge.handle(CameraStats("cam1", 7, now, (("ssd_mobilenet_v2_coco", 41.5, 7),)))
    with world.client() as client:
        supervisor = world.headers("supervisor_a")
        windows = {w["window_id"]: w for w in client.get("/api/v1/windows", headers=supervisor).json()}
        assert windows["w01"]["status"] == "present" and windows["w01"]["rostered_staff_name"] == "张伟"
        assert windows["w02"]["status"] == "in_incident" and windows["w02"]["incident_id"] == "inc-a2"
        cameras = {c["camera_id"]: c for c in client.get("/api/v1/cameras", headers=supervisor).json()}
        assert cameras["cam1"]["state"] == "online" and cameras["cam1"]["frames_processed"] == 7
        assert "cam-b1" not in cameras  # hall B's camera
        metrics = client.get("/metrics", headers=world.headers("key_metrics")).text
        assert 'counterwatch_frames_processed_total{camera="cam1",hall="hall-a"} 7.0' in metrics
        assert 'counterwatch_model_latency_ms{model="ssd_mobilenet_v2_coco"} 41.5' in metrics
        assert 'counterwatch_camera_state{camera="cam1",hall="hall-a",state="online"} 1.0' in metrics
        assert 'counterwatch_incidents{hall="hall-a",review_state="confirmed",type="phone_use"} 1.0' in metrics

        key = {"X-API-Key": world.keys["key_queue"]}
        paused = client.post("/api/v1/windows/w01/pause", headers=key)
        assert paused.status_code == 200 and paused.json()["paused"] is True
        again = client.post("/api/v1/windows/w01/pause", headers=key)
        assert again.json()["since"] == paused.json()["since"]  # idempotent: the same period
        windows = {w["window_id"]: w for w in client.get("/api/v1/windows", headers=supervisor).json()}
        assert windows["w01"]["status"] == "paused" and windows["w01"]["pause_source"] == "queue"
        assert client.post("/api/v1/windows/w01/pause", headers=key, params={"hall": "hall-b"}).status_code == 403
        assert client.post("/api/v1/windows/w01/resume", headers=key).status_code == 200
        windows = {w["window_id"]: w for w in client.get("/api/v1/windows", headers=supervisor).json()}
        assert windows["w01"]["status"] == "present"
    assert calls == [("hall-a", "w01", True), ("hall-a", "w01", True), ("hall-a", "w01", False)]
    with world.services.database.read() as session:
        periods = session.query(PausePeriodRow).all()
    assert [(p.window_id, p.source.value, p.ended_at is not None) for p in periods] == [("w01", "queue", True)]


def test_readiness_reports_database_cameras_and_disk(sqlite_world: World) -> None:
    world = sqlite_world
    monitoring = world.headers("key_metrics")  # the per-check detail is for monitoring, not for anyone
    with world.client() as client:
        ready = client.get("/readyz", headers=monitoring)
        assert ready.status_code == 200 and ready.json()["checks"]["database"]["ok"] is True
        assert ready.json()["checks"]["disk"]["ok"] is True
    # In `counterwatch run` the cameras must deliver: without frames the service is not ready.
    world.services.settings = world.services.settings.model_copy(update={"expect_cameras": True})
    with world.client() as client:
        not_ready = client.get("/readyz", headers=monitoring)
        assert not_ready.status_code == 503 and not_ready.json()["failing"] == ["cameras"]
        assert not_ready.json()["checks"]["cameras"]["cameras"]["cam1"]["fresh"] is False
        now = datetime.now(UTC)
        for hall, camera in (("hall-a", "cam1"), ("hall-b", "cam-b1")):  # each hall's run reports its cameras
            PipelineBridge(world.services, hall).handle(CameraStats(camera, 1, now))
        assert client.get("/readyz").status_code == 200
