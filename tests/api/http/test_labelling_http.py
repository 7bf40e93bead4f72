"""The labelling queue over HTTP, on SQLite and PostgreSQL: the most uncertain frame first, labels written with
their audit entry (relabelling audited with the previous label), unknown labels refused, other halls' samples
refused like incidents, the image served with its view audited, purged and missing files handled."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from monitor_api.storage.models import AuditLogRow, LabelSampleRow
from monitor_api.storage.types import utcnow
from tests.api.http.label_samples import seed_sample
from tests.api.http.world import PASSWORD, World

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _seed(world: World, hall: str, window: str, minutes: int, uncertainty: float, shade: int = 90) -> int:
    camera = "cam1" if hall == "hall-a" else "cam-b1"
    sample_id, _ = seed_sample(world.services.database, world.services.settings.data_dir, hall, camera, window,
                               T0 + timedelta(minutes=minutes), uncertainty, shade=shade)
    return sample_id


def _audit(world: World, client, **params: str) -> list[dict]:
    response = client.get("/api/v1/audit", headers=world.headers("auditor"), params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_queue_lists_the_most_uncertain_first_then_the_newest(world: World) -> None:
    sure = _seed(world, "hall-a", "w01", 0, 0.2)
    unsure_old = _seed(world, "hall-a", "w01", 1, 0.9)
    middle = _seed(world, "hall-a", "w02", 2, 0.5)
    unsure_new = _seed(world, "hall-a", "w02", 3, 0.9)
    other_hall = _seed(world, "hall-b", "w01", 4, 0.99)
    with world.client() as client:
        sup_a = world.headers("supervisor_a")
        page = client.get("/api/v1/labelling/queue", headers=sup_a, params={"hall": "hall-a"})
        assert page.status_code == 200, page.text
        document = page.json()
        assert [item["id"] for item in document["items"]] == [unsure_new, unsure_old, middle, sure]
        assert document["remaining"] == 4
        first = document["items"][0]
        assert first["hall_id"] == "hall-a" and first["window_id"] == "w02" and first["camera_id"] == "cam1"
        assert first["uncertainty"] == 0.9 and first["label"] is None
        assert first["scores"][0] == {"behaviour": "phone_use", "probability": 0.48, "threshold": 0.5}
        assert first["image_url"] == f"/api/v1/labelling/samples/{unsure_new}/image"
        assert datetime.fromisoformat(first["captured_at"]) == T0 + timedelta(minutes=3)

        one = client.get("/api/v1/labelling/queue", headers=sup_a, params={"hall": "hall-a", "limit": 1}).json()
        assert [item["id"] for item in one["items"]] == [unsure_new] and one["remaining"] == 4
        window = client.get("/api/v1/labelling/queue", headers=sup_a, params={"hall": "hall-a", "window": "w01"})
        assert [item["id"] for item in window.json()["items"]] == [unsure_old, sure]
        assert window.json()["remaining"] == 2
        # Without a hall: every hall the caller sees.
        mine = client.get("/api/v1/labelling/queue", headers=sup_a).json()
        assert other_hall not in [item["id"] for item in mine["items"]] and mine["remaining"] == 4
        everything = client.get("/api/v1/labelling/queue", headers=world.headers("manager")).json()
        assert [item["id"] for item in everything["items"]][:2] == [other_hall, unsure_new]
        assert everything["remaining"] == 5
        assert client.get("/api/v1/labelling/queue", headers=world.headers("supervisor_b"),
                          params={"hall": "hall-a"}).status_code == 403
        assert client.get("/api/v1/labelling/queue", headers=world.headers("manager"),
                          params={"hall": "no-such-hall"}).status_code == 404
        assert client.get("/api/v1/labelling/queue", headers=sup_a, params={"limit": 0}).status_code == 422


def test_a_label_is_stored_with_its_audit_entry_and_a_relabel_records_the_previous(world: World) -> None:
    first = _seed(world, "hall-a", "w01", 0, 0.9)
    second = _seed(world, "hall-a", "w01", 1, 0.4)
    with world.client() as client:
        sup_a = world.headers("supervisor_a")
        labelled = client.post(f"/api/v1/labelling/samples/{first}/label", headers=sup_a, json={"label": "phone_use"})
        assert labelled.status_code == 200, labelled.text
        document = labelled.json()
        assert document["label"] == "phone_use" and document["labelled_by"] == world.ids["supervisor_a"]
        assert document["labelled_at"] is not None
        queue = client.get("/api/v1/labelling/queue", headers=sup_a, params={"hall": "hall-a"}).json()
        assert [item["id"] for item in queue["items"]] == [second] and queue["remaining"] == 1

        entries = _audit(world, client, action="label_sample.label", object_id=str(first))
        assert len(entries) == 1
        assert entries[0]["actor_type"] == "user" and entries[0]["actor_id"] == str(world.ids["supervisor_a"])
        assert entries[0]["object_type"] == "label_sample" and entries[0]["hall_id"] == "hall-a"
        assert entries[0]["details"] == {"label": "phone_use", "previous": None}

        relabelled = client.post(f"/api/v1/labelling/samples/{first}/label", headers=world.headers("manager"),
                                 json={"label": "none"})
        assert relabelled.status_code == 200, relabelled.text
        assert relabelled.json()["label"] == "none" and relabelled.json()["labelled_by"] == world.ids["manager"]
        entries = _audit(world, client, action="label_sample.label", object_id=str(first))
        assert [entry["details"] for entry in entries] == [{"label": "none", "previous": "phone_use"},
                                                           {"label": "phone_use", "previous": None}]
        assert entries[0]["actor_id"] == str(world.ids["manager"])
        assert client.get(f"/api/v1/labelling/samples/{first}", headers=sup_a).json()["label"] == "none"

        skipped = client.post(f"/api/v1/labelling/samples/{second}/label", headers=sup_a, json={"label": "skip"})
        assert skipped.status_code == 200
        stats = client.get("/api/v1/labelling/stats", headers=sup_a, params={"hall": "hall-a"})
        assert stats.status_code == 200, stats.text
        assert stats.json() == {"hall_id": "hall-a", "remaining": 0, "labelled": {
            "phone_use": 0, "eating": 0, "drinking": 0, "sleeping": 0, "none": 1, "skip": 1}}
    with world.services.database.read() as session:
        row = session.get(LabelSampleRow, first)
        assert row is not None and row.label == "none" and row.labelled_by == world.ids["manager"]


def test_an_unknown_label_is_refused_with_422_and_changes_nothing(world: World) -> None:
    sample = _seed(world, "hall-a", "w01", 0, 0.9)
    with world.client() as client:
        for body in ({"label": "smoking"}, {"label": ""}, {"label": None}, {}, {"label": "none", "extra": 1}):
            refused = client.post(f"/api/v1/labelling/samples/{sample}/label",
                                  headers=world.headers("supervisor_a"), json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        refused = client.post(f"/api/v1/labelling/samples/{sample}/label", headers=world.headers("supervisor_a"),
                              json={"label": "smoking"})
        assert any(error["field"] == "body.label" for error in refused.json()["errors"])
        assert _audit(world, client, action="label_sample.label") == []
    with world.services.database.read() as session:
        assert session.scalar(select(LabelSampleRow.label).where(LabelSampleRow.id == sample)) is None


def test_other_halls_samples_and_unknown_ids_are_refused_like_incidents(world: World) -> None:
    sample = _seed(world, "hall-a", "w01", 0, 0.9)
    unknown = sample + 1000
    with world.client() as client:
        sup_b = world.headers("supervisor_b")
        for method, template, body in (("GET", "/api/v1/labelling/samples/{}", None),
                                       ("GET", "/api/v1/labelling/samples/{}/image", None),
                                       ("POST", "/api/v1/labelling/samples/{}/label", {"label": "eating"})):
            path = template.format(sample)
            response = client.request(method, path, headers=sup_b, json=body)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            # An id that does not exist: 403 for a hall-scoped caller too, 404 only for one who sees every hall.
            missing = template.format(unknown)
            assert client.request(method, missing, headers=world.headers("supervisor_a"),
                                  json=body).status_code == 403
            assert client.request(method, missing, headers=world.headers("manager"), json=body).status_code == 404
        assert client.get("/api/v1/labelling/stats", headers=sup_b, params={"hall": "hall-a"}).status_code == 403
        assert _audit(world, client, object_type="label_sample") == []
    with world.services.database.read() as session:
        assert session.scalar(select(LabelSampleRow.label).where(LabelSampleRow.id == sample)) is None


def test_the_image_is_served_and_every_view_audited(world: World) -> None:
    sample, body = seed_sample(world.services.database, world.services.settings.data_dir, "hall-a", "cam1", "w02",
                               T0, 0.7, shade=40)
    with world.client() as client:
        image = client.get(f"/api/v1/labelling/samples/{sample}/image", headers=world.headers("supervisor_a"))
        assert image.status_code == 200, image.text
        assert image.headers["content-type"] == "image/jpeg" and image.content == body
        assert image.content[:2] == b"\xff\xd8" and image.headers["cache-control"] == "private, no-store"
        assert client.get(f"/api/v1/labelling/samples/{sample}/image",
                          headers=world.headers("manager")).status_code == 200
        for refused in ("supervisor_b", "auditor", "staff_s001", "key_incidents"):
            assert client.get(f"/api/v1/labelling/samples/{sample}/image",
                              headers=world.headers(refused)).status_code == 403, refused
        entries = _audit(world, client, action="label_sample.view")
    assert sorted(entry["actor_id"] for entry in entries) == sorted([str(world.ids["supervisor_a"]),
                                                                     str(world.ids["manager"])])
    assert all(entry["object_type"] == "label_sample" and entry["object_id"] == str(sample)
               and entry["hall_id"] == "hall-a" and entry["details"]["window_id"] == "w02" for entry in entries)


def test_purged_and_missing_images(world: World) -> None:
    purged = _seed(world, "hall-a", "w01", 0, 0.9)
    missing = _seed(world, "hall-a", "w01", 1, 0.8)
    kept = _seed(world, "hall-a", "w01", 2, 0.1)
    with world.services.database.write() as session:
        purged_row, missing_row = session.get(LabelSampleRow, purged), session.get(LabelSampleRow, missing)
        assert purged_row is not None and missing_row is not None
        purged_row.purged_at = utcnow()
        (world.services.settings.data_dir / missing_row.path).unlink()
    headers = world.headers("supervisor_a")
    with world.client() as client:
        assert client.get(f"/api/v1/labelling/samples/{purged}/image", headers=headers).status_code == 410
        assert client.get(f"/api/v1/labelling/samples/{missing}/image", headers=headers).status_code == 404
        detail = client.get(f"/api/v1/labelling/samples/{purged}", headers=headers).json()
        assert detail["purged"] is True and detail["image_url"] is None
        queue = client.get("/api/v1/labelling/queue", headers=headers, params={"hall": "hall-a"}).json()
        assert [item["id"] for item in queue["items"]] == [missing, kept] and queue["remaining"] == 2
        refused = client.post(f"/api/v1/labelling/samples/{purged}/label", headers=headers, json={"label": "none"})
        assert refused.status_code == 409, refused.text
        assert _audit(world, client, object_type="label_sample") == []


def test_a_cookie_session_must_send_the_csrf_token_to_label(sqlite_world: World) -> None:
    world = sqlite_world
    sample = _seed(world, "hall-a", "w01", 0, 0.9)
    with world.client() as client:
        login = client.post("/api/v1/auth/login", json={"username": "supervisor_a", "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = login.json()["csrf_token"]
        path = f"/api/v1/labelling/samples/{sample}/label"
        assert client.post(path, json={"label": "eating"}).status_code == 403
        assert client.post(path, json={"label": "eating"}, headers={"X-CSRF-Token": "x" + csrf}).status_code == 403
        accepted = client.post(path, json={"label": "eating"}, headers={"X-CSRF-Token": csrf})
        assert accepted.status_code == 200 and accepted.json()["label"] == "eating"
    with world.services.database.read() as session:
        entries = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "label_sample.label")).all()
        assert [entry.details for entry in entries] == [{"label": "eating", "previous": None}]
