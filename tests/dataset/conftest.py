"""A scripted review history of the demo hall in a real, migrated SQLite database, with masked snapshots.

Snapshots are rendered demo-scene frames (real photo content) with a real face (the astronaut's head) on w01's
citizen side, masked by the evidence code (mask_frame with the real face detector) and encoded like evidence.
Events enter through ingest_event and reviews through review_incident, as in production.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from counterwatch.config import HallConfig, load_config
from tests.api.storage.helpers import T0  # Mon 2026-03-02 09:30 in Asia/Shanghai: incidents start there
from tests.conftest import REPO

CAMERA = "cam-demo"
CITIZEN_FACE = (200, 560, 290, 655)  # on w01's citizen side (y >= 0.74 of 720)
# (incident id, type, window, hours after T0, review): day 0 and day 2.
SCRIPT = (
    ("d-phone", "phone_use", "w01", 0.0, "confirm"),
    ("d-eat", "eating", "w02", 1.0, "dismiss"),
    ("d-sleep", "sleeping", "w01", 2.0, None),  # pending: never in a dataset
    ("d-late", "phone_use", "w02", 48.0, "confirm"),
)


@dataclass(frozen=True)
class History:
    config: HallConfig
    config_path: Path
    data_dir: Path
    raw: np.ndarray  # the unmasked frame the snapshots were made from
    review_ids: dict[str, int]


def hall_yaml(tmp: Path) -> Path:
    text = (REPO / "configs/demo.yaml").read_text(encoding="utf-8")
    text = text.replace("url: sqlite:///../var/demo/counterwatch.db", f"url: sqlite:///{tmp / 'cw.db'}")
    text = text.replace("data_dir: ../var/demo/data", f"data_dir: {tmp / 'data'}")
    path = tmp / "hall.yaml"
    path.write_text(text.replace("source: ../var/demo/scene.mp4", f"source: {REPO / 'var/demo/scene.mp4'}"),
                    encoding="utf-8")
    return path


def scene_frame(config: HallConfig, astronaut_bgr: np.ndarray) -> np.ndarray:
    from counterwatch.demo_scene import WINDOW_OFFSETS, SceneRenderer
    from counterwatch.sign import sign_images

    image = SceneRenderer(sign_images(config)).frame(frozenset(WINDOW_OFFSETS), frozenset(),
                                                     np.random.default_rng(0))
    x1, y1, x2, y2 = CITIZEN_FACE
    image[y1:y2, x1:x2] = cv2.resize(astronaut_bgr[20:220, 130:320], (x2 - x1, y2 - y1))
    return image


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray, loaded_models) -> History:
    from counterwatch.incidents.media import encode_snapshot
    from counterwatch.incidents.privacy import mask_frame
    from counterwatch.perception import regions_for
    from monitor_api.storage import Database, EvidenceStore, create_user, ingest_event, migrate, review_incident
    from monitor_api.storage.models import ReviewDecision, Role
    from tests.api.storage.helpers import event

    tmp = tmp_path_factory.mktemp("history")
    config_path = hall_yaml(tmp)
    config = load_config(config_path)
    data_dir = tmp / "data"
    raw = scene_frame(config, astronaut_bgr)
    masked = mask_frame(raw, regions_for(config, config.cameras[0]), loaded_models.cascade_models.face_detector)
    database = Database(f"sqlite:///{tmp / 'cw.db'}")
    migrate(database)
    store = EvidenceStore(data_dir, min_free_bytes=0)
    review_ids: dict[str, int] = {}
    try:
        for incident_id, kind, window, hours, _ in SCRIPT:
            snapshot = f"evidence/{incident_id}/snapshot.jpg"
            (data_dir / snapshot).parent.mkdir(parents=True)
            (data_dir / snapshot).write_bytes(encode_snapshot(masked))
            start = hours * 3600.0
            common = dict(hall="demo-hall", window=window, camera=CAMERA, incident_type=kind, start_ts=start)
            with database.write() as session:
                ingest_event(session, event("opened", incident_id, ts=start + 30, snapshot=snapshot, **common),
                             evidence_store=store)
                ingest_event(session, event("closed", incident_id, ts=start + 90, **common), evidence_store=store)
        with database.write() as session:
            reviewer = create_user(session, "supervisor", Role.SUPERVISOR, halls=["demo-hall"]).id
            for incident_id, *_, decision in SCRIPT:
                if decision:
                    review_ids[incident_id] = review_incident(
                        session, incident_id, reviewer, ReviewDecision(decision), "test", "",
                        T0 + timedelta(days=3)).id
    finally:
        database.dispose()
    return History(config, config_path, data_dir, raw, review_ids)
