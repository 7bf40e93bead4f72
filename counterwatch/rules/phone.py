"""phone_use (行为规定 5 (1)(3)): playing with the phone, or a phone call, at the counter.

- Cue per frame: any person in the staff zone with a phone score >= `min_score`, or in a call posture (a wrist at
  the ear), or whose learned phone_use head (when configured) reaches its threshold. A frame without staff has no cue.
- Opens when the cue episode has lasted `dwell_s` and the cue shows in >= `min_fraction` of the analysed frames of
  the last `dwell_s` seconds (missed detections tolerated). Onset: the first cue frame of the episode.
- Closes after `clear_s` without any cue (ended_at = the first cue-free frame).
"""
from __future__ import annotations

from typing import Any

from counterwatch.config.rules import PhoneUse as Settings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, register
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import DensityEpisode, FrameRef


@register
class PhoneUse(Rule[Settings]):
    name = "phone_use"
    settings_type = Settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self._episode = DensityEpisode(s.dwell_s, s.min_fraction, s.clear_s)
        self._best_score = 0.0

    def _reset(self) -> None:
        self._episode.reset()
        self._best_score = 0.0

    def _on_gap(self) -> None:
        if self._incident.is_open:
            self._episode.interrupt()
        else:
            self._reset()

    def _cue(self, state: WindowState) -> frozenset[str]:
        tags = set()
        for person in state.staff:
            if person.cues.phone >= self.settings.min_score:
                tags.add("phone")
                self._best_score = max(self._best_score, person.cues.phone)
            if person.cues.call:
                tags.add("call")
            if person.cues.head_fired(self.name):
                tags.add("head")
        return frozenset(tags)

    def _reason(self, frame: FrameRef) -> Reason:
        """held_s: since the first cue frame of the episode; the frame counts are of the last dwell_s (a frame can
        show more than one signal)."""
        window = self._episode.window
        return Reason.of("phone.cue", held_s=frame.ts - self._incident_onset_ts(frame), dwell_s=window.span_s,
                         frames=len(window), share=window.fraction, min_share=self.settings.min_fraction,
                         phone_frames=window.tag_count("phone"), call_frames=window.tag_count("call"),
                         head_frames=window.tag_count("head"), best_score=self._best_score)

    def _incident_onset_ts(self, frame: FrameRef) -> float:
        onset = self._incident.onset or self._episode.onset
        return onset.ts if onset is not None else frame.ts

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        tags = self._cue(state)
        ended = self._episode.step(frame, bool(tags), tags, holding=self._incident.is_open)
        if self._incident.is_open:
            if ended is not None:
                event = self._incident.close(frame.ts, ended.wall_time,
                                             Reason.of("closed.no_phone", quiet_s=frame.ts - ended.ts))
                self._best_score = 0.0
                return [event]
            update = self._incident.update(frame, self._episode.fraction, self._reason(frame)) if tags else None
            return [update] if update else []
        if ended is not None or not self._episode.run.active:
            self._best_score = 0.0
            return []
        if self._episode.reached(frame.ts) and self._incident.can_open(frame.ts):
            assert self._episode.onset is not None  # a reached episode has begun
            return [self._incident.open(self._episode.onset, frame, self._episode.fraction, self._reason(frame))]
        return []
