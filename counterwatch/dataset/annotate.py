"""The offline cascade run on a dataset image: the main person's box, hand boxes and detected objects.

The trainer needs the person crop (for the embedding) and hand crops (for object scores); storing boxes rather than
features keeps the dataset valid when the backbone changes. Detection runs on the stored, masked image, the same
pixels the trainer will see, never on a raw frame.

A sampled frame is one window's crop of its camera frame (framing.window_image; its place in the frame is inside the
file, dataset.sample_geometry). `Annotator.frame` cuts and masks it for its window as the runner does (a whole frame
stored before samples were cut is cut now), and `annotate` with its geometry runs the cascade on the crop put back in
its place on a frame of MASK_BGR (the camera's window regions are fractions of the whole frame) and gives the boxes in
the crop's pixels, the pixels written to the dataset.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from counterwatch.config import HallConfig
from counterwatch.dataset.format import Annotation, BoxList, DetectedObject
from counterwatch.dataset.sample_geometry import SampleGeometry
from counterwatch.incidents.framing import evidence_view, window_image
from counterwatch.incidents.privacy import MASK_BGR, fill_citizen_side, mask_frame
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


def _shift(box: BoxList, dx: float, dy: float, width: int, height: int) -> BoxList | None:
    """`box` moved by (dx, dy) and clipped to width x height; None when nothing of it is left."""
    x1, y1 = max(0.0, box[0] + dx), max(0.0, box[1] + dy)
    x2, y2 = min(float(width), box[2] + dx), min(float(height), box[3] + dy)
    return (round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)) if x2 > x1 and y2 > y1 else None


def cropped_annotation(annotation: Annotation, geometry: SampleGeometry) -> Annotation:
    """An annotation in frame pixels as the pixels of the crop `geometry` describes (what falls outside is left out)."""
    (dx, dy), (width, height) = geometry.origin, geometry.size
    person = _shift(annotation.person_box, dx, dy, width, height) if annotation.person_box else None
    hands = tuple(b for b in (_shift(h, dx, dy, width, height) for h in annotation.hand_boxes) if b is not None)
    objects = tuple(DetectedObject(o.label, o.score, box) for o in annotation.objects
                    for box in [_shift(o.box, dx, dy, width, height)] if box is not None)
    return Annotation(person_box=person, hand_boxes=hands if person else (), objects=objects)


def on_frame(image: np.ndarray, geometry: SampleGeometry) -> np.ndarray:
    """A crop put back in its place on a camera-frame-sized image of MASK_BGR (what was not kept stays masked)."""
    width, height = geometry.frame_size
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = MASK_BGR
    x1, y1, x2, y2 = geometry.crop
    h, w = min(y2 - y1, image.shape[0]), min(x2 - x1, image.shape[1])
    frame[y1:y1 + h, x1:x1 + w] = image[:h, :w]
    return frame


class Annotator:
    """Loaded models and one cascade per camera. Use as a context manager; `detect=False` loads nothing and
    annotates nothing (the --no-detect path), but still masks."""

    def __init__(self, config: HallConfig | None, *, detect: bool = True) -> None:
        self._config = config
        self._models = None
        self._cascades: dict[str | None, object] = {}
        if detect:
            from counterwatch.perception import load_models

            self._models = load_models(config)

    def __enter__(self) -> Annotator:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._models is not None:
            self._models.close()

    def regions(self, camera_id: str | None) -> Sequence[WindowRegion]:
        from counterwatch.perception import regions_for

        camera = self._camera(camera_id)
        return regions_for(self._config, camera) if self._config is not None and camera is not None else ()

    def _camera(self, camera_id: str | None):
        if self._config is None or camera_id is None:
            return None
        return next((c for c in self._config.cameras if c.id == camera_id), None)

    def annotate(self, image: np.ndarray, camera_id: str | None, window_id: str | None,
                 at: datetime | None = None, geometry: SampleGeometry | None = None) -> Annotation:
        """The cascade's boxes on `image`, in its pixels; `geometry`: `image` is that crop of a camera frame."""
        if self._models is None:
            return Annotation()
        if geometry is not None:
            whole = self.annotate(on_frame(image, geometry), camera_id, window_id, at)
            return cropped_annotation(whole, geometry)
        from cameras.frame import Frame
        from counterwatch.perception import build_cascade

        if camera_id not in self._cascades:
            # The window regions of a known camera let the cascade crop each window and assign persons to it.
            self._cascades[camera_id] = build_cascade(self._config, self._camera(camera_id), self._models)
        cascade = self._cascades[camera_id]
        frame = Frame(camera_id or "image", 0, 0.0, at or datetime.now(UTC), image)
        return annotation_of(cascade.observe(frame), window_id)  # type: ignore[attr-defined]

    def frame(self, image: np.ndarray, camera_id: str, window_id: str,
              geometry: SampleGeometry | None = None) -> tuple[np.ndarray, SampleGeometry | None]:
        """A stored sample cut and masked for its window as the runner cuts samples (framing.window_image: the
        citizen side and other windows' staff zones masked; with models, faces outside staff zones blurred), and
        where the result lies in the camera frame. `geometry` None: `image` is a whole camera frame (a sample stored
        before samples were cut). A window the camera's config does not know has no view to cut: the whole frame
        masking (`mask`) is applied and a crop stays the crop it was."""
        width, height = geometry.frame_size if geometry is not None else (image.shape[1], image.shape[0])
        raw = on_frame(image, geometry) if geometry is not None else image
        regions = self.regions(camera_id)
        if not any(region.window_id == window_id for region in regions):
            masked = self.mask(raw, camera_id)
            if geometry is None:
                return masked, None
            x1, y1, x2, y2 = geometry.crop
            return masked[y1:y2, x1:x2], geometry
        view = evidence_view(regions, window_id, width, height)
        detector = self._models.cascade_models.face_detector if self._models is not None else None
        return window_image(raw, view, detector), SampleGeometry(window_id, view.frame_size, view.crop)

    def mask(self, image: np.ndarray, camera_id: str | None) -> np.ndarray:
        """Evidence masking for an image that may not be masked yet: with models, faces outside staff zones are
        blurred as in evidence; without, the citizen side is still filled (idempotent on a masked image)."""
        regions = self.regions(camera_id)
        if self._models is not None:
            return mask_frame(image, regions, self._models.cascade_models.face_detector)
        return fill_citizen_side(image, regions)
