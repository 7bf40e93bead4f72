"""Scenes rendered from real photo content for the evidence tests, and the real face detector.

The demo scene (astronaut staff at both windows, coffee cup on the counter) gets two more real faces, the
astronaut's head scaled down: a citizen standing on w01's citizen side and a visitor in the gap between the two
staff zones (outside every zone). Frames come at 2 fps, as the reader hands them to the pipeline.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from cameras.frame import Frame
from counterwatch.demo_scene import PERSON_BOX, SIZE, WINDOW_OFFSETS, SceneRenderer
from counterwatch.incidents.events import EventKind, IncidentEvent
from models.types import Box
from vision.observation import Observation, Person

CAMERA = "cam-demo"
FPS = 2.0
T0 = datetime(2024, 5, 6, 1, 0, 0, tzinfo=UTC)
# Where the extra faces go (pixels of the 1280x720 frame): a visitor's head in the 77 px gap between the staff
# zones (x 0.47-0.53), and a citizen's head on w01's citizen side (y >= 0.74), drifting a little each frame.
VISITOR_FACE = (595, 150, 685, 245)  # x1, y1, x2, y2
CITIZEN_FACE = (200, 560, 290, 655)
# The visitor's face without the rim of the pasted square (whose hard edge against the wall is not a face).
VISITOR_FACE_CORE = (605, 160, 675, 235)


@pytest.fixture(scope="session")
def regions(demo_config):
    from counterwatch.perception import regions_for

    return regions_for(demo_config, demo_config.cameras[0])


@pytest.fixture(scope="session")
def face_detector():
    from models import load_model

    detector = load_model("mediapipe_face_detection")
    yield detector
    detector.close()


@pytest.fixture(scope="session")
def head_photo(astronaut_bgr) -> np.ndarray:
    """The astronaut's head and helmet rim, a real face (the detector finds it at 50-120 px wide on 480 px tiles)."""
    return np.ascontiguousarray(astronaut_bgr[20:220, 130:320])


def staff_face_box(window_id: str) -> tuple[int, int, int, int]:
    """Pixel box of the staff member's face at a window (measured with the face detector on the demo scene)."""
    return (183, 151, 270, 238) if window_id == "w01" else (894, 163, 978, 247)


class Scene:
    def __init__(self, demo_config, head_photo: np.ndarray, *, seed: int = 0) -> None:
        from counterwatch.sign import sign_images

        self._renderer = SceneRenderer(sign_images(demo_config))
        self._rng = np.random.default_rng(seed)
        x1, y1, x2, y2 = VISITOR_FACE
        self._head = cv2.resize(head_photo, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)

    def image(self, k: int, present: frozenset[str] = frozenset(WINDOW_OFFSETS)) -> np.ndarray:
        """Frame k's image with the staff of the windows in `present` at their post (all of them by default)."""
        image = self._renderer.frame(present, frozenset(), self._rng)
        x1, y1, x2, y2 = VISITOR_FACE
        image[y1:y2, x1:x2] = self._head
        x1, y1, x2, y2 = CITIZEN_FACE
        dx, dy = 3 * (k % 7), k % 5  # the citizen shifts about, as people in a queue do
        image[y1 + dy:y2 + dy, x1 + dx:x2 + dx] = self._head
        return image

    def frame(self, k: int, *, jitter: float = 0.004, present: frozenset[str] = frozenset(WINDOW_OFFSETS)) -> Frame:
        """Frame k at 2 fps, with a few ms of jitter in its stream time as a live reader has (0: exactly k / 2)."""
        ts = k / FPS + jitter * np.sin(k)
        return Frame(CAMERA, k, float(ts), T0 + timedelta(seconds=float(ts)), self.image(k, present))


def staff_observation(frame: Frame, present: frozenset[str] = frozenset(WINDOW_OFFSETS)) -> Observation:
    """What perception would report: the staff member at each window in `present` (boxes of the pasted sprites)."""
    persons = []
    for window_id, offset in WINDOW_OFFSETS.items():
        if window_id not in present:
            continue
        x1, y1, x2, y2 = PERSON_BOX
        box = Box((x1 + offset) * SIZE[0], y1 * SIZE[1], (x2 + offset) * SIZE[0], y2 * SIZE[1])
        persons.append(Person(box=box, score=0.9, window_id=window_id))
    return Observation(CAMERA, frame.index, frame.ts, frame.wall_time, frame.width, frame.height,
                       persons=tuple(persons))


@pytest.fixture(scope="session")
def scene(demo_config, head_photo) -> Scene:
    return Scene(demo_config, head_photo)


def make_event(kind: EventKind, ts: float, *, incident_id: str = "inc-0001", peak: float = 0.8,
               camera_id: str = CAMERA, start_ts: float | None = None,
               incident_type: str = "phone_use") -> IncidentEvent:
    """An event of an incident at w01 whose behaviour began at `start_ts` (default: 30 s before `ts`)."""
    start_ts = ts - 30.0 if start_ts is None else start_ts
    return IncidentEvent(
        kind=kind, incident_id=incident_id, incident_type=incident_type, hall_id="demo-hall", window_id="w01",
        camera_id=camera_id, staff_id="s001", started_at=T0 + timedelta(seconds=start_ts),
        ended_at=T0 + timedelta(seconds=ts) if kind is EventKind.CLOSED else None, start_ts=start_ts, ts=ts,
        confidence=min(peak, 0.7), peak_confidence=peak, reason="phone in hand 30 s (70% of frames)",
        attributes=(("citizens_waiting", 1),))


