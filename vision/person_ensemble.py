"""People on a window crop from two detectors that fail differently: YOLOX-Nano and the SSD.

Each detector alone mistakes things in some rooms for a seated person (posters, an empty chair and desk: `counterwatch
eval persons` on ceiling CCTV), and misses people the other finds (infrared). A person both find keeps the geometric
mean of the two scores; a person only one finds keeps `unconfirmed` times its score. Measured on crops around the
people of cctv_people/valid (README, "Measured"), this holds the recall of the better detector at a fraction of
the empty-crop alarms of either.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from models.types import Detection

if TYPE_CHECKING:
    from models.base import ObjectDetector

PERSON = "person"
CANDIDATE_MIN_SCORE = 0.05  # each detector's boxes down to this take part (two weak agreeing boxes make a person)


@dataclass(frozen=True)
class EnsembleSettings:
    unconfirmed: float = 0.5  # score factor of a person only one detector found
    match_iou: float = 0.3  # boxes of the two detectors overlapping this much are one person

    def __post_init__(self) -> None:
        for name in ("unconfirmed", "match_iou"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"EnsembleSettings.{name} must be within 0..1, got {getattr(self, name)}")


def confirm_people(first: Sequence[Detection], second: Sequence[Detection],
                   settings: EnsembleSettings = EnsembleSettings()) -> tuple[Detection, ...]:
    """Person boxes of both detectors fused one to one (best overlap first), best score first; the box is the
    first detector's where both found the person."""
    a = [d for d in first if d.label == PERSON]
    b = [d for d in second if d.label == PERSON]
    pairs = sorted(((d.box.iou(e.box), i, j) for i, d in enumerate(a) for j, e in enumerate(b)), reverse=True)
    matched_a: dict[int, int] = {}
    matched_b: set[int] = set()
    for iou, i, j in pairs:
        if iou < settings.match_iou:
            break
        if i not in matched_a and j not in matched_b:
            matched_a[i] = j
            matched_b.add(j)
    fused = []
    for i, d in enumerate(a):
        match = matched_a.get(i)
        score = math.sqrt(d.score * b[match].score) if match is not None else d.score * settings.unconfirmed
        fused.append(Detection(PERSON, d.class_id, min(1.0, score), d.box))
    fused.extend(Detection(PERSON, e.class_id, e.score * settings.unconfirmed, e.box)
                 for j, e in enumerate(b) if j not in matched_b)
    return tuple(sorted(fused, key=lambda d: -d.score))


class ConfirmedPersonDetector:
    """An ObjectDetector-like pair for tools and evaluation: people confirmed as above; objects from both
    (where the same label overlaps, the higher score)."""

    def __init__(self, first: ObjectDetector, second: ObjectDetector,
                 settings: EnsembleSettings = EnsembleSettings()) -> None:
        self._first, self._second, self._settings = first, second, settings

    def detect(self, image_bgr: npt.NDArray[Any], *, min_score: float) -> tuple[Detection, ...]:
        found_a = self._first.detect(image_bgr, min_score=min(min_score, CANDIDATE_MIN_SCORE))
        found_b = self._second.detect(image_bgr, min_score=min(min_score, CANDIDATE_MIN_SCORE))
        people = [d for d in confirm_people(found_a, found_b, self._settings) if d.score >= min_score]
        objects = merge_objects([d for d in found_a if d.label != PERSON and d.score >= min_score],
                                [d for d in found_b if d.label != PERSON and d.score >= min_score])
        return tuple(people) + objects

    def close(self) -> None:
        for detector in (self._first, self._second):
            if hasattr(detector, "close"):
                detector.close()


def merge_objects(first: Sequence[Detection], second: Sequence[Detection]) -> tuple[Detection, ...]:
    """Union of two detection lists; where the same label overlaps (IoU > 0.5) the higher score is kept."""
    merged = list(first)
    for detection in second:
        twin = next((i for i, d in enumerate(merged) if d.label == detection.label and d.box.iou(detection.box) > 0.5),
                    None)
        if twin is None:
            merged.append(detection)
        elif detection.score > merged[twin].score:
            merged[twin] = detection
    return tuple(merged)
