"""The offline cascade run on a dataset image: the main person's box, hand boxes and detected objects.

The trainer needs the person crop (for the embedding) and hand crops (for object scores); storing boxes rather than
features keeps the dataset valid when the backbone changes. Detection runs on the stored, masked image, the same
pixels the trainer will see, never on a raw frame.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np

from counterwatch.config import HallConfig
from counterwatch.dataset.format import Annotation, BoxList, DetectedObject
from counterwatch.incidents.privacy import fill_citizen_side, mask_frame
from vision.observation import Observation, Person
from vision.regions import WindowRegion

# Hand landmarks span the fingers only; a held phone or cup sticks out of that box, so it is grown around its centre.
HAND_GROW = 1.8


def _box(box) -> BoxList:
    return (round(float(box.x1), 1), round(float(box.y1), 1), round(float(box.x2), 1), round(float(box.y2), 1))


def hand_box(landmarks: np.ndarray, width: int, height: int) -> BoxList:
    x1, y1 = landmarks[:, 0].min(), landmarks[:, 1].min()
    x2, y2 = landmarks[:, 0].max(), landmarks[:, 1].max()
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * HAND_GROW / 2
    return (round(float(max(0.0, cx - half)), 1), round(float(max(0.0, cy - half)), 1),
            round(float(min(width, cx + half)), 1), round(float(min(height, cy + half)), 1))


def main_person(observation: Observation, window_id: str | None) -> Person | None:
    """The person the sample is about: the best-scoring one in the incident's window, else the best overall."""
    persons = list(observation.persons)
    in_window = [p for p in persons if window_id is not None and p.window_id == window_id]
    pool = in_window or persons
    return max(pool, key=lambda p: p.score) if pool else None


def annotation_of(observation: Observation, window_id: str | None) -> Annotation:
    person = main_person(observation, window_id)
    hands = tuple(hand_box(h.landmarks, observation.width, observation.height) for h in person.hands) if person else ()
    objects = tuple(DetectedObject(d.label, round(float(d.score), 4), _box(d.box)) for d in observation.objects)
    return Annotation(person_box=_box(person.box) if person else None, hand_boxes=hands, objects=objects)


class Annotator:
    """Loaded models and one cascade per camera. Use as a context manager; `detect=False` loads nothing and
    annotates nothing (the --no-detect path), but still masks."""

    def __init__(self, config: HallConfig | None, *, detect: bool = True) -> None:
        self._config = config
        self._models = None
        self._cascades: dict[str | None, object] = {}
        if detect:
            from counterwatch.pipeline import load_models

            self._models = load_models(config)

    def __enter__(self) -> "Annotator":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._models is not None:
            self._models.close()

    def regions(self, camera_id: str | None) -> Sequence[WindowRegion]:
        from counterwatch.pipeline import regions_for

        camera = self._camera(camera_id)
        return regions_for(self._config, camera) if self._config is not None and camera is not None else ()

    def _camera(self, camera_id: str | None):
        if self._config is None or camera_id is None:
            return None
        return next((c for c in self._config.cameras if c.id == camera_id), None)

    def annotate(self, image: np.ndarray, camera_id: str | None, window_id: str | None,
                 at: datetime | None = None) -> Annotation:
        if self._models is None:
            return Annotation()
        from cameras.frame import Frame
        from counterwatch.pipeline import build_cascade

        if camera_id not in self._cascades:
            # The window regions of a known camera let the cascade crop each window and assign persons to it.
            self._cascades[camera_id] = build_cascade(self._config, self._camera(camera_id), self._models)
        cascade = self._cascades[camera_id]
        frame = Frame(camera_id or "image", 0, 0.0, at or datetime.now(timezone.utc), image)
        return annotation_of(cascade.observe(frame), window_id)  # type: ignore[attr-defined]

    def mask(self, image: np.ndarray, camera_id: str | None) -> np.ndarray:
        """Evidence masking for an image that may not be masked yet: with models, faces outside staff zones are
        blurred as in evidence; without, the citizen side is still filled (idempotent on a masked image)."""
        regions = self.regions(camera_id)
        if self._models is not None:
            return mask_frame(image, regions, self._models.cascade_models.face_detector)
        return fill_citizen_side(image, regions)
