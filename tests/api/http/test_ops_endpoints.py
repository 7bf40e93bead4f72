"""/metrics and /readyz as an anonymous caller, a load balancer and a Prometheus scraper see them.

Anonymous callers learn only ready / not ready (200 / 503) and the names of the failing checks; hall ids, camera ids
and incident counts need an admin or a key with `metrics:read`. /readyz follows the pipeline's camera reports: a
camera reported offline makes it 503 on the next request, not once its last frame has aged.
"""
from __future__ import annotations

from datetime import UTC, datetime

import httpx

from cameras.health import CameraHealth, CameraState
from counterwatch.runtime.messages import CameraStats
from monitor_api.accounts import add_api_key
from monitor_api.ingest import DatabaseSink, PipelineBridge
from monitor_api.storage import Actor, sync_hall
from monitor_api.storage.types import utcnow
from tests.api.http.world import HALL_B_YAML, World
from tests.api.storage.helpers import hall_config, lifecycle

IDENTIFYING = ("hall-a", "hall-b", "cam1", "cam-b1", "phone_use", "counterwatch_incidents")


def _assert_anonymous_view(response: httpx.Response) -> None:
    for text in IDENTIFYING:
        assert text not in response.text, f"{text!r} shown to an anonymous caller: {response.text}"


def _expect_cameras(world: World) -> None:
    """As in `counterwatch run`: the cameras run in this process tree and readiness depends on them."""
    world.services.settings = world.services.settings.model_copy(update={"expect_cameras": True})


def _report(world: World, camera: str, hall: str, state: CameraState, reason: str = "") -> None:
    now = datetime.now(UTC)
    bridge = PipelineBridge(world.services, hall)
    bridge.handle(CameraStats(camera, 3, now))
    bridge.handle(CameraHealth(camera, state, reason, 10, 0, 0, 0, now, 0.1))


def test_metrics_need_a_metrics_key_or_an_admin(sqlite_world: World) -> None:
    world = sqlite_world
    with world.client() as client:
        anonymous = client.get("/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        _assert_anonymous_view(anonymous)
        for principal in ("supervisor_a", "manager", "key_incidents"):
            assert client.get("/metrics", headers=world.headers(principal)).status_code == 403, principal
        # Prometheus sends the key as a bearer credential (authorization.credentials_file in scrape_configs).
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {world.keys['key_metrics']}"})
        assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
        assert 'counterwatch_incidents{hall="hall-a",review_state="confirmed",type="phone_use"} 1.0' in scraped.text
        admin = client.get("/metrics", headers=world.headers("admin"))
        assert admin.status_code == 200 and "counterwatch_incidents{" in admin.text
        wrong = client.get("/metrics", headers={"Authorization": "Bearer cwk_00000000_not-a-key"})
        assert wrong.status_code == 401 and "invalid" in wrong.json()["detail"]


def test_a_hall_bound_metrics_key_must_cover_every_hall_of_the_instance(sqlite_world: World) -> None:
    world = sqlite_world
    with world.services.database.write() as session:
        key = add_api_key(session, Actor.system("test"), name="hall-a scraper", scopes=["metrics:read"],
                          hall_id="hall-a", expires_days=30, now=utcnow()).key
    with world.client() as client:
        refused = client.get("/metrics", headers={"X-API-Key": key})
        assert refused.status_code == 403
        assert "hall-b" in refused.json()["detail"]  # names what the key does not cover


def test_metrics_count_only_the_halls_this_instance_serves(sqlite_world: World) -> None:
    """Two halls on one database, each with its own instance: hall C's incidents are not hall A/B's to publish."""
    world = sqlite_world
    hall_c = HALL_B_YAML.replace("hall-b", "hall-c").replace("cam-b1", "cam-c1").replace("乙大厅", "丙大厅")
    with world.services.database.write() as session:
        sync_hall(session, hall_config(hall_c))
    sink = DatabaseSink(world.services.database)
    for item in lifecycle("inc-c1", hall="hall-c", camera="cam-c1", incident_type="sleeping"):
        sink.deliver(item)
    with world.client() as client:
        scraped = client.get("/metrics", headers=world.headers("key_metrics")).text
    assert 'hall="hall-a"' in scraped and 'hall="hall-b"' in scraped
    assert "hall-c" not in scraped


def test_readyz_tells_anonymous_callers_only_ready_or_not(sqlite_world: World) -> None:
    world = sqlite_world
    _expect_cameras(world)
    with world.client() as client:
        waiting = client.get("/readyz")  # no camera has delivered a frame yet
        assert waiting.status_code == 503
        assert waiting.json() == {"status": "not ready", "failing": ["cameras"]}
        _assert_anonymous_view(waiting)
        detail = client.get("/readyz", headers=world.headers("key_metrics"))
        assert detail.status_code == 503
        assert detail.json()["checks"]["cameras"]["cameras"]["cam1"]["hall_id"] == "hall-a"
        assert client.get("/readyz", headers=world.headers("supervisor_a")).json() == waiting.json()
        assert client.get("/readyz", headers={"X-API-Key": "cwk_00000000_wrong"}).status_code == 401

        _report(world, "cam1", "hall-a", CameraState.ONLINE)
        _report(world, "cam-b1", "hall-b", CameraState.ONLINE)
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "failing": []}
        _assert_anonymous_view(ready)


def test_readyz_fails_on_the_next_request_after_a_camera_goes_offline(sqlite_world: World) -> None:
    world = sqlite_world
    _expect_cameras(world)
    _report(world, "cam1", "hall-a", CameraState.ONLINE)
    _report(world, "cam-b1", "hall-b", CameraState.ONLINE)
    with world.client() as client:
        assert client.get("/readyz").status_code == 200
        # The reader lost the stream a moment after its last good frame, which is still fresh.
        _report(world, "cam1", "hall-a", CameraState.OFFLINE, "read failed: connection reset")
        offline = client.get("/readyz")
        assert offline.status_code == 503 and offline.json() == {"status": "not ready", "failing": ["cameras"]}
        detail = client.get("/readyz", headers=world.headers("admin")).json()["checks"]["cameras"]
        assert detail["ok"] is False
        assert detail["cameras"]["cam1"]["state"] == "offline" and detail["cameras"]["cam1"]["ok"] is False
        assert detail["cameras"]["cam1"]["reason"] == "read failed: connection reset"
        assert detail["cameras"]["cam-b1"]["ok"] is True
        _report(world, "cam1", "hall-a", CameraState.STALLED, "no frame for 10 s")
        assert client.get("/readyz").status_code == 503
        _report(world, "cam1", "hall-a", CameraState.ONLINE)
        assert client.get("/readyz").status_code == 200


def test_ops_routes_are_documented(sqlite_world: World) -> None:
    paths = sqlite_world.app.openapi()["paths"]
    metrics = paths["/metrics"]["get"]
    assert {"200", "401", "403"} <= set(metrics["responses"])
    assert "metrics:read" in metrics["description"]
    readyz = paths["/readyz"]["get"]
    assert {"200", "503"} <= set(readyz["responses"])
    assert "metrics:read" in readyz["description"]


def test_readyz_and_metrics_show_the_county_link(sqlite_world: World) -> None:
    """An edge's outbox depth and age are in /metrics and the /readyz detail; a cut link leaves the node ready (the
    outbox keeps everything), a full outbox (dropping low-value messages) does not."""
    from monitor_api.live.state import LinkStatus

    world = sqlite_world
    with world.client() as client:
        world.services.live.set_link(LinkStatus("edge", False, outbox_depth=42, outbox_oldest_age_s=310.4,
                                                detail="ConnectionRefusedError"))
        cut = client.get("/readyz")
        assert cut.status_code == 200 and cut.json()["failing"] == []
        uplink = client.get("/readyz", headers=world.headers("admin")).json()["checks"]["uplink"]
        assert uplink == {"ok": True, "role": "edge", "connected": False, "outbox_depth": 42,
                          "outbox_oldest_age_s": 310.4, "outbox_full": False, "detail": "ConnectionRefusedError"}
        scraped = client.get("/metrics", headers=world.headers("admin")).text
        assert "counterwatch_outbox_depth 42.0" in scraped
        assert "counterwatch_outbox_oldest_age_seconds 310.4" in scraped
        assert "counterwatch_uplink_connected 0.0" in scraped
        world.services.live.set_link(LinkStatus("edge", False, outbox_depth=200_000, outbox_full=True))
        full = client.get("/readyz")
        assert full.status_code == 503 and full.json() == {"status": "not ready", "failing": ["uplink"]}
