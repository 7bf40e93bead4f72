"""absent_without_pause (行为规定 3): nobody at the post, no 暂停办理 set, while the window should be serving.

- Absence: nobody at the post (`WindowState.staff_present`): no person detected in the staff zone, and the presence
  fusion (detector, pose, motion, the window's empty-zone reference; vision.presence) does not say occupied. A
  visitor in the zone counts as someone at the post (two people are not an absence); people on the citizen side
  do not.
- Opens when an absence has lasted `dwell_s` with no staff in >= `min_fraction` of the frames of the last `dwell_s`
  seconds (false detections of an empty chair tolerated; a present person whose detection drops out now and then
  stays far below it), while the window is on schedule and not paused, on a frame without staff. The onset is the
  first frame without staff.
- Closes when staff has been back for `return_s` (ended_at = the first frame they were back), or at once when a
  pause starts or the schedule ends (ended_at = that frame).
- A pause or off-schedule frame ends a pending absence: the dwell restarts from the first unpaused frame, so an
  absence that became paused before the dwell never opens.
"""
from __future__ import annotations

from typing import Any

from counterwatch.config.rules import AbsentWithoutPause as Settings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, register
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import DensityEpisode, FrameRef


@register
class AbsentWithoutPause(Rule[Settings]):
    name = "absent_without_pause"
    settings_type = Settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self._absence = DensityEpisode(s.dwell_s, s.min_fraction, s.return_s)
        self._citizens_waiting = 0

    def _reset(self) -> None:
        self._absence.reset()
        self._citizens_waiting = 0

    def _on_gap(self) -> None:
        if self._incident.is_open:
            self._absence.interrupt()
        else:
            self._reset()

    def _attributes(self) -> tuple[tuple[str, int], ...]:
        return (("citizens_waiting", self._citizens_waiting),)

    def _reason(self, state: WindowState, frame: FrameRef) -> Reason:
        """absent_s: since the first frame without staff; share: of the frames of the last dwell_s without staff
        (the same window the opening condition measures)."""
        onset = self._incident.onset or self._absence.onset
        notes = () if state.occupancy is None else (
            Reason.of("presence.fusion", occupancy=state.occupancy, cues=state.presence_cues),)
        return Reason.of("absent.no_staff", *notes, absent_s=frame.ts - onset.ts if onset is not None else 0.0,
                         dwell_s=self.settings.dwell_s, share=self._absence.fraction,
                         min_share=self.settings.min_fraction,
                         sign="not_seen" if state.sign_visible is False else "not_checked",
                         citizens_waiting=self._citizens_waiting)

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        if state.paused or not state.on_schedule:
            events = []
            if self._incident.is_open:
                if state.paused:
                    assert state.pause_source is not None  # WindowState requires a source when paused
                    why = Reason.of("closed.pause_started", source=state.pause_source)
                else:
                    why = Reason.of("closed.off_schedule")
                events.append(self._incident.close(frame.ts, frame.wall_time, why, self._attributes()))
            self._reset()
            return events
        ended = self._absence.step(frame, not state.staff_present, holding=self._incident.is_open)
        if self._absence.run.active:
            self._citizens_waiting = max(self._citizens_waiting, state.citizens)
        if self._incident.is_open:
            if ended is not None:
                back = Reason.of("closed.staff_back", back_s=frame.ts - ended.ts)
                event = self._incident.close(frame.ts, ended.wall_time, back, self._attributes())
                self._citizens_waiting = 0
                return [event]
            if not state.staff_present:  # while staff is (maybe) back, keep the last absence reason
                update = self._incident.update(frame, self._absence.fraction, self._reason(state, frame),
                                               self._attributes())
                return [update] if update else []
            return []
        if not self._absence.run.active:
            self._citizens_waiting = 0
            return []
        if self._absence.reached(frame.ts) and not state.staff_present and self._incident.can_open(frame.ts):
            assert self._absence.onset is not None  # a reached episode has begun
            return [self._incident.open(self._absence.onset, frame, self._absence.fraction,
                                        self._reason(state, frame), self._attributes())]
        return []
