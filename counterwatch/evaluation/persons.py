"""Person detection scored on YOLO-format boxes: whole frames (the person finder) and crops around each person.

Data layout (Roboflow / Ultralytics export): DIR/images/NAME.jpg and DIR/labels/NAME.txt, one box per line
`class cx cy w h` in fractions of the image. In `cctv_people` both classes are people (visitors and staff).

Two measurements:
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
from pathlib import Path

import cv2
import numpy as np

from counterwatch.evaluation.metrics import Counts, match_boxes
from models.types import Box, Detection
from vision.person_finder import PersonFinder, equalise, is_infrared
from vision.regions import crop as cut

log = logging.getLogger("counterwatch.evaluation")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
HEIGHT_EDGES = (60.0, 120.0, 200.0)  # px: the buckets are <60, 60-120, 120-200, >=200
CROP_FACTORS = (2.5, 1.5)  # crop side / box side: a window crop around the staff person (DESIGN)
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
    crop_ms: float | None = None  # mean detector time per crop
    notes: tuple[str, ...] = field(default=())


def bucket_names(edges: Sequence[float]) -> tuple[str, ...]:
    bounds = [0.0, *edges]
    names = [f"{lo:g}-{hi:g}" if lo else f"<{hi:g}" for lo, hi in zip(bounds, bounds[1:])]
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
                     crop_equalise_infrared: bool = False, name: str = "") -> PersonsReport:
    """Run the finder on every frame (and the crop detector around every box when `crops`) and keep raw scores.

    `crop_equalise_infrared` applies the finder's CLAHE to infrared frames before cropping: not what the cascade
    does today, a measured proposal."""
    lowest = min(thresholds)
    if lowest < finder.settings.candidate_min_score:
        raise ValueError(f"threshold {lowest} is below the finder's candidate_min_score")
    frames, crop_times = [], []
    for number, item in enumerate(dataset, 1):
        image = cv2.imread(str(item.path))
        started = time.perf_counter()
        detections = finder.candidates(image)
        finder_ms = (time.perf_counter() - started) * 1000.0
        crop_scores: tuple = ()
        empty: tuple = ()
        if crops and crop_detector is not None:
            started = time.perf_counter()
            if crop_equalise_infrared and is_infrared(image):
                image = equalise(image)
            crop_scores = tuple(_crop_scores(image, item.boxes, crop_detector, lowest))
            empty = tuple(_empty_crop_scores(image, item.boxes, crop_detector, lowest, seed=number))
            runs = len(item.boxes) * len(CROP_FACTORS) + len(empty)
            if runs:
                crop_times.append(((time.perf_counter() - started) * 1000.0, runs))
        frames.append(FrameResult(str(item.path), is_infrared(image), item.boxes, detections, finder_ms,
                                  crop_scores, empty))
        log.info("%d/%d %s: %d truth, %d candidates, %.0f ms", number, len(dataset), item.path.name,
                 len(item.boxes), len(detections), finder_ms)
    crop_ms = sum(t for t, _ in crop_times) / sum(n for _, n in crop_times) if crop_times else None
    notes = ("crops: CLAHE on infrared frames",) if crops and crop_equalise_infrared else ()
    return PersonsReport(name, tuple(frames), tuple(sorted(thresholds, reverse=True)), crop_ms=crop_ms, notes=notes)


def _people_in(detector, image: np.ndarray, area: Box, min_score: float) -> list[Detection]:
    patch = cut(image, area, min_side=CROP_MIN_SIDE, max_side=CROP_MAX_SIDE)
    if patch is None:
        return []
    found = detector.detect(patch.image, min_score=min_score)
    return [d.scale(1.0 / patch.scale).offset(patch.x0, patch.y0) for d in found if d.label == "person"]


def _crop_scores(image, truth: Sequence[TruthBox], detector, min_score: float):
    """For every box and crop factor: the best score among crop detections matching the box (IoU >= 0.5), or 0."""
    height, width = image.shape[:2]
    for index, item in enumerate(truth):
        for factor in CROP_FACTORS:
            area = _square_around(item.box, factor).clip(width, height)
            people = _people_in(detector, image, area, min_score)
            score = max((d.score for d in people if d.box.iou(item.box) >= 0.5), default=0.0)
            centre = max((d.score for d in people if item.box.contains(*d.box.center)), default=0.0)
            yield CropScore(factor, index, score, centre)


def _empty_crop_scores(image, truth: Sequence[TruthBox], detector, min_score: float, *, seed: int,
                       tries: int = 200, wanted: int = 3):
    """Crops of a small labelled person's 2.5x crop size that hold no labelled person: how often does the detector
    fire on an empty staff zone? Placed at random (seeded), rejected when they cover >10% of a labelled box.
    Crowded frames leave little empty floor, hence the smaller (quartile) size and many tries."""
    if not truth:
        return
    height, width = image.shape[:2]
    rng = np.random.default_rng(seed)
    side = float(np.percentile([t.box.height for t in truth], 25)) * 2.5
    if side >= min(width, height):
        return
    found = 0
    for _ in range(tries):
        x, y = rng.uniform(0, width - side), rng.uniform(0, height - side)
        area = Box(x, y, x + side, y + side)
        if any(area.intersection(t.box) > 0.1 * t.box.area for t in truth):
            continue
        people = _people_in(detector, image, area, min_score)
        yield max((d.score for d in people), default=0.0)
        found += 1
        if found == wanted:
            return


def _square_around(box: Box, factor: float) -> Box:
    """A crop `factor` times the box's longer side, centred on it (a window crop is roughly square)."""
    side = max(box.width, box.height) * factor
    cx, cy = box.center
    return Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


# ------------------------------------------------------------------------------------------------------ scoring
def frame_counts(report: PersonsReport, threshold: float, *, infrared: bool | None = None
                 ) -> tuple[list[Counts], list[Counts], Counts]:
    """(recall counts per truth-height bucket, precision counts per predicted-height bucket, all) at `threshold`."""
    edges = report.height_edges
    by_truth = [Counts() for _ in range(len(edges) + 1)]
    by_prediction = [Counts() for _ in range(len(edges) + 1)]
    for frame in report.frames:
        if infrared is not None and frame.infrared != infrared:
            continue
        kept = [d for d in frame.detections if d.score >= threshold]
        prediction_of, truth_of = match_boxes([t.box for t in frame.truth], [(d.box, d.score) for d in kept])
        for item, matched in zip(frame.truth, prediction_of):
            b = bucket_of(item.box.height, edges)
            by_truth[b] += Counts(tp=1) if matched is not None else Counts(fn=1)
        for detection, matched in zip(kept, truth_of):
            b = bucket_of(detection.box.height, edges)
            by_prediction[b] += Counts(tp=1) if matched is not None else Counts(fp=1)
    total_tp = sum(c.tp for c in by_truth)
    total = Counts(total_tp, sum(c.fp for c in by_prediction), sum(c.fn for c in by_truth))
    return by_truth, by_prediction, total


def crop_recall(report: PersonsReport, factor: float, threshold: float, *, infrared: bool | None = None,
                class_id: int | None = None, centre: bool = False) -> list[Counts]:
    """Per truth-height bucket: found (tp) or missed (fn) in its crop (IoU >= 0.5, or with `centre` a detection
    centred inside the box)."""
    edges = report.height_edges
    counts = [Counts() for _ in range(len(edges) + 1)]
    for frame in report.frames:
        if infrared is not None and frame.infrared != infrared:
            continue
        for scored in frame.crop_scores:
            item = frame.truth[scored.truth_index]
            if scored.factor != factor or (class_id is not None and item.class_id != class_id):
                continue
            b = bucket_of(item.box.height, edges)
            value = scored.centre_score if centre else scored.score
            counts[b] += Counts(tp=1) if value >= threshold else Counts(fn=1)
    return counts


def empty_crop_alarm_rate(report: PersonsReport, threshold: float, *, infrared: bool | None = None
                          ) -> tuple[int, int]:
    """(empty crops where a person fired, empty crops measured)."""
    scores = [s for f in report.frames if infrared is None or f.infrared == infrared for s in f.empty_crop_scores]
    return sum(s >= threshold for s in scores), len(scores)


TALL_PX = 120.0  # the aim: recall >= 0.95 for boxes at least this tall, day and infrared
RECALL_AIM = 0.95
_CONDITIONS = (("day", False), ("infrared", True), ("all", None))


def summarise(report: PersonsReport, *, per_frame: bool = False) -> dict:
    """The report as plain data (the --json output); `per_frame` adds one row per image."""
    names = bucket_names(report.height_edges)
    tall_from = bucket_of(TALL_PX, report.height_edges)
    times = [f.finder_ms for f in report.frames]
    whole: dict = {}
    for threshold in report.thresholds:
        per_condition = {}
        for condition, infrared in _CONDITIONS:
            by_truth, by_prediction, total = frame_counts(report, threshold, infrared=infrared)
            tall = sum(by_truth[tall_from:], Counts())
            per_condition[condition] = {
                "recall_by_height": {n: _recall(c) for n, c in zip(names, by_truth)},
                "precision_by_height": {n: _precision(c) for n, c in zip(names, by_prediction)},
                f"recall_ge_{TALL_PX:g}px": _recall(tall), "recall": _recall(total), "precision": _precision(total)}
        whole[f"{threshold:g}"] = per_condition
    summary = {
        "dataset": report.dataset, "frames": len(report.frames),
        "infrared_frames": sum(f.infrared for f in report.frames),
        "truth_boxes": sum(len(f.truth) for f in report.frames), "height_buckets_px": list(names),
        "finder_ms_per_frame": {"mean": _r(float(np.mean(times))) if times else None,
                                "median": _r(float(np.median(times))) if times else None},
        "whole_frame": whole, "aim": {"recall_at_least": RECALL_AIM, "for_boxes_taller_than_px": TALL_PX},
        "notes": list(report.notes),
    }
    if any(f.crop_scores for f in report.frames):
        summary["crops"] = _crop_summary(report, names, tall_from)
    if per_frame:
        lowest = report.thresholds[0]
        summary["per_frame"] = [
            {"path": f.path, "infrared": f.infrared, "truth": len(f.truth), "finder_ms": _r(f.finder_ms),
             "detections": [{"score": _r(d.score), "box": [_r(v) for v in (d.box.x1, d.box.y1, d.box.x2, d.box.y2)]}
                            for d in f.detections if d.score >= lowest]}
            for f in report.frames]
    return summary


def _crop_summary(report: PersonsReport, names, tall_from: int) -> dict:
    crops: dict = {"ms_per_crop": _r(report.crop_ms) if report.crop_ms is not None else None}
    classes = sorted({t.class_id for f in report.frames for t in f.truth})
    for factor in CROP_FACTORS:
        per_threshold = {}
        for threshold in report.thresholds:
            per_condition = {}
            for condition, infrared in _CONDITIONS:
                counts = crop_recall(report, factor, threshold, infrared=infrared)
                per_condition[condition] = {
                    "recall_by_height": {n: _recall(c) for n, c in zip(names, counts)},
                    f"recall_ge_{TALL_PX:g}px": _recall(sum(counts[tall_from:], Counts())),
                    "recall": _recall(sum(counts, Counts())),
                    f"centre_hit_recall_ge_{TALL_PX:g}px": _recall(sum(crop_recall(
                        report, factor, threshold, infrared=infrared, centre=True)[tall_from:], Counts())),
                    "recall_by_class": {str(c): _recall(sum(crop_recall(report, factor, threshold, infrared=infrared,
                                                                        class_id=c), Counts())) for c in classes}}
            per_threshold[f"{threshold:g}"] = per_condition
        crops[f"{factor:g}x"] = per_threshold
    crops["empty_crop_alarms"] = {
        f"{t:g}": {condition: dict(zip(("fired", "crops"), empty_crop_alarm_rate(report, t, infrared=infrared)))
                   for condition, infrared in _CONDITIONS} for t in report.thresholds}
    return crops


def format_summary(summary: dict) -> str:
    """A short text table of the summary."""
    names = summary["height_buckets_px"]
    tall = f"recall_ge_{TALL_PX:g}px"
    lines = [f"{summary['dataset']}: {summary['frames']} frames ({summary['infrared_frames']} infrared), "
             f"{summary['truth_boxes']} labelled people; finder {summary['finder_ms_per_frame']['mean']} ms/frame",
             f"whole frame (person finder), IoU >= 0.5; recall by truth height {names}:"]
    lines[1:1] = [f"note: {note}" for note in summary.get("notes", [])]
    for threshold, per_condition in summary["whole_frame"].items():
        for condition in ("day", "infrared"):
            c = per_condition[condition]
            lines.append(f"  score>={threshold:<5} {condition:8} recall {_cells(c['recall_by_height'])}  "
                         f">=120px {_fmt(c[tall])}  all {_fmt(c['recall'])}  precision {_fmt(c['precision'])}")
    crops = summary.get("crops")
    if crops:
        lines.append(f"crops around each labelled person (detector on the crop, {crops['ms_per_crop']} ms/crop):")
        for factor in (f"{f:g}x" for f in CROP_FACTORS):
            for threshold, per_condition in crops[factor].items():
                for condition in ("day", "infrared"):
                    c = per_condition[condition]
                    lines.append(f"  {factor:4} score>={threshold:<5} {condition:8} recall {_cells(c['recall_by_height'])}"
                                 f"  >=120px {_fmt(c[tall])} (centre hit {_fmt(c['centre_hit_' + tall])})"
                                 f"  by class {_cells(c['recall_by_class'])}")
        for threshold, per_condition in crops["empty_crop_alarms"].items():
            parts = [f"{k} {v['fired']}/{v['crops']}" for k, v in per_condition.items() if k != "all"]
            lines.append(f"  empty crops with a person at score>={threshold}: " + ", ".join(parts))
    return "\n".join(lines)


def _recall(c: Counts) -> dict:
    return {"found": c.tp, "total": c.tp + c.fn, "recall": _r(c.recall)}


def _precision(c: Counts) -> dict:
    return {"correct": c.tp, "predicted": c.tp + c.fp, "precision": _r(c.precision)}


def _cells(values: dict) -> str:
    return " ".join(_fmt(v) for v in values.values())


def _fmt(value: dict) -> str:
    rate = value.get("recall", value.get("precision"))
    total = value.get("total", value.get("predicted"))
    return f"{'-' if rate is None else f'{rate:.2f}'}/{total}"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
