"""Observation (one camera frame) -> WindowState per window: who is at the post, citizens, cues, sign, pause, and
the presence fused from detector, pose, motion and the window's empty-zone reference (vision.presence)."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy.typing as npt

from counterwatch.config.runtime_settings import cue_settings, presence_settings
from counterwatch.config.schema import Camera, HallConfig
from counterwatch.rules.pause import PausePeriod, PauseTracker, QueueStatus
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.state import StaffPresence, WindowState
from vision.cues import person_cues
from vision.observation import Observation, Person
from vision.presence import WindowPresence
from vision.regions import WindowRegion
from vision.tracking import PersonTracker
from vision.window_assignment import is_citizen, is_staff, torso_point

if TYPE_CHECKING:
    from counterwatch.learning.runtime import HeadCue, HeadScorer
    from vision.tracking import TrackedPerson

_DUPLICATE_IOU = 0.6  # the same person found in two overlapping window crops


def _dedupe(persons: tuple[Person, ...]) -> tuple[Person, ...]:
    """Keep one detection per person: the one analysed in most depth (pose, face), then the higher score."""
    ranked = sorted(persons, key=lambda p: (p.pose is not None, p.face is not None, p.score), reverse=True)
    kept: list[Person] = []
    for person in ranked:
        if all(person.box.iou(other.box) <= _DUPLICATE_IOU for other in kept):
            kept.append(person)
    return tuple(kept)


class WindowStateBuilder:
    """Stateful per camera (tracker, pause hysteresis); feed it every analysed Observation of that camera in order."""

    def __init__(self, config: HallConfig, camera: Camera, regions: tuple[WindowRegion, ...],
                 calendar: HallCalendar, queue: QueueStatus, *, max_missing_frames: int = 6,
                 heads: HeadScorer | None = None) -> None:
        """`heads`: a counterwatch.learning.runtime.HeadScorer, or None (no learned heads: the default)."""
        self._config = config
        self._cue_settings = cue_settings(config.perception.cues)
        self._heads = heads
        self._heads_interval_s = config.perception.heads_interval_s
        # window -> (track id, active cue, shadow cue, when they were scored)
        self._head_cache: dict[str, tuple[int, HeadCue, HeadCue, float]] = {}
        self._shadow_states: tuple[WindowState, ...] = ()
        self._timings: list[tuple[str, float]] = []  # ("heads", ms) per head scoring since the last take_timings()
        self._camera = camera
        self._regions = regions
        self._calendar = calendar
        self._tracker = PersonTracker(max_missing=max_missing_frames)
        self._pauses = {region.window_id: PauseTracker(region.window_id, queue) for region in regions}
        self._presence = ({region.window_id: WindowPresence(region, presence_settings(config.presence))
                           for region in regions} if config.presence.enabled else {})

    def build(self, observation: Observation, image: npt.NDArray[Any] | None = None) -> tuple[WindowState, ...]:
        """States of every window. `image` (the frame the observation came from) is needed by learned heads and by
        the empty-zone reference of presence fusion; without it no head runs and presence has no reference cue."""
        if observation.camera_id != self._camera.id:
            raise ValueError(f"observation of camera {observation.camera_id!r} fed to the builder of "
                             f"{self._camera.id!r}")
        width, height = observation.width, observation.height
        tracked = self._tracker.update(_dedupe(observation.persons))
        motion = {m.window_id: m.score for m in observation.motion}
        looked = {m.window_id: m.analysed and m.looked for m in observation.motion}
        states, shadow_states = [], []
        for region in self._regions:
            citizen_ids = {t.track_id for t in tracked if is_citizen(region, t.person, width, height)}
            # Only people detected this frame count: a carried track keeps its id through an occlusion, but the
            # rules already tolerate missed detections, and counting carried tracks would date an absence late.
            staff = [t for t in tracked if t.matched and t.track_id not in citizen_ids
                     and is_staff(region, t.person, width, height)]
            staff.sort(key=lambda t: t.person.score, reverse=True)
            citizens = sum(1 for t in tracked if t.matched and t.track_id in citizen_ids)
            sign = observation.sign(region.window_id)
            sign_seen = sign.visible if sign is not None and sign.checked else None
            on_schedule = self._calendar.is_open(region.window_id, observation.wall_time)
            paused, source = self._pauses[region.window_id].update(
                sign_seen=sign_seen, on_schedule=on_schedule, ts=observation.ts, wall_time=observation.wall_time)
            presences = [StaffPresence(t.track_id, t.person.box, t.person.score,
                                       person_cues(t.person, observation.objects, settings=self._cue_settings))
                         for t in staff]
            shadow_presences = None
            if presences and image is not None and self._heads is not None and self._heads.wants(region.window_id):
                active, shadow = self._head_cues(region.window_id, staff[0], observation,
                                                 looked.get(region.window_id, True), image)
                main = presences[0]
                presences[0] = replace(main, cues=replace(main.cues, head=active))
                if self._heads.has_shadow:
                    shadow_presences = [replace(main, cues=replace(main.cues, head=shadow)), *presences[1:]]
            estimate = None
            if region.window_id in self._presence:
                posed = [t.person for t in staff if t.person.pose is not None]
                torso = any(torso_point(p) is not None for p in posed) if posed else None
                zone = region.bounds("staff_zone", width, height)
                nobody_near = not any(t.matched and t.person.box.intersection(zone) > 0 for t in tracked)
                estimate = self._presence[region.window_id].update(
                    image, detected=bool(staff), torso=torso,
                    motion=motion.get(region.window_id), learnable=(paused or not on_schedule) and nobody_near,
                    ts=observation.ts)
            state = WindowState(
                window_id=region.window_id, camera_id=observation.camera_id, frame_index=observation.frame_index,
                ts=observation.ts, wall_time=observation.wall_time,
                staff=tuple(presences),
                citizens=citizens, sign_visible=sign_seen, paused=paused, pause_source=source,
                on_schedule=on_schedule,
                rostered_staff=self._calendar.rostered_staff(region.window_id, observation.wall_time),
                motion=motion.get(region.window_id, 0.0),
                occupancy=None if estimate is None else estimate.occupancy,
                occupied=estimate is not None and estimate.occupied,
                presence_cues=() if estimate is None else estimate.cues)
            states.append(state)
            shadow_states.append(state if shadow_presences is None else replace(state, staff=tuple(shadow_presences)))
        self._shadow_states = tuple(shadow_states) if self._heads is not None and self._heads.has_shadow else ()
        return tuple(states)

    def _head_cues(self, window_id: str, main: TrackedPerson, observation: Observation, fresh: bool,
                   image: npt.NDArray[Any]) -> tuple[HeadCue, HeadCue]:
        """Heads score the main staff person only on frames where the cascade took a full look, and at most every
        `perception.heads_interval_s` for the same track; on other frames the last scores of the same track stand
        (none for a track never scored)."""
        cached = self._head_cache.get(window_id)
        if cached is not None and cached[0] == main.track_id and (
                not fresh or 0.0 <= observation.ts - cached[3] < self._heads_interval_s):
            return cached[1], cached[2]
        if not fresh:
            return (), ()
        assert self._heads is not None  # build() asks only when heads are configured
        start = time.perf_counter()
        active, shadow = self._heads.score(window_id, image, main.person, observation.objects)
        self._timings.append(("heads", (time.perf_counter() - start) * 1000.0))
        self._head_cache[window_id] = (main.track_id, active, shadow, observation.ts)
        return active, shadow

    @property
    def shadow_states(self) -> tuple[WindowState, ...]:
        """The last build's states with the shadow heads' results in place of the active ones (empty when no
        shadow head is configured)."""
        return self._shadow_states

    def take_timings(self) -> tuple[tuple[str, float], ...]:
        """("heads", ms) of each head scoring since the last call (the embedding and every head of one person)."""
        taken, self._timings = tuple(self._timings), []
        return taken

    def take_pause_periods(self) -> tuple[PausePeriod, ...]:
        return tuple(period for tracker in self._pauses.values() for period in tracker.take_periods())
