"""Shared fixtures: real photos from scikit-image and the real offline models, loaded once per session."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def coffee_bgr() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def demo_config():
    from counterwatch.config import load_config

    return load_config(REPO / "configs/demo.yaml")


@pytest.fixture(scope="session")
def loaded_models(demo_config):
    from counterwatch.perception import load_models

    models = load_models(demo_config)
    yield models
    models.close()


def make_frame(image: np.ndarray, camera_id: str = "cam", index: int = 0, ts: float = 0.0):
    from cameras.frame import Frame

    return Frame(camera_id, index, ts, datetime.now(UTC), image)


# Markers by what a test needs, so a run can pick (`pytest -m "not browser"`, `-m postgres`): they follow the
# fixtures a test uses; `slow` is set by the modules that run whole pipelines.
_MARKER_FIXTURES = {
    "models": frozenset({"loaded_models", "manifests", "ssd", "mp_pose", "face_detector", "face_mesher", "hands",
                         "markers", "history", "extractor", "train_features"}),
    "postgres": frozenset({"postgres_server", "postgres_database_url"}),
    "browser": frozenset({"browser"}),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            names.add("postgres_database_url")
        for marker, fixtures in _MARKER_FIXTURES.items():
            if names & fixtures:
                item.add_marker(marker)
