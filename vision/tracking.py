"""Tracking people across analysed frames (norfair), so that one person keeps one id through short occlusions.

norfair deletes a track once it has gone unmatched for `hit_counter_max` updates; the ids it reports are what the
rules key their per-person state by, and rules drop that state when an id stops appearing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from norfair import Detection as NorfairDetection, Tracker

from vision.observation import Person


@dataclass(frozen=True)
class TrackedPerson:
    track_id: int
    person: Person
    matched: bool  # False: not detected this frame, carried by the tracker through a short occlusion


class PersonTracker:
    """One tracker per camera. `max_missing` analysed frames without a match end a track."""

    def __init__(self, *, max_missing: int = 6, min_iou: float = 0.2):
        if max_missing < 1:
            raise ValueError(f"max_missing must be >= 1, got {max_missing}")
        if not 0.0 < min_iou < 1.0:
            raise ValueError(f"min_iou must be within (0, 1), got {min_iou}")
        # norfair's "iou" distance is 1 - IoU; a match needs IoU above min_iou.
        self._tracker = Tracker(distance_function="iou", distance_threshold=1.0 - min_iou,
                                hit_counter_max=max_missing, initialization_delay=0)
        self._frame = 0

    def update(self, persons: tuple[Person, ...]) -> tuple[TrackedPerson, ...]:
        """Assign track ids. Persons detected this frame come first (in input order), then carried tracks."""
        self._frame += 1
        detections = [
            NorfairDetection(points=np.array([[p.box.x1, p.box.y1], [p.box.x2, p.box.y2]], dtype=np.float64),
                             scores=np.array([p.score, p.score]), data=(self._frame, p))
            for p in persons]
        tracked = self._tracker.update(detections=detections)
        matched: dict[int, TrackedPerson] = {}
        carried: list[TrackedPerson] = []
        for obj in tracked:
            frame, person = obj.last_detection.data
            assert obj.id is not None  # norfair returns initialised objects only, and those have an id
            if frame == self._frame:
                matched[id(person)] = TrackedPerson(int(obj.id), person, True)
            else:
                carried.append(TrackedPerson(int(obj.id), person, False))
        ordered = [matched[id(p)] for p in persons if id(p) in matched]
        return tuple(ordered + carried)
