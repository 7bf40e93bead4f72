"""The labelling queue over HTTP, on SQLite and PostgreSQL: frames of behaviours below the hall's label target
first, then the most uncertain; each behaviour's progress towards the target; labels written with their audit
entry (relabelling audited with the previous label), unknown labels refused, other halls' samples refused like
incidents, the image served with its view audited, purged and missing files handled."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from counterwatch.config.schema import LABEL_TARGET, LearningConfig
from monitor_api.storage.models import AuditLogRow, LabelSampleRow
from monitor_api.storage.types import utcnow
from tests.api.http.label_samples import seed_sample
from tests.api.http.world import HALL_B_YAML, PASSWORD, World, build_world
from tests.api.storage.helpers import HALL_YAML, hall_config

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def _seed(world: World, hall: str, window: str, minutes: int, uncertainty: float, shade: int = 90) -> int:
    camera = "cam1" if hall == "hall-a" else "cam-b1"
    sample_id, _ = seed_sample(world.services.database, world.services.settings.data_dir, hall, camera, window,
                               T0 + timedelta(minutes=minutes), uncertainty, shade=shade)
    return sample_id


def _seed_top(world: World, hall: str, window: str, minutes: int, uncertainty: float, top: str) -> int:
    """A sample whose most likely behaviour is `top`: listed last, so the order of the scores does not decide it."""
    camera = "cam1" if hall == "hall-a" else "cam-b1"
    others = [(name, 0.1, 0.5) for name in ("phone_use", "eating", "sleeping") if name != top]
    sample_id, _ = seed_sample(world.services.database, world.services.settings.data_dir, hall, camera, window,
                               T0 + timedelta(minutes=minutes), uncertainty, scores=(*others, (top, 0.45, 0.5)))
    return sample_id


def _label(world: World, client, hall: str, label: str, count: int, first_minute: int) -> list[int]:
    """`count` new frames of the hall labelled `label` through the API."""
    ids = []
    for index in range(count):
        sample = _seed(world, hall, "w01", first_minute + index, 0.5)
        response = client.post(f"/api/v1/labelling/samples/{sample}/label", headers=world.headers("manager"),
                               json={"label": label})
        assert response.status_code == 200, response.text
        ids.append(sample)
    return ids


def _queue(client, headers: dict[str, str], **params: object) -> list[int]:
    response = client.get("/api/v1/labelling/queue", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
def target_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """hall-a aims for 2 labelled frames per behaviour; hall-b keeps the default (LABEL_TARGET)."""
    hall_a = hall_config(HALL_YAML + "learning: {label_target_per_behaviour: 2}\n")
    built = build_world(database_url, tmp_path / "data", halls=(hall_a, hall_config(HALL_B_YAML)))
    yield built
    built.stop()


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
            "phone_use": 0, "eating": 0, "drinking": 0, "sleeping": 0, "smoking": 0, "none": 1, "skip": 1},
            "target": 50, "progress": [{"behaviour": behaviour, "labelled": 0, "target": 50, "needed": 50} for
                                       behaviour in ("phone_use", "eating", "drinking", "sleeping", "smoking")]}
    with world.services.database.read() as session:
        row = session.get(LabelSampleRow, first)
        assert row is not None and row.label == "none" and row.labelled_by == world.ids["manager"]


def test_frames_of_behaviours_below_their_target_come_before_more_uncertain_ones(target_world: World) -> None:
    world = target_world
    with world.client() as client:
        sup_a, manager = world.headers("supervisor_a"), world.headers("manager")
        _label(world, client, "hall-a", "phone_use", 2, 100)  # phone_use reaches hall-a's target of 2
        eating_labelled = _label(world, client, "hall-a", "eating", 1, 200)
        _label(world, client, "hall-a", "none", 3, 300)  # "none" counts for no behaviour
        phone_unsure = _seed_top(world, "hall-a", "w01", 0, 0.95, "phone_use")
        eating_sure = _seed_top(world, "hall-a", "w02", 1, 0.2, "eating")
        sleeping_middle = _seed_top(world, "hall-a", "w01", 2, 0.6, "sleeping")
        phone_sure = _seed_top(world, "hall-a", "w02", 3, 0.1, "phone_use")
        hall_b_phone = _seed_top(world, "hall-b", "w01", 4, 0.3, "phone_use")  # hall-b: 0 of 50 phone labels

        assert _queue(client, sup_a, hall="hall-a") == [sleeping_middle, eating_sure, phone_unsure, phone_sure]
        # Paging: a shorter page is the same order cut short.
        assert _queue(client, sup_a, hall="hall-a", limit=1) == [sleeping_middle]
        assert _queue(client, sup_a, hall="hall-a", limit=3) == [sleeping_middle, eating_sure, phone_unsure]
        assert _queue(client, sup_a, hall="hall-a", window="w02") == [eating_sure, phone_sure]
        # Each hall against its own counts and target: hall-b's phone frame is still below target.
        assert _queue(client, manager) == [sleeping_middle, hall_b_phone, eating_sure, phone_unsure, phone_sure]

        # Eating reaches the target: its frame joins the others that did, by uncertainty.
        _label(world, client, "hall-a", "eating", 1, 210)
        assert _queue(client, sup_a, hall="hall-a") == [sleeping_middle, phone_unsure, eating_sure, phone_sure]
        # A purged labelled frame no longer counts (its image is gone from the dataset): eating is short again.
        with world.services.database.write() as session:
            row = session.get(LabelSampleRow, eating_labelled[0])
            assert row is not None
            row.purged_at = utcnow()
        assert _queue(client, sup_a, hall="hall-a") == [sleeping_middle, eating_sure, phone_unsure, phone_sure]
        stats = client.get("/api/v1/labelling/stats", headers=sup_a, params={"hall": "hall-a"})
        assert stats.status_code == 200, stats.text
        document = stats.json()
        assert document["target"] == 2 and document["remaining"] == 4
        assert document["labelled"] == {"phone_use": 2, "eating": 1, "drinking": 0, "sleeping": 0, "smoking": 0,
                                        "none": 3, "skip": 0}
        assert document["progress"] == [
            {"behaviour": "phone_use", "labelled": 2, "target": 2, "needed": 0},
            {"behaviour": "eating", "labelled": 1, "target": 2, "needed": 1},
            {"behaviour": "drinking", "labelled": 0, "target": 2, "needed": 2},
            {"behaviour": "sleeping", "labelled": 0, "target": 2, "needed": 2},
            {"behaviour": "smoking", "labelled": 0, "target": 2, "needed": 2}]
        hall_b = client.get("/api/v1/labelling/stats", headers=manager, params={"hall": "hall-b"}).json()
        assert hall_b["target"] == LABEL_TARGET == 50
        assert hall_b["progress"][0] == {"behaviour": "phone_use", "labelled": 0, "target": 50, "needed": 50}
    schema = world.app.openapi()["components"]["schemas"]
    assert {"target", "progress"} <= set(schema["LabelStatsPublic"]["required"])
    assert set(schema["BehaviourProgressPublic"]["properties"]) == {"behaviour", "labelled", "target", "needed"}


def test_the_label_target_is_bounded_and_named_in_errors() -> None:
    assert LearningConfig().label_target_per_behaviour == LABEL_TARGET
    assert LearningConfig(label_target_per_behaviour=10000).label_target_per_behaviour == 10000
    for value in (0, 10001, 2.5, "many"):
        with pytest.raises(ValidationError, match="label_target_per_behaviour"):
            LearningConfig(label_target_per_behaviour=value)


def test_smoking_is_a_label_although_no_head_scores_it(world: World) -> None:
    sample = _seed(world, "hall-a", "w01", 0, 0.9)
    with world.client() as client:
        sup_a = world.headers("supervisor_a")
        labelled = client.post(f"/api/v1/labelling/samples/{sample}/label", headers=sup_a, json={"label": "smoking"})
        assert labelled.status_code == 200, labelled.text
        assert labelled.json()["label"] == "smoking"
        stats = client.get("/api/v1/labelling/stats", headers=sup_a, params={"hall": "hall-a"}).json()
        assert stats["labelled"]["smoking"] == 1
    schema = world.app.openapi()["components"]["schemas"]["LabelCreate"]["properties"]["label"]
    assert "smoking" in schema["enum"]


def test_an_unknown_label_is_refused_with_422_and_changes_nothing(world: World) -> None:
    sample = _seed(world, "hall-a", "w01", 0, 0.9)
    with world.client() as client:
        for body in ({"label": "grooming"}, {"label": ""}, {"label": None}, {}, {"label": "none", "extra": 1}):
            refused = client.post(f"/api/v1/labelling/samples/{sample}/label",
                                  headers=world.headers("supervisor_a"), json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        refused = client.post(f"/api/v1/labelling/samples/{sample}/label", headers=world.headers("supervisor_a"),
                              json={"label": "grooming"})
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
