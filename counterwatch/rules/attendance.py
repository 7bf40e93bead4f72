"""late_arrival and left_during_service (行为规定 2): at the post 5 minutes before opening; never leave mid-service.

late_arrival, one incident per window per service date:
- Deadline = the window's opening time that date (HallCalendar: first service period, exceptions and holidays
  applied) - `arrive_before_open_s` + `grace_s`.
- Judged at the first frame at or after the deadline, and only if the stream was watching just before it (a frame
  before the deadline with no observation gap since): a camera that came up after the deadline cannot tell a late
  arrival from someone who arrived and stepped out, so it raises nothing.
- Staff at the post at the deadline (a presence confirmed by `presence_s`, or one that started before and gets
  confirmed) is on time. Otherwise the incident opens at that frame (onset = the deadline, live: supervisors see an
  unstaffed window before it opens) and closes at the first confirmed presence after it (ended_at = the arrival,
  attribute late_by_s), or, if nobody comes, at the window's closing time that date (attribute arrived = 0).
- Reading of the rule: "提前五分钟到岗" means being at the post at the deadline, so someone who came early, left, and
  came back after the deadline is late too.

left_during_service:
- A departure counts when the staff zone empties while a citizen has been at the counter (citizen side) for at
  least `citizen_present_s`; it opens when the staff has stayed away `dwell_s` (no staff in >= `min_fraction` of
  the frames of the last `dwell_s`, as for absent_without_pause) and a citizen is still waiting. Onset: the
  departure frame (the first frame without staff).
- Closes when staff has been back for `return_s`, or the citizens have been gone for `citizen_gone_s`.
- The schedule does not excuse it: at closing time the rule is exactly "finish serving the citizen before leaving"
  (尚未完成全部接待事项的, 必须完成后再离岗). A pause set through the sign or the queue system (the procedure of
  行为规定 3) does excuse it: a pending departure is dropped and an open incident closes.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from counterwatch.config.rules import LateArrival as LateSettings, LeftDuringService as LeftSettings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, local_clock, register
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import EPS, DensityEpisode, FrameRef, Run

if TYPE_CHECKING:
    from counterwatch.rules.schedule import HallCalendar

_EXCUSING_PAUSES = ("sign", "queue")
_JUDGED_DAYS_KEPT = 3  # enough for deadlines that fall on the previous local date (a window opening at 00:00)


@register
class LateArrival(Rule[LateSettings]):
    name = "late_arrival"
    settings_type = LateSettings
    needs_calendar = True
    calendar: HallCalendar  # needs_calendar: Rule.__init__ refuses None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self._presence = DensityEpisode(s.presence_s, s.presence_min_fraction, s.presence_s)
        self._prev_wall: dt.datetime | None = None  # previous frame of the current unbroken stretch
        self._judged: set[dt.date] = set()  # service dates already decided: one incident per window per day
        self._pending: tuple[dt.date, dt.datetime, FrameRef] | None = None  # at the post at the deadline, unconfirmed
        self._open_day: tuple[dt.date, dt.datetime] | None = None

    def _reset(self) -> None:
        # _judged survives: a restarted stream must not judge the same day twice.
        self._presence.reset()
        self._prev_wall = None
        self._pending = None
        self._open_day = None

    def _on_gap(self) -> None:
        self._presence.reset()
        self._prev_wall = None  # a deadline inside the gap was not observed
        self._pending = None

    def _local(self, when: dt.datetime) -> str:
        return local_clock(when, self.calendar.zone)

    def deadline(self, date: dt.date) -> dt.datetime | None:
        opening = self.calendar.opening_time(self.scope.window_id, date)
        if opening is None:
            return None
        # In UTC: arithmetic on a local datetime would be wall-clock arithmetic across a DST change.
        return opening.astimezone(dt.UTC) - dt.timedelta(
            seconds=self.settings.arrive_before_open_s - self.settings.grace_s)

    def _crossed(self, now: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
        """The service date whose deadline lies in (previous frame, this frame], if any."""
        if self._prev_wall is None or now <= self._prev_wall:
            return None
        first = self.calendar.local_date(self._prev_wall)
        last = self.calendar.local_date(now) + dt.timedelta(days=1)
        day = first
        while day <= last and (day - first).days < _JUDGED_DAYS_KEPT:
            deadline = self.deadline(day)
            if deadline is not None and day not in self._judged and self._prev_wall < deadline <= now:
                return day, deadline
            day += dt.timedelta(days=1)
        return None

    def _open(self, onset: FrameRef, now: FrameRef, deadline: dt.datetime, day: dt.date) -> IncidentEvent:
        self._open_day = (day, deadline)
        s = self.settings
        opening = deadline + dt.timedelta(seconds=s.arrive_before_open_s - s.grace_s)
        reason = Reason.of("late.not_at_post", deadline_at=self._local(deadline), opening_at=self._local(opening),
                           before_open_s=s.arrive_before_open_s, grace_s=s.grace_s,
                           seen_at=self._local(onset.wall_time))
        return self._incident.open(onset, now, 1.0, reason, (("deadline", deadline.astimezone(dt.UTC)
                                                                 .isoformat()),))

    def _close(self, frame: FrameRef, ended_at: dt.datetime, arrived: bool) -> IncidentEvent:
        assert self._open_day is not None  # set by _open while the incident is open
        day, deadline = self._open_day
        late_by = max(0, round((ended_at - deadline).total_seconds()))
        what = (Reason.of("closed.arrived", arrived_at=self._local(ended_at), late_s=late_by) if arrived else
                Reason.of("closed.nobody_arrived", closing_at=self._local(ended_at)))
        self._open_day = None
        return self._incident.close(frame.ts, ended_at, what,
                                    self._incident.attributes + (("late_by_s", late_by), ("arrived", int(arrived))))

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        events: list[IncidentEvent] = []
        self._presence.step(frame, state.staff_present)
        confirmed = self._presence.reached(frame.ts)
        now = frame.wall_time
        if self._incident.is_open:
            assert self._open_day is not None  # set by _open while the incident is open
            day, _ = self._open_day
            closing = self.calendar.closing_time(self.scope.window_id, day)
            if confirmed:
                assert self._presence.onset is not None  # a reached episode has begun
                events.append(self._close(frame, self._presence.onset.wall_time, arrived=True))
            elif closing is not None and now >= closing.astimezone(dt.UTC):
                events.append(self._close(frame, now, arrived=False))
            else:
                assert self._incident.reason is not None  # set while the incident is open
                update = self._incident.update(frame, 1.0, self._incident.reason)
                events.extend([update] if update else [])
        if self._pending is not None:
            day, deadline, deadline_frame = self._pending
            if confirmed:
                self._pending = None  # on time: the presence began before the deadline
            elif not self._presence.run.active:
                self._pending = None
                if not self._incident.is_open:
                    events.append(self._open(deadline_frame, frame, deadline, day))
        crossed = self._crossed(now)
        if crossed is not None:
            day, deadline = crossed
            self._judged.add(day)
            today = self.calendar.local_date(now)
            self._judged = {d for d in self._judged if (today - d).days < _JUDGED_DAYS_KEPT}
            if self._incident.is_open:  # yesterday's no-show was never closed (no frame at closing time)
                events.append(self._close(frame, now, arrived=False))
            if not confirmed:
                if self._presence.run.active:
                    self._pending = (day, deadline, frame)
                else:
                    events.append(self._open(frame, frame, deadline, day))
        self._prev_wall = now
        return events


@register
class LeftDuringService(Rule[LeftSettings]):
    name = "left_during_service"
    settings_type = LeftSettings
    needs_calendar = True
    calendar: HallCalendar  # needs_calendar: Rule.__init__ refuses None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self._citizen = Run(release_s=s.citizen_gone_s)
        self._away = DensityEpisode(s.dwell_s, s.min_fraction, s.return_s)
        self._served_s = 0.0  # how long the citizen had been at the counter when the staff left
        self._waiting = 0

    def _reset(self) -> None:
        self._citizen.reset()
        self._away.reset()
        self._served_s = 0.0
        self._waiting = 0

    def _on_gap(self) -> None:
        if self._incident.is_open:
            self._citizen.interrupt()
            self._away.interrupt()
        else:
            self._reset()

    def _attributes(self) -> tuple[tuple[str, int | float], ...]:
        return (("citizens_waiting", self._waiting), ("citizen_at_counter_s", round(self._served_s, 1)))

    def _reason(self, frame: FrameRef) -> Reason:
        """served_s: how long the citizen had been at the counter when the staff left; away_s: since the
        departure."""
        departure = self._incident.onset or self._away.onset
        assert departure is not None  # used while an incident is open or when the departure reached dwell_s
        return Reason.of("left.during_service", left_at=local_clock(departure.wall_time, self.calendar.zone),
                         served_s=self._served_s, away_s=frame.ts - departure.ts, dwell_s=self.settings.dwell_s,
                         citizens_waiting=self._waiting)

    def _close(self, frame: FrameRef, ended_at: dt.datetime, why: Reason) -> IncidentEvent:
        event = self._incident.close(frame.ts, ended_at, why, self._attributes())
        self._away.reset()  # the departure is dealt with; a new one needs the staff back first
        self._waiting = 0
        return event

    def _served_before_departure(self) -> float | None:
        """How long the (still waiting) citizen had been at the counter when the staff left, if they had."""
        if not (self._citizen.active and self._away.run.active):
            return None
        assert self._away.onset is not None and self._citizen.onset is not None  # both runs are active
        served = self._away.onset.ts - self._citizen.onset.ts
        return served if served >= self.settings.citizen_present_s - EPS else None

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        citizen_gone = self._citizen.step(frame, state.citizens > 0)
        back = self._away.step(frame, not state.staff_present, holding=self._incident.is_open)
        if self._away.run.active:
            self._waiting = max(self._waiting, state.citizens)
        elif not self._incident.is_open:
            self._waiting = 0
        if state.paused and state.pause_source in _EXCUSING_PAUSES:
            events = []
            if self._incident.is_open:
                events.append(self._close(frame, frame.wall_time,
                                          Reason.of("closed.pause_started", source=state.pause_source)))
            self._away.reset()  # leaving under a pause is the allowed procedure: this departure never counts
            return events
        if self._incident.is_open:
            if back is not None:
                return [self._close(frame, back.wall_time, Reason.of("closed.staff_back", back_s=frame.ts - back.ts))]
            if citizen_gone is not None:
                return [self._close(frame, citizen_gone.wall_time,
                                    Reason.of("closed.citizen_gone", gone_s=frame.ts - citizen_gone.ts))]
            update = self._incident.update(frame, 1.0, self._reason(frame), self._attributes())
            return [update] if update else []
        served = self._served_before_departure()
        if (served is not None and self._away.reached(frame.ts) and not state.staff_present
                and self._incident.can_open(frame.ts)):
            self._served_s = served
            assert self._away.onset is not None  # a reached episode has begun
            return [self._incident.open(self._away.onset, frame, 1.0, self._reason(frame), self._attributes())]
        return []
