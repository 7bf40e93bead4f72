"""The perception cascade: Frame -> Observation, running each heavy model only where it is needed.

Per window: the motion gate decides whether the window needs a fresh look (or reuses the last one); the person
detector and the object detector run on the window crop (people confirmed across both: vision.person_ensemble) and
the person detector again around the staff person's hands (phones are small), pose and face only on people in the
staff zone, the face mesh only on the face crop, hands only when an object or a raised wrist makes them matter (and
then, when configured, an ImageNet classifier on crops around the hands for phone evidence: vision.hand_phone), and
the sign check only while nobody is in the staff zone. The full look at a window's staff runs on a schedule
(vision.look_schedule). `naive=True` runs every model everywhere on every frame (the
benchmark baseline).
A person found in several windows' crops is reported once, at one window (vision.window_assignment).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ParamSpec, Protocol, Self, TypeVar

import numpy as np
import numpy.typing as npt

from cameras.frame import Frame
from models.base import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ObjectDetector,
    PoseEstimator,
    TextReader,
)
from models.types import Box, Detection, Pose
from vision.face_geometry import head_pitch_degrees, mean_eye_aspect_ratio
from vision.hand_phone import hand_phone_detections
from vision.look_schedule import Confirmation, Look, LookSchedule, carry, follow, match
from vision.motion import MotionGate
from vision.observation import Observation, Person, SignReading, WindowMotion
from vision.person_ensemble import CANDIDATE_MIN_SCORE, confirm_people, merge_objects
from vision.regions import Crop, WindowRegion, crop, grow_box
from vision.signs import SignReader
from vision.window_assignment import WindowFinds, is_staff, unique_persons

HAND_OBJECTS = frozenset({"cell phone", "cup", "bottle", "wine glass", "bowl", "banana", "apple", "sandwich",
                          "orange", "hot dog", "pizza", "donut", "cake", "fork", "spoon", "knife", "book", "remote"})


# Inclusive bounds of each CascadeSettings field; the hall config's `perception:` section validates with the same.
CASCADE_LIMITS: dict[str, tuple[float, float]] = {
    "person_min_score": (0.01, 1.0),
    "object_min_score": (0.01, 1.0),
    "crop_margin": (0.0, 3.0),
    "crop_min_px": (64, 2048),
    "motion_threshold": (0.0, 1.0),
    "static_recheck_s": (0.1, 600.0),
    "max_staff_per_window": (1, 4),
    "ocr_interval_s": (0.1, 600.0),
    "look_interval_s": (0.0, 60.0),
    "idle_look_interval_s": (0.0, 60.0),
    "confirm_interval_s": (0.0, 600.0),
}


@dataclass(frozen=True)
class CascadeSettings:
    person_min_score: float = 0.3
    object_min_score: float = 0.25
    crop_margin: float = 0.1
    crop_min_px: int = 300
    motion_threshold: float = 0.004
    static_recheck_s: float = 10.0
    max_staff_per_window: int = 2  # people in one staff zone analysed in depth (a visitor is the second)
    ocr_interval_s: float = 10.0  # the sign text is re-read at most this often per window while its marker stays
    # A full look at a window's staff (behaviour cues, heads) at least this often; the person detector runs on
    # every analysed frame (vision.look_schedule). 0: a full look on every analysed frame.
    look_interval_s: float = 1.0
    # ... and this often while the last look found the staff's hands idle (nothing hand-held near, no raised wrist);
    # a value below look_interval_s means look_interval_s.
    idle_look_interval_s: float = 2.0
    # The second detector confirms a window's people at a look at least this often, and at the next look when the
    # person detector finds someone it has not confirmed; in between its boxes follow the people (look_schedule).
    # 0: at every look.
    confirm_interval_s: float = 5.0

    def __post_init__(self) -> None:
        for name, (low, high) in CASCADE_LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"CascadeSettings.{name} must be within [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class CascadeModels:
    """The runtimes the cascade uses (see models/). The caller owns and closes them."""

    detector: ObjectDetector  # objects (and people, when person_detector is None)
    pose: PoseEstimator
    face_detector: FaceDetector
    face_mesh: FaceMesher
    hands: HandLandmarker
    marker: MarkerDetector
    text_reader: TextReader | None = None  # None: the sign text is not read (marker only)
    # ImageNet classifier scoring crops around the hands wherever hands are looked at (vision.hand_phone); None: off
    phone_classifier: ImageClassifier | None = None
    # People on the window crop; None: `detector` alone finds them. With both, both run on the window crop and
    # people are confirmed across them (vision.person_ensemble); the object boxes of both are kept. It is also the
    # detector around the staff person's hands (`detector` when None).
    person_detector: ObjectDetector | None = None


@dataclass(frozen=True)
class _WindowResult:
    persons: tuple[Person, ...]
    objects: tuple[Detection, ...]
    looked: bool = True  # the full look ran (False: the person detector alone, with the last look carried over)
    complete: bool = True  # nothing was carried over from earlier frames (people confirmed and measured afresh)


_P = ParamSpec("_P")
_T = TypeVar("_T")


class _Timer:
    def __init__(self) -> None:
        self.entries: list[tuple[str, float]] = []

    def run(self, name: str, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            self.entries.append((name, (time.perf_counter() - start) * 1000.0))


class PerceptionCascade:
    def __init__(self, models: CascadeModels, regions: tuple[WindowRegion, ...], settings: CascadeSettings,
                 *, naive: bool = False):
        ids = [region.window_id for region in regions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate window ids in regions: {ids}")
        self._models = models
        self._regions = regions
        self._settings = settings
        self._naive = naive
        self._signs = SignReader(models.marker, models.text_reader, ocr_interval_s=settings.ocr_interval_s)
        self._gate = MotionGate(regions, threshold=settings.motion_threshold, recheck_s=settings.static_recheck_s)
        self._last: dict[str, _WindowResult] = {}
        self._schedule = LookSchedule(settings.look_interval_s, settings.confirm_interval_s,
                                      settings.idle_look_interval_s)

    def observe(self, frame: Frame) -> Observation:
        timer = _Timer()
        image, (height, width) = frame.image, frame.image.shape[:2]
        persons: list[Person] = []
        objects: list[Detection] = []
        signs: list[SignReading] = []
        motion: list[WindowMotion] = []
        if not self._regions:
            result = self._analyse_area(image, Box(0, 0, width, height), None, frame.ts, timer)
            persons.extend(result.persons)
            objects.extend(result.objects)
        finds: list[WindowFinds] = []
        for region in self._regions:
            score = self._gate.measure(image, region.window_id)
            fresh = self._naive or self._gate.needs_analysis(region.window_id, score, frame.ts)
            last = self._last.get(region.window_id)
            # A still window reuses its last result: make that a complete one (a full look, people confirmed afresh)
            # rather than one carried over from earlier frames.
            complete = not fresh and last is not None and not last.complete
            crop_box = grow_box(region.bounds("staff_zone", width, height), self._settings.crop_margin, width, height)
            if fresh or complete:
                fresh = True
                result = self._analyse_area(image, crop_box, region, frame.ts, timer, complete=complete)
                self._last[region.window_id] = result
                self._gate.mark_analysed(region.window_id, frame.ts)
            else:
                result = self._last[region.window_id]
            motion.append(WindowMotion(region.window_id, score, fresh, looked=fresh and result.looked))
            finds.append(WindowFinds(region, crop_box, result.persons))
            objects = list(merge_objects(objects, result.objects))
        # Window crops overlap: a person near a seam is found in several; report each once, at one window.
        persons.extend(unique_persons(finds, width, height))
        for region in self._regions:
            staff_present = any(is_staff(region, p, width, height) for p in persons)
            if self._naive or not staff_present:
                signs.append(timer.run("sign", self._signs.read, image, region, frame.ts))
            else:
                signs.append(SignReading(region.window_id, checked=False))
        return Observation(frame.camera_id, frame.index, frame.ts, frame.wall_time, width, height, tuple(persons),
                           tuple(objects), tuple(signs), tuple(motion), tuple(timer.entries))

    def _analyse_area(self, image: npt.NDArray[Any], area: Box, region: WindowRegion | None, ts: float,
                      timer: _Timer, *, complete: bool = False) -> _WindowResult:
        """People and objects in `area`. At a window, between full looks (vision.look_schedule) only the person
        detector runs: the last confirmation confirms its people and the last look lends them its measurements."""
        height, width = image.shape[:2]
        patch = crop(image, area, min_side=self._settings.crop_min_px, max_side=1280)
        if patch is None:
            return _WindowResult((), ())
        settings = self._settings
        min_score = min(settings.person_min_score, settings.object_min_score)
        scheduled = region is not None and not self._naive and settings.look_interval_s > 0
        second_people: tuple[Detection, ...] = ()
        if self._models.person_detector is None:
            found = [_to_frame(d, patch) for d in timer.run("detector", self._models.detector.detect, patch.image,
                                                            min_score=min_score)]
            people_found: Sequence[Detection] = found
            objects = tuple(d for d in found if d.label != "person" and d.score >= settings.object_min_score)
            look = complete or not scheduled or self._look_due(region, ts, found, width, height)
            confirmed = True
        else:
            first = [_to_frame(d, patch) for d in timer.run(
                "person_detector", self._models.person_detector.detect, patch.image,
                min_score=min(min_score, CANDIDATE_MIN_SCORE))]
            look = complete or not scheduled or self._look_due(region, ts, first, width, height)
            window = region.window_id if scheduled and region is not None else None
            confirmation = None if window is None else self._schedule.confirmation(window)
            found_people = [d for d in first if d.label == "person" and d.score >= settings.person_min_score]
            confirmed = window is None or confirmation is None or complete or (
                look and self._schedule.confirm_due(window, ts))
            if not confirmed:
                assert window is not None and confirmation is not None  # not confirmed: a scheduled window
                second_people = confirmation.people
                people_found = confirm_people(first, second_people)
                # At a look, the second detector comes in when the carried confirmation no longer fits: someone the
                # person detector finds is not confirmed, or someone confirmed is not found by it.
                confirmed = look and not _agrees(found_people, second_people, people_found,
                                                 settings.person_min_score)
            if confirmed:
                second = [_to_frame(d, patch) for d in timer.run(
                    "detector", self._models.detector.detect, patch.image,
                    min_score=min(min_score, CANDIDATE_MIN_SCORE))]
                second_people = tuple(d for d in second if d.label == "person")
                earlier: Sequence[Detection] = tuple(d for d in second if d.label != "person")
                if window is not None:
                    self._schedule.confirmed(window, Confirmation(ts, second_people, tuple(earlier)))
                people_found = confirm_people(first, second_people)
            else:
                assert window is not None and confirmation is not None
                last = self._schedule.last(window)
                earlier = confirmation.objects if look or last is None else last.objects
            if window is not None:
                self._schedule.follow(window, found_people, ts)
            objects = tuple(d for d in merge_objects([d for d in first if d.label != "person"], earlier)
                            if d.score >= settings.object_min_score)
        people = sorted((d for d in people_found if d.label == "person" and d.score >= settings.person_min_score),
                        key=lambda d: d.score, reverse=True)
        window_id = region.window_id if region else None
        last_look = None if look or region is None else self._schedule.last(region.window_id)
        persons: list[Person] = []
        in_depth: list[Person] = []
        hands_checked_any = False
        for detection in people:
            person = Person(detection.box, detection.score, window_id)
            staff = region is None or is_staff(region, person, width, height)
            if staff and len(in_depth) < settings.max_staff_per_window:
                if last_look is not None:
                    looked = match(last_look.persons, person.box)
                    person = person if looked is None else carry(looked, person)
                else:
                    objects = merge_objects(objects, self._objects_near(image, person, timer))
                    person, hands_checked = self._analyse_person(image, person, objects, timer)
                    if hands_checked and self._models.phone_classifier is not None:
                        objects += timer.run("phone_classifier", hand_phone_detections,
                                             self._models.phone_classifier, image, person)
                    hands_checked_any = hands_checked_any or hands_checked
                in_depth.append(person)
            persons.append(person)
        if scheduled and look and region is not None:
            self._schedule.record(region.window_id, Look(
                ts, objects, tuple(in_depth), hands_checked_any, any(_wrist_raised(p) for p in in_depth)))
        # Complete: nothing in this result was carried over from earlier frames (a still window may keep it).
        carried = (not confirmed and bool(second_people)) or (last_look is not None and bool(last_look.persons))
        return _WindowResult(tuple(persons), objects, look, not carried)

    def _look_due(self, region: WindowRegion | None, ts: float, found: Sequence[Detection], width: int,
                  height: int) -> bool:
        """A full look is due at the window by its schedule, or because of who the person detector found."""
        assert region is not None  # only windows are scheduled
        staff = [d.box for d in found if d.label == "person" and d.score >= self._settings.person_min_score
                 and is_staff(region, Person(d.box, d.score, region.window_id), width, height)]
        return self._schedule.due(region.window_id, ts, staff)

    def _objects_near(self, image: npt.NDArray[Any], person: Person, timer: _Timer) -> tuple[Detection, ...]:
        """A detector again on the staff person's surroundings: a phone or cup is a few pixels in the window crop.
        The person detector (YOLOX-Nano) where there is one: on this crop, where the objects are large, it finds
        phones as well as the SSD and cups and food better (`counterwatch eval frames`), at a third of the cost."""
        height, width = image.shape[:2]
        box = person.box
        # Hands and the desk in front: the lower half of the person and as much again to each side and below.
        area = Box(box.x1 - 0.4 * box.width, box.center[1], box.x2 + 0.4 * box.width, box.y2 + 0.3 * box.height)
        patch = crop(image, area.clip(width, height), min_side=self._settings.crop_min_px, max_side=1280)
        if patch is None:
            return ()
        name, detector = (("person_detector", self._models.person_detector) if self._models.person_detector
                          else ("detector", self._models.detector))
        found = timer.run(name, detector.detect, patch.image, min_score=self._settings.object_min_score)
        return tuple(_to_frame(d, patch) for d in found if d.label != "person")

    def _analyse_person(self, image: npt.NDArray[Any], person: Person, objects: tuple[Detection, ...],
                        timer: _Timer) -> tuple[Person, bool]:
        """The person with pose, face and (when they matter) hands; True when the hands were looked at."""
        height, width = image.shape[:2]
        body = crop(image, grow_box(person.box, 0.1, width, height), min_side=256, max_side=640)
        if body is None:
            return person, False
        poses = timer.run("pose", self._models.pose.estimate, body.image)
        pose = _to_frame(max(poses, key=lambda p: p.score), body) if poses else None
        person = replace(person, pose=pose)
        head = _head_box(person.box, pose).clip(width, height)
        head_crop = crop(image, head, min_side=192, max_side=480)
        if head_crop is not None:
            faces = timer.run("face_detector", self._models.face_detector.detect, head_crop.image)
            if faces:
                face = _to_frame(max(faces, key=lambda f: f.score), head_crop)
                person = replace(person, face=face)
                person = self._measure_face(image, person, face.box, timer)
        if self._naive or _hands_matter(person, objects):
            hands = timer.run("hands", self._models.hands.detect, body.image)
            return replace(person, hands=tuple(_to_frame(hand, body) for hand in hands)), True
        return person, False

    def _measure_face(self, image: npt.NDArray[Any], person: Person, face_box: Box, timer: _Timer) -> Person:
        height, width = image.shape[:2]
        face_crop = crop(image, grow_box(face_box, 0.25, width, height), min_side=192, max_side=384)
        if face_crop is None:
            return person
        mesh = timer.run("face_mesh", self._models.face_mesh.mesh, face_crop.image)
        if mesh is None:
            return person
        points = np.asarray(mesh.points)
        pitch = head_pitch_degrees(points, face_crop.image.shape[1], face_crop.image.shape[0])
        return replace(person, eye_aspect_ratio=mean_eye_aspect_ratio(points), head_pitch_deg=pitch)


class _Placeable(Protocol):
    """A model result in image pixels that can be moved and scaled (Box, Detection, Pose, Face, Hand)."""

    def scale(self, sx: float, sy: float | None = None) -> Self: ...

    def offset(self, dx: float, dy: float) -> Self: ...


_Placed = TypeVar("_Placed", bound=_Placeable)


def _to_frame(value: _Placed, patch: Crop) -> _Placed:
    """Map a model result from crop pixels back to frame pixels."""
    if patch.scale != 1.0:
        value = value.scale(1.0 / patch.scale)
    return value.offset(patch.x0, patch.y0)


def _head_box(person_box: Box, pose: Pose | None) -> Box:
    """Where to look for the face: around the pose's head keypoints, else the top of the person box."""
    if pose is not None:
        head = [k for k in (pose.get(n, 0.5) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")) if k]
        if len(head) >= 2:
            xs, ys = [k.x for k in head], [k.y for k in head]
            side = max(max(xs) - min(xs), max(ys) - min(ys), person_box.width * 0.15) * 2.2
            cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
            return Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    side = min(person_box.width, person_box.height) * 0.6
    cx = (person_box.x1 + person_box.x2) / 2
    return Box(cx - side / 2, person_box.y1, cx + side / 2, person_box.y1 + side)


def _agrees(found: Sequence[Detection], carried: Sequence[Detection], fused: Sequence[Detection],
            min_score: float) -> bool:
    """Does the carried confirmation still fit? Every person the person detector found (`found`, at `min_score`) is
    paired with a carried box of the second detector and comes out of the fusion as a person, and every carried box
    that is a person by itself (at `min_score`) is paired with one of them."""
    pairs = follow(carried, found)
    if {j for j in pairs if j is not None} != set(range(len(found))):
        return False
    if any(j is None and box.score >= min_score for box, j in zip(carried, pairs, strict=True)):
        return False
    kept = {d.box for d in fused if d.score >= min_score}
    return all(d.box in kept for d in found)


def _hands_matter(person: Person, objects: tuple[Detection, ...]) -> bool:
    """Hands are looked at when a hand-held object is near the person or a wrist is raised towards the head."""
    near = person.box.expand(1.4)
    if any(o.label in HAND_OBJECTS and near.intersection(o.box) > 0 for o in objects):
        return True
    return _wrist_raised(person)


def _wrist_raised(person: Person) -> bool:
    """A wrist above the shoulders: a hand at the mouth, the ear or the face."""
    pose = person.pose
    if pose is None:
        return False
    shoulders = [k for k in (pose.get("left_shoulder", 0.5), pose.get("right_shoulder", 0.5)) if k]
    wrists = [k for k in (pose.get("left_wrist", 0.5), pose.get("right_wrist", 0.5)) if k]
    if not shoulders or not wrists:
        return False
    shoulder_y = sum(k.y for k in shoulders) / len(shoulders)
    return any(w.y < shoulder_y for w in wrists)
