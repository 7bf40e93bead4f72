"""Is someone at the post? Presence at a fixed camera from four cues, fused and smoothed over time.

Cues, per window and frame:
- detector: a person detected in the staff zone (the cascade's person score);
- pose: the pose model found a torso (shoulders or hips) on that person: a body, not a coat on a chair;
- motion: the staff-zone motion the motion gate measured (vision.motion);
- reference: how much the staff zone differs from its EMPTY-ZONE REFERENCE, a picture of the zone learned while the
  window was paused or closed and nobody was detected there, and updated slowly while it stays so. The zone is
  compared on a small grey image (CLAHE on near-grey infrared frames), block by block, in its local-contrast
  normalised detail and in each block's brightness relative to the zone's median: a change of light over the zone
  does not read as a person, a person does. Day and infrared frames keep separate references; the pause sign's
  region is left out (the sign comes and goes with pauses).

A zone unlike its empty picture counts as a person only while something person-like happened recently (a detection
or movement within `reference_support_s`, fading out over that time): a moved chair, a coat or a bumped camera is
still, a person at work rarely is for that long. A zone like its picture always counts as empty.

Each cue adds a log-likelihood ratio (occupied vs empty) to a two-state filter whose state may switch at any time
(expected time between switches `switch_tau_s`). The posterior is the occupancy; with hysteresis it becomes the
decision: occupied from `occupied_above`, empty from `empty_below`, and never occupied on a frame whose own evidence
is against it (the memory of the filter alone does not hold a post: a departure is not dated late). Without a
learned reference (a window never seen empty) the filter runs on detector, pose and motion alone, and the estimate
names the cues it had; pose and motion never outweigh a missed detection, so the decision is then the detector's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vision.person_finder import INFRARED_MAX_CHANNEL_SPREAD
from vision.regions import WindowRegion

ZONE_SIDE = 64  # the staff zone is compared at 64x64 px: a seated person spans tens of pixels, noise averages out
BLOCKS = 8  # 8x8 blocks of 8x8 px
CUES = ("detector", "pose", "motion", "reference")


@dataclass(frozen=True)
class PresenceSettings:
    reference_learn_s: float = 10.0  # an empty, still, undetected zone this long (while paused/closed) is learned
    reference_update_tau_s: float = 120.0  # time constant of the slow update while the zone stays empty
    reference_max_age_s: float = 6 * 3600.0  # a reference not refreshed for this long is not used
    reference_empty_below: float = 0.05  # fraction of changed blocks at or below which the zone looks empty
    reference_occupied_above: float = 0.25  # ... at or above which something person-sized is there
    reference_support_s: float = 120.0  # a difference is a person this long (fading) after a detection or movement
    motion_above: float = 0.004  # staff-zone motion score that counts as movement (the motion gate's default)
    switch_tau_s: float = 5.0  # expected time between changes of occupancy (the filter's prior): the occupancy
    # follows a change of the evidence within a few frames
    occupied_above: float = 0.7  # occupancy from which the decision turns occupied
    empty_below: float = 0.3  # ... and below which it turns empty
    # Log-likelihood ratios, occupied vs empty, per frame. The detector: on crops 1.5x a person YOLOX-Nano at score
    # 0.3 finds 0.76 (infrared) to 0.98 (day) of people and fires on 4-9% of empty crops (`counterwatch eval
    # persons` on cctv_people): ln(0.9/0.06) ~ 3, a miss ln(0.15/0.94) ~ -2. The reference spans -3.5 (as empty as
    # its picture) to +3.5 (person-sized change): with fresh support it outweighs a detector miss and stillness,
    # and stops doing so ~45 s into a still spell with nobody detected.
    detected_llr: float = 3.0
    missed_llr: float = -2.0
    torso_llr: float = 1.0
    motion_llr: float = 1.0
    still_llr: float = -0.2  # a present person is often still: stillness says little
    reference_llr: float = 3.5

    def __post_init__(self) -> None:
        positive = ("reference_learn_s", "reference_update_tau_s", "reference_max_age_s", "reference_support_s",
                    "switch_tau_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"PresenceSettings.{name} must be > 0, got {getattr(self, name)}")
        for name in ("reference_empty_below", "reference_occupied_above", "motion_above", "occupied_above",
                     "empty_below"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PresenceSettings.{name} must be within 0..1, got {getattr(self, name)}")
        if self.reference_empty_below >= self.reference_occupied_above:
            raise ValueError("PresenceSettings.reference_empty_below must be below reference_occupied_above")
        if self.empty_below >= self.occupied_above:
            raise ValueError("PresenceSettings.empty_below must be below occupied_above")


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class ZoneImage:
    """The staff zone of one frame, small and grey, with the features the reference compares."""

    grey: npt.NDArray[Any]  # (ZONE_SIDE, ZONE_SIDE) float32, CLAHE-equalised on infrared frames
    blocks: npt.NDArray[Any]  # (BLOCKS, BLOCKS) bool: blocks mostly inside the zone and outside the sign region
    infrared: bool

    @cached_property
    def features(self) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        return _features(self.grey)

    def averaged(self, other: ZoneImage, weight: float) -> ZoneImage:
        """This image moved towards `other` by `weight` (0..1)."""
        return ZoneImage((1.0 - weight) * self.grey + weight * other.grey, self.blocks, self.infrared)


@dataclass(frozen=True)
class PresenceEvidence:
    """What the cues say about one window in one frame; None: the cue was not available."""

    detected: bool  # a person detected in the staff zone
    torso: bool | None = None  # pose found a torso on the staff person (None: no pose was run)
    motion: float | None = None  # staff-zone motion score (vision.motion)
    reference_difference: float | None = None  # fraction of zone blocks unlike the empty-zone reference


@dataclass(frozen=True)
class PresenceEstimate:
    occupancy: float  # probability that someone is at the post, after smoothing
    occupied: bool  # the decision: hysteresis on the occupancy, and this frame's evidence not against it
    cues: tuple[str, ...]  # the cues that were available (names from CUES)
    evidence: float  # this frame's summed log-likelihood ratio


class ZoneSampler:
    """Cuts one window's staff zone out of frames as ZoneImages (the masks are cached per frame size)."""

    def __init__(self, region: WindowRegion) -> None:
        self._region = region
        self._cache: dict[tuple[int, int], tuple[tuple[int, int, int, int], npt.NDArray[Any]]] = {}

    def sample(self, image: npt.NDArray[Any]) -> ZoneImage:
        height, width = image.shape[:2]
        (x1, y1, x2, y2), blocks = self._geometry(width, height)
        # Linear to 4x the size, then an integer-ratio area average: ~10x cheaper than one area resize of a large
        # zone at a non-integer ratio, and as smooth at 64 px.
        patch = cv2.resize(image[y1:y2, x1:x2], (4 * ZONE_SIDE, 4 * ZONE_SIDE), interpolation=cv2.INTER_LINEAR)
        patch = cv2.resize(patch, (ZONE_SIDE, ZONE_SIDE), interpolation=cv2.INTER_AREA)
        spread = np.abs(patch[..., 0].astype(np.int16) - patch[..., 1]).mean() + np.abs(
            patch[..., 1].astype(np.int16) - patch[..., 2]).mean()
        infrared = bool(spread / 2.0 < INFRARED_MAX_CHANNEL_SPREAD)
        grey = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
        if infrared:
            grey = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(grey)
        return ZoneImage(grey.astype(np.float32), blocks, infrared)

    def _geometry(self, width: int, height: int) -> tuple[tuple[int, int, int, int], npt.NDArray[Any]]:
        if (width, height) not in self._cache:
            box = self._region.bounds("staff_zone", width, height)
            x1, y1 = int(box.x1), int(box.y1)
            rect = (x1, y1, max(int(math.ceil(box.x2)), x1 + 1), max(int(math.ceil(box.y2)), y1 + 1))
            inside = self._region.mask("staff_zone", width, height) & ~self._region.mask("sign_region", width, height)
            small = cv2.resize(inside[rect[1]:rect[3], rect[0]:rect[2]], (ZONE_SIDE, ZONE_SIDE),
                               interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
            blocks = _block_means(small) >= 0.5
            self._cache[(width, height)] = (rect, blocks)
        return self._cache[(width, height)]


def _block_means(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    side = ZONE_SIDE // BLOCKS
    means: npt.NDArray[Any] = values.reshape(BLOCKS, side, BLOCKS, side).mean(axis=(1, 3))
    return means


def _features(grey: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """(local contrast normalised image, block brightness relative to the zone's median, as a log ratio): the
    first ignores smooth changes of light (gain and offset varying slowly across the zone), the second keeps large
    changes of brightness (a dark coat over a light chair) whatever the overall exposure."""
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.0)
    local_mean = cv2.GaussianBlur(smooth, (0, 0), 4.0)
    detail = smooth - local_mean
    local_sd = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 4.0))
    normalised = detail / (local_sd + 4.0)  # +4 grey levels: flat areas stay flat instead of amplifying noise
    level = np.log((_block_means(smooth) + 10.0) / (float(np.median(smooth)) + 10.0))
    return normalised, level


def zone_difference(reference: ZoneImage, current: ZoneImage, *, detail_delta: float = 0.45,
                    level_delta: float = 0.4) -> float:
    """Fraction of the zone's blocks that differ from the reference: in fine structure (mean absolute difference of
    the normalised detail above `detail_delta`) or in brightness (relative to the zone's median, by a factor beyond
    exp(`level_delta`), ~1.5)."""
    ref_detail, ref_level = reference.features
    detail, level = current.features
    detail_change = _block_means(np.abs(detail - ref_detail)) > detail_delta
    level_change = np.abs(level - ref_level) > level_delta
    valid = current.blocks
    if not valid.any():
        return 0.0
    return float(((detail_change | level_change) & valid).sum() / valid.sum())


@dataclass(frozen=True)
class _Reference:
    zone: ZoneImage
    updated_ts: float


@dataclass(frozen=True)
class _Candidate:
    zone: ZoneImage  # running mean of the eligible frames since `since_ts`
    since_ts: float
    frames: int


class EmptyZoneReference:
    """The empty-zone picture of one window, one per lighting mode (day, infrared).

    Learned from frames the caller calls eligible (window paused or closed, nobody detected in the zone): once such
    frames have stayed alike (no block change beyond `reference_empty_below` between them) for `reference_learn_s`,
    their mean becomes the reference (also when it replaces an older one the zone no longer looks like: a moved
    chair). While eligible frames look like the reference, it follows them with time constant
    `reference_update_tau_s`.
    """

    def __init__(self, settings: PresenceSettings) -> None:
        self._settings = settings
        self._references: dict[bool, _Reference] = {}
        self._candidates: dict[bool, _Candidate] = {}

    def learned(self, infrared: bool, ts: float) -> bool:
        reference = self._references.get(infrared)
        return reference is not None and 0.0 <= ts - reference.updated_ts <= self._settings.reference_max_age_s

    def difference(self, zone: ZoneImage, ts: float) -> float | None:
        """Fraction of blocks unlike the reference; None when there is no usable reference for this lighting."""
        if not self.learned(zone.infrared, ts):
            return None
        return zone_difference(self._references[zone.infrared].zone, zone)

    def observe(self, zone: ZoneImage, *, eligible: bool, ts: float) -> None:
        s, mode = self._settings, zone.infrared
        if not eligible:
            self._candidates.pop(mode, None)
            return
        reference = self._references.get(mode)
        if reference is not None and ts >= reference.updated_ts and zone_difference(
                reference.zone, zone) <= s.reference_empty_below:
            alpha = 1.0 - math.exp(-(ts - reference.updated_ts) / s.reference_update_tau_s)
            self._references[mode] = _Reference(reference.zone.averaged(zone, alpha), ts)
            self._candidates.pop(mode, None)
            return
        candidate = self._candidates.get(mode)
        if candidate is None or ts < candidate.since_ts or zone_difference(
                candidate.zone, zone) > s.reference_empty_below:
            self._candidates[mode] = _Candidate(zone, ts, 1)
            return
        frames = candidate.frames + 1
        mean = candidate.zone.averaged(zone, 1.0 / frames)
        if ts - candidate.since_ts >= s.reference_learn_s:
            self._references[mode] = _Reference(mean, ts)
            self._candidates.pop(mode, None)
        else:
            self._candidates[mode] = _Candidate(mean, candidate.since_ts, frames)


class PresenceFilter:
    """Two-state (occupied / empty) filter over the per-frame evidence, with a decision that has hysteresis."""

    def __init__(self, settings: PresenceSettings) -> None:
        self._settings = settings
        self._occupancy = 0.5
        self._occupied = False
        self._last_ts: float | None = None
        self._support_ts: float | None = None  # last detection or movement

    def log_likelihood_ratio(self, evidence: PresenceEvidence, support: float = 1.0) -> tuple[float, tuple[str, ...]]:
        """Summed evidence and the cues it came from; `support` (0..1) scales the reference's occupied side."""
        s = self._settings
        total = s.detected_llr if evidence.detected else s.missed_llr
        cues = ["detector"]
        if evidence.torso is not None:
            cues.append("pose")
            total += s.torso_llr if evidence.torso else 0.0
        if evidence.motion is not None:
            cues.append("motion")
            total += s.motion_llr if evidence.motion >= s.motion_above else s.still_llr
        if evidence.reference_difference is not None:
            cues.append("reference")
            span = s.reference_occupied_above - s.reference_empty_below
            position = (evidence.reference_difference - s.reference_empty_below) / span
            signed = 2.0 * min(1.0, max(0.0, position)) - 1.0
            total += s.reference_llr * (signed * support if signed > 0 else signed)
        return total, tuple(cues)

    def update(self, evidence: PresenceEvidence, ts: float) -> PresenceEstimate:
        s = self._settings
        if self._last_ts is None or ts < self._last_ts:
            prior = 0.5  # first frame, or time went backwards: start over
            self._support_ts = None
        else:
            switch = 0.5 * (1.0 - math.exp(-2.0 * (ts - self._last_ts) / s.switch_tau_s))
            prior = self._occupancy * (1.0 - switch) + (1.0 - self._occupancy) * switch
        self._last_ts = ts
        if evidence.detected or (evidence.motion is not None and evidence.motion >= s.motion_above):
            self._support_ts = ts
        support = 0.0 if self._support_ts is None else max(0.0, 1.0 - (ts - self._support_ts) / s.reference_support_s)
        llr, cues = self.log_likelihood_ratio(evidence, support)
        prior = min(max(prior, 1e-6), 1.0 - 1e-6)
        log_odds = math.log(prior / (1.0 - prior)) + llr
        self._occupancy = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, log_odds))))
        if self._occupancy >= s.occupied_above:
            self._occupied = True
        elif self._occupancy <= s.empty_below:
            self._occupied = False
        return PresenceEstimate(self._occupancy, self._occupied and llr >= 0.0, cues, llr)


class WindowPresence:
    """Presence at one window: the zone sampler, its empty-zone references and the filter."""

    def __init__(self, region: WindowRegion, settings: PresenceSettings) -> None:
        self._sampler = ZoneSampler(region)
        self._reference = EmptyZoneReference(settings)
        self._filter = PresenceFilter(settings)

    def update(self, image: npt.NDArray[Any] | None, *, detected: bool, torso: bool | None, motion: float | None,
               learnable: bool, ts: float) -> PresenceEstimate:
        """`image`: the frame (None: no reference cue this frame). `learnable`: the caller's word that this frame
        may teach the empty-zone reference (the window is paused or closed and no person box touches the staff
        zone); a frame with a person detected in the zone never does."""
        difference = None
        if image is not None:
            zone = self._sampler.sample(image)
            difference = self._reference.difference(zone, ts)
            self._reference.observe(zone, eligible=learnable and not detected, ts=ts)
        return self._filter.update(PresenceEvidence(detected, torso, motion, difference), ts)
