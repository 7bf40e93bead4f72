"""Person detection scored on YOLO-format boxes: whole frames (the person finder) and crops around each person.

Data layout (Roboflow / Ultralytics export): DIR/images/NAME.jpg and DIR/labels/NAME.txt, one box per line
`class cx cy w h` in fractions of the image. In `cctv_people` both classes are people (visitors and staff).

Two measurements (scoring and the summary: counterwatch.evaluation.persons_summary):
- frames: vision.person_finder on the whole frame; recall per truth-box height bucket and precision per predicted-box
  height bucket at IoU >= 0.5, day and infrared frames apart, at several score thresholds from one detector run.
- crops: what the cascade does at a configured window: the detector on a crop around the person (2.5x and 1.5x the
  box), counted as found when a person box in the crop has IoU >= 0.5 with the labelled one. Empty crops (no
  labelled person in them) give the false-alarm rate at the same thresholds. A looser "centre hit" (a detection
  centred inside the labelled box) is what presence at a window needs; in crowds a neighbour's box can also
  satisfy it, so read it as an upper bound.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from models.types import Box, Detection
from vision.person_finder import PersonFinder, equalise, is_infrared, mirrored_people
from vision.regions import crop as cut

log = logging.getLogger("counterwatch.evaluation")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
HEIGHT_EDGES = (60.0, 120.0, 200.0)  # px: the buckets are <60, 60-120, 120-200, >=200
CROP_FACTORS = (2.5, 1.5)  # crop side / box side: a window crop around the staff person (DESIGN)
EMPTY_CROP_FACTOR = 1.5  # side of an empty crop / a small person's height
CROP_MIN_SIDE, CROP_MAX_SIDE = 300, 1280  # as the cascade crops a window (CascadeSettings.crop_min_px, max 1280)


@dataclass(frozen=True)
class TruthBox:
    class_id: int
    box: Box


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    boxes: tuple[TruthBox, ...]


@dataclass(frozen=True)
class CropScore:
    factor: float  # crop side / truth box's longer side
    truth_index: int  # into FrameResult.truth
    score: float  # best score of a crop detection with IoU >= 0.5 to the truth box; 0 when none
    # Best score of a detection whose centre lies in the truth box: presence at a window needs a person there, not
    # a box drawn the way the labeller drew it (seated people behind desks are boxed in many ways).
    centre_score: float = 0.0


@dataclass(frozen=True)
class FrameResult:
    path: str
    infrared: bool
    truth: tuple[TruthBox, ...]
    detections: tuple[Detection, ...]  # every fused candidate; thresholds are applied when scoring
    finder_ms: float
    crop_scores: tuple[CropScore, ...] = ()
    empty_crop_scores: tuple[float, ...] = ()  # best person score in crops holding no labelled person


@dataclass(frozen=True)
class PersonsReport:
    dataset: str
    frames: tuple[FrameResult, ...]
    thresholds: tuple[float, ...]
    height_edges: tuple[float, ...] = HEIGHT_EDGES
    crop_ms: float | None = None  # mean detector time per crop (both looks with crop_flip)
    notes: tuple[str, ...] = field(default=())
    detector: str = ""  # the model's name, as the command loaded it


def bucket_names(edges: Sequence[float]) -> tuple[str, ...]:
    bounds = [0.0, *edges]
    names = [f"{lo:g}-{hi:g}" if lo else f"<{hi:g}" for lo, hi in pairwise(bounds)]
    return (*names, f">={edges[-1]:g}")


def bucket_of(height: float, edges: Sequence[float]) -> int:
    return sum(height >= edge for edge in edges)


def read_yolo_dataset(root: Path, *, classes: frozenset[int] | None = None, limit: int | None = None
                      ) -> tuple[LabelledImage, ...]:
    """Images with their boxes; an image without a label file has no people (YOLO convention).

    `limit` takes evenly spaced images (names sort by source video, so a spread covers every video).
    """
    images_dir, labels_dir = root / "images", root / "labels"
    if not images_dir.is_dir() or not labels_dir.is_dir():
        raise ValueError(f"{root} must hold images/ and labels/ folders (YOLO format)")
    paths = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if limit is not None and 0 < limit < len(paths):
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, limit).round().astype(int)]
    result = []
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise ValueError(f"{path}: not a readable image")
        height, width = image.shape[:2]
        label_path = labels_dir / (path.stem + ".txt")
        boxes = _read_labels(label_path, width, height) if label_path.exists() else ()
        result.append(LabelledImage(path, tuple(b for b in boxes if classes is None or b.class_id in classes)))
    return tuple(result)


def _read_labels(path: Path, width: int, height: int) -> tuple[TruthBox, ...]:
    boxes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 5:
            raise ValueError(f"{path}:{number}: expected 'class cx cy w h', got {line!r}")
        class_id, cx, cy, w, h = int(parts[0]), *map(float, parts[1:])
        box = Box((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
        boxes.append(TruthBox(class_id, box.clip(width, height)))
    return tuple(boxes)


def evaluate_persons(dataset: Sequence[LabelledImage], finder: PersonFinder, crop_detector=None, *,
                     thresholds: Sequence[float] = (0.3, 0.2, 0.15), crops: bool = True,
                     crop_equalise_infrared: bool = False, crop_flip: bool = False, name: str = "",
                     detector: str = "") -> PersonsReport:
    """Run the finder on every frame (and the crop detector around every box when `crops`) and keep raw scores.

    `crop_equalise_infrared` applies the finder's CLAHE to infrared frames before cropping and `crop_flip` looks at
    every crop a second time mirrored (a person found either way counts): not what the cascade does today,
    measured proposals."""
    lowest = min(thresholds)
    if lowest < finder.settings.candidate_min_score:
        raise ValueError(f"threshold {lowest} is below the finder's candidate_min_score")
    frames, crop_times = [], []
    for number, item in enumerate(dataset, 1):
        image = cv2.imread(str(item.path))
        infrared = is_infrared(image)
        started = time.perf_counter()
        detections = finder.candidates(image)
        finder_ms = (time.perf_counter() - started) * 1000.0
        crop_scores: tuple = ()
        empty: tuple = ()
        if crops and crop_detector is not None:
            started = time.perf_counter()
            if crop_equalise_infrared and infrared:
                image = equalise(image)
            crop_scores = tuple(_crop_scores(image, item.boxes, crop_detector, lowest, crop_flip))
            empty = tuple(_empty_crop_scores(image, item.boxes, crop_detector, lowest, crop_flip, seed=number))
            runs = len(item.boxes) * len(CROP_FACTORS) + len(empty)
            if runs:
                crop_times.append(((time.perf_counter() - started) * 1000.0, runs))
        frames.append(FrameResult(str(item.path), infrared, item.boxes, detections, finder_ms,
                                  crop_scores, empty))
        log.info("%d/%d %s: %d truth, %d candidates, %.0f ms", number, len(dataset), item.path.name,
                 len(item.boxes), len(detections), finder_ms)
    crop_ms = sum(t for t, _ in crop_times) / sum(n for _, n in crop_times) if crop_times else None
    notes = tuple(note for on, note in ((crop_equalise_infrared, "crops: CLAHE on infrared frames"),
                                        (crop_flip, "crops: a second, mirrored look (either counts)")) if crops and on)
    return PersonsReport(name, tuple(frames), tuple(sorted(thresholds, reverse=True)), crop_ms=crop_ms, notes=notes,
                         detector=detector)


def _people_in(detector, image: np.ndarray, area: Box, min_score: float, flip: bool) -> list[Detection]:
    patch = cut(image, area, min_side=CROP_MIN_SIDE, max_side=CROP_MAX_SIDE)
    if patch is None:
        return []
    found = [d for d in detector.detect(patch.image, min_score=min_score) if d.label == "person"]
    if flip:
        found += mirrored_people(detector, patch.image, min_score)
    return [d.scale(1.0 / patch.scale).offset(patch.x0, patch.y0) for d in found]


def _crop_scores(image, truth: Sequence[TruthBox], detector, min_score: float, flip: bool):
    """For every box and crop factor: the best score among crop detections matching the box (IoU >= 0.5), or 0."""
    height, width = image.shape[:2]
    for index, item in enumerate(truth):
        for factor in CROP_FACTORS:
            area = _square_around(item.box, factor).clip(width, height)
            people = _people_in(detector, image, area, min_score, flip)
            score = max((d.score for d in people if d.box.iou(item.box) >= 0.5), default=0.0)
            centre = max((d.score for d in people if item.box.contains(*d.box.center)), default=0.0)
            yield CropScore(factor, index, score, centre)


def _empty_crop_scores(image, truth: Sequence[TruthBox], detector, min_score: float, flip: bool, *, seed: int,
                       tries: int = 400, wanted: int = 6):
    """Crops 1.5x a small labelled person's height (the smaller window crop) that hold no labelled person at all:
    how often does the detector fire on an empty staff zone? Placed at random (seeded), rejected when they touch a
    labelled box (a head just inside the crop is a person, not a false alarm). Crowded frames leave little empty
    floor, hence the small (quartile) size and many tries."""
    if not truth:
        return
    height, width = image.shape[:2]
    rng = np.random.default_rng(seed)
    side = float(np.percentile([t.box.height for t in truth], 25)) * EMPTY_CROP_FACTOR
    if side >= min(width, height):
        return
    found = 0
    for _ in range(tries):
        x, y = rng.uniform(0, width - side), rng.uniform(0, height - side)
        area = Box(x, y, x + side, y + side)
        if any(area.intersection(t.box) > 0.0 for t in truth):
            continue
        people = _people_in(detector, image, area, min_score, flip)
        yield max((d.score for d in people), default=0.0)
        found += 1
        if found == wanted:
            return


def _square_around(box: Box, factor: float) -> Box:
    """A crop `factor` times the box's longer side, centred on it (a window crop is roughly square)."""
    side = max(box.width, box.height) * factor
    cx, cy = box.center
    return Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
