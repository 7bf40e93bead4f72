"""Find people on a whole CCTV frame with a small-input COCO detector: overlapping tiles, fused.

A 1920x1080 frame squeezed into 416 px across (YOLOX-Nano) or a 300x300 (SSD) input shrinks a seated person 150 px tall
to 30-40 px, where these detectors miss most people. Tiles bring people up to a size the detector knows; the price
is one detector run per tile. Tile sizes are set by the scale they give at the detector's input (input pixels per
frame pixel), so one setting serves both input sizes: at scales 0.4 and 0.6 a 120-200 px person becomes 50-120 px.
The full-frame pass (letterboxed, or `wide_detector` at a 16:9 input) keeps the people too big for a tile.
Infrared frames get CLAHE first; `flip` runs every pass again on the mirrored image (a second look, double cost).
Measured on `cctv_people` with `counterwatch eval persons`.

At run time the cascade does not need this: it runs the detector on each window's crop, much closer to the staff
person. The finder is for scoring the detector on whole frames, and for tools that look for people anywhere (e.g.
drawing staff zones from where people sit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from models.types import Box, Detection

if TYPE_CHECKING:
    from models.base import ObjectDetector

# Channel spread (mean absolute difference between colour channels, grey levels) below which a frame is treated as
# infrared: night-mode CCTV frames are stored as colour images whose three channels are (almost) identical.
INFRARED_MAX_CHANNEL_SPREAD = 2.0


@dataclass(frozen=True)
class FinderSettings:
    # Tile side = detector input side / scale: input pixels per frame pixel in each tile pass.
    tile_scales: tuple[float, ...] = (0.4, 0.6)
    # fraction of a tile shared with its neighbour: a person cut by one tile is whole in another
    tile_overlap: float = 0.3
    min_score: float = 0.3  # score of a fused person box to be returned
    candidate_min_score: float = 0.05  # raw detections kept for fusion (agreement can lift two weak ones)
    cluster_iou: float = 0.45  # raw boxes of one person across tiles and scales overlap at least this much
    truncated_weight: float = 0.3  # score factor for a box touching an inner tile edge (a cut person: wrong extent)
    agreement_bonus: float = 0.5  # how much a second detection of the same person raises the fused score
    infrared_clahe: bool = True  # local contrast equalisation on infrared frames (flat, low-contrast grey)
    flip: bool = False  # every pass again on the mirrored image: a second look at each person, twice the cost
    # A box lying inside a much better one is a body part of that person (head and shoulders, a torso); a stricter
    # filter (any box inside a better one) also removed people seated behind others in crowded frames.
    inside_containment: float = 0.85  # fraction of the weaker box's area inside the better box
    inside_score_ratio: float = 0.5  # ... and scoring below this fraction of the better box's score

    def __post_init__(self) -> None:
        if not all(0.05 <= s <= 4.0 for s in self.tile_scales):
            raise ValueError(f"FinderSettings.tile_scales must be within 0.05..4, got {self.tile_scales}")
        if not 0.0 <= self.tile_overlap < 0.9:
            raise ValueError(f"FinderSettings.tile_overlap must be within 0..0.9, got {self.tile_overlap}")
        for name in ("min_score", "candidate_min_score", "cluster_iou", "truncated_weight", "agreement_bonus",
                     "inside_containment", "inside_score_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"FinderSettings.{name} must be within 0..1, got {getattr(self, name)}")
        if self.candidate_min_score > self.min_score:
            raise ValueError("FinderSettings.candidate_min_score must not exceed min_score")


@dataclass(frozen=True)
class _Candidate:
    box: Box
    score: float  # after the truncation penalty


def is_infrared(image: npt.NDArray[Any]) -> bool:
    """Near-greyscale frame: the camera's night mode (IR illumination) or a monochrome sensor."""
    small = cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA).astype(np.int16)
    spread = (np.abs(small[..., 0] - small[..., 1]).mean() + np.abs(small[..., 1] - small[..., 2]).mean()) / 2.0
    return bool(spread < INFRARED_MAX_CHANNEL_SPREAD)


def equalise(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """CLAHE on the lightness channel: lifts dim, flat infrared people off the background without changing hue."""
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def tile_grid(width: int, height: int, side: int, overlap: float) -> tuple[Box, ...]:
    """Square tiles of `side` px covering the frame edge to edge, neighbours sharing at least `overlap` of a tile."""
    side = min(side, width, height)

    def starts(extent: int) -> list[float]:
        if extent <= side:
            return [0.0]
        count = math.ceil((extent - side) / (side * (1.0 - overlap))) + 1
        return list(np.linspace(0.0, extent - side, count))

    return tuple(Box(x, y, x + side, y + side) for y in starts(height) for x in starts(width))


def mirrored_people(detector: ObjectDetector, image: npt.NDArray[Any], min_score: float) -> list[Detection]:
    """People found on the horizontally mirrored image, in the original image's pixels."""
    width = image.shape[1]
    found = detector.detect(np.ascontiguousarray(image[:, ::-1]), min_score=min_score)
    return [Detection(d.label, d.class_id, d.score, Box(width - d.box.x2, d.box.y1, width - d.box.x1, d.box.y2))
            for d in found if d.label == "person"]


class PersonFinder:
    """People on a whole frame: a full-frame pass, tiles at each scale, fused into one box per person.

    `detector` is an ObjectDetector with a square `input_size` (tiles are square); `wide_detector`, when given, is
    the same model at a 16:9 input for the full-frame pass (keeps the detail a square squash throws away).
    """

    def __init__(self, detector: ObjectDetector, settings: FinderSettings = FinderSettings(), *,
                 wide_detector: ObjectDetector | None = None) -> None:
        if not hasattr(detector, "detect"):
            raise ValueError("detector must be an ObjectDetector (has .detect)")
        size = getattr(detector, "input_size", None)
        if size is None or len(size) != 2 or size[0] != size[1]:
            raise ValueError(f"detector must have a square input_size (width, height) for square tiles, got {size}")
        self._detector = detector
        self._input_side = int(size[0])
        self._wide = wide_detector or detector
        self._settings = settings

    @property
    def settings(self) -> FinderSettings:
        return self._settings

    def tile_sides(self, width: int, height: int) -> tuple[int, ...]:
        """Tile side in frame pixels for each scale (a tile never exceeds the frame's shorter side)."""
        return tuple(min(width, height, round(self._input_side / scale)) for scale in self._settings.tile_scales)

    def find(self, image: npt.NDArray[Any]) -> tuple[Detection, ...]:
        """Person detections in frame pixels, best first, fused scores >= settings.min_score."""
        return tuple(d for d in self.candidates(image) if d.score >= self._settings.min_score)

    def candidates(self, image: npt.NDArray[Any]) -> tuple[Detection, ...]:
        """Every fused person box down to candidate_min_score: an evaluation sweeps thresholds over one run."""
        s = self._settings
        height, width = image.shape[:2]
        if s.infrared_clahe and is_infrared(image):
            image = equalise(image)
        raw: list[_Candidate] = [_Candidate(d.box, d.score) for d in self._people(self._wide, image)]
        for side in self.tile_sides(width, height):
            for tile in tile_grid(width, height, side, s.tile_overlap):
                x1, y1, x2, y2 = tile.to_int()
                for d in self._people(self._detector, image[y1:y2, x1:x2]):
                    box = d.box.offset(x1, y1)
                    penalty = s.truncated_weight if _touches_inner_edge(box, tile, width, height) else 1.0
                    raw.append(_Candidate(box, d.score * penalty))
        return _fuse(raw, s)

    def _people(self, detector: ObjectDetector, image: npt.NDArray[Any]) -> list[Detection]:
        """People on one pass; with `flip`, also on the mirrored image."""
        min_score = self._settings.candidate_min_score
        found = [d for d in detector.detect(np.ascontiguousarray(image), min_score=min_score) if d.label == "person"]
        if self._settings.flip:
            found += mirrored_people(detector, image, min_score)
        return found


def _touches_inner_edge(box: Box, tile: Box, width: int, height: int, margin: float = 6.0) -> bool:
    """A box flush with a tile edge that is not the frame edge belongs to a person the tile cut in two."""
    return ((tile.x1 > 0 and box.x1 <= tile.x1 + margin) or (tile.y1 > 0 and box.y1 <= tile.y1 + margin)
            or (tile.x2 < width and box.x2 >= tile.x2 - margin) or (tile.y2 < height and box.y2 >= tile.y2 - margin))


def _fuse(raw: list[_Candidate], s: FinderSettings) -> tuple[Detection, ...]:
    """Greedy clustering, best first: a cluster keeps its best box (averaging boxes merged neighbours in crowds);
    a second, independent detection of the same person raises the score (noisy-or with a discount)."""
    clusters: list[list[_Candidate]] = []
    for candidate in sorted(raw, key=lambda c: -c.score):
        if candidate.score < s.candidate_min_score:
            continue
        best, best_iou = None, s.cluster_iou
        for cluster in clusters:
            iou = cluster[0].box.iou(candidate.box)
            if iou > best_iou:
                best, best_iou = cluster, iou
        if best is None:
            clusters.append([candidate])
        else:
            best.append(candidate)
    fused = []
    for cluster in clusters:
        score = cluster[0].score
        if len(cluster) > 1:
            score = 1.0 - (1.0 - score) * (1.0 - s.agreement_bonus * cluster[1].score)
        fused.append(Detection("person", 1, min(1.0, score), cluster[0].box))
    fused.sort(key=lambda d: -d.score)
    kept: list[Detection] = []
    for detection in fused:
        box = detection.box
        if not any(box.intersection(better.box) >= s.inside_containment * box.area
                   and detection.score < s.inside_score_ratio * better.score for better in kept):
            kept.append(detection)
    return tuple(kept)
