"""Evidence over HTTP: every view audited, Range requests for clips, path tricks refused with 4xx, never 5xx."""
from __future__ import annotations

from monitor_api.storage.models import EvidenceKind, EvidenceRow
from monitor_api.storage.types import utcnow
from tests.api.http.world import CLIP, JPEG, World


def test_every_evidence_view_is_written_to_the_audit_log(sqlite_world: World) -> None:
    world = sqlite_world
    with world.client() as client:
        snapshot = client.get("/api/v1/incidents/inc-a1/snapshot", headers=world.headers("supervisor_a"))
        assert snapshot.status_code == 200 and snapshot.headers["content-type"] == "image/jpeg"
        assert snapshot.content == JPEG and snapshot.headers["cache-control"] == "private, no-store"
        assert client.get("/api/v1/incidents/inc-a1/clip", headers=world.headers("staff_s001")).status_code == 200
        denied = client.get("/api/v1/incidents/inc-a1/snapshot", headers=world.headers("supervisor_b"))
        assert denied.status_code == 403
        entries = client.get("/api/v1/audit", headers=world.headers("auditor"),
                             params={"action": "evidence.view"}).json()["items"]
    viewers = sorted((entry["actor_id"], entry["details"]["kind"]) for entry in entries)
    assert viewers == sorted([(str(world.ids["supervisor_a"]), "snapshot"), (str(world.ids["staff_s001"]), "clip")])
    assert all(entry["hall_id"] == "hall-a" and entry["object_type"] == "evidence" for entry in entries)


def test_clips_support_range_requests(sqlite_world: World) -> None:
    headers = sqlite_world.headers("manager")
    with sqlite_world.client() as client:
        full = client.get("/api/v1/incidents/inc-a1/clip", headers=headers)
        assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
        assert full.headers["content-type"] == "video/mp4" and full.content == CLIP
        part = client.get("/api/v1/incidents/inc-a1/clip", headers={**headers, "Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == CLIP[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(CLIP)}"
        tail = client.get("/api/v1/incidents/inc-a1/clip", headers={**headers, "Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == CLIP[-10:]
        beyond = client.get("/api/v1/incidents/inc-a1/clip", headers={**headers, "Range": f"bytes={len(CLIP)}-"})
        assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(CLIP)}"
        garbage = client.get("/api/v1/incidents/inc-a1/clip", headers={**headers, "Range": "lines=1-2"})
        assert 400 <= garbage.status_code < 500


def test_path_tricks_get_4xx_never_5xx(sqlite_world: World) -> None:
    world = sqlite_world
    with world.services.database.write() as session:
        bad = [EvidenceRow(incident_id="inc-a2", kind=EvidenceKind.SNAPSHOT, path=path, retention_class="snapshot",
                           created_at=utcnow()) for path in ("../../../etc/passwd", "/etc/passwd", "inc-a2/../../x")]
        session.add_all(bad)
        session.flush()
        bad_ids = [row.id for row in bad]
    (world.services.settings.data_dir.parent / "outside.jpg").write_bytes(JPEG)
    headers = world.headers("manager")
    probes = [
        "/api/v1/incidents/..%2F..%2Fetc%2Fpasswd/snapshot", "/api/v1/incidents/%2Fetc%2Fpasswd/clip",
        "/api/v1/incidents/..%2Foutside.jpg/snapshot", "/api/v1/incidents/inc-a1/evidence/..%2F..%2Foutside.jpg",
        "/api/v1/incidents/inc-a1/evidence/%2e%2e", "/api/v1/incidents/%00/snapshot",
        "/api/v1/incidents/inc-a1/evidence/999999", "/api/v1/incidents/inc-b1/evidence/1",  # not inc-b1's file
        *[f"/api/v1/incidents/inc-a2/evidence/{evidence_id}" for evidence_id in bad_ids],
    ]
    with world.client() as client:
        for probe in probes:
            response = client.get(probe, headers=headers)
            assert 400 <= response.status_code < 500, (probe, response.status_code, response.text)
            assert response.content != JPEG
        # The latest snapshot of inc-a2 is now a tampered row: refused as unavailable, not served, not a 500.
        assert client.get("/api/v1/incidents/inc-a2/snapshot", headers=headers).status_code == 404


def test_purged_evidence_is_gone_but_listed(sqlite_world: World) -> None:
    world = sqlite_world
    with world.services.database.write() as session:
        row = session.get(EvidenceRow, world.ids["evidence_a1"])
        assert row is not None
        row.purged_at = utcnow()
    with world.client() as client:
        headers = world.headers("manager")
        gone = client.get(f"/api/v1/incidents/inc-a1/evidence/{world.ids['evidence_a1']}", headers=headers)
        assert gone.status_code == 410
        listed = client.get("/api/v1/incidents/inc-a1", headers=headers).json()["evidence"]
        first = next(item for item in listed if item["id"] == world.ids["evidence_a1"])
        assert first["purged"] is True and first["url"] is None
