"""The Rule interface, the registry of rules by incident type, and the frame handling every rule shares.

A rule instance watches one window. `update` takes every analysed WindowState of that window in stream order and
returns the incident events it causes. Timing uses only `state.ts` (stream seconds); wall time is carried into
events and used for calendar lookups, never to measure durations.

Stream irregularities are handled here, once, for every rule:
- Observation gap (ts jumps by more than max(common.max_frame_gap_s, frame_gap_factor x the median recent
  interval)): nobody saw what happened, so the gap counts neither towards a dwell nor towards clearing. Each rule's
  `_on_gap` drops evidence for incidents not yet open (a dwell starts again after the gap) and restarts the clear or
  return timers of an open incident (it stays open; the frames after the gap decide).
- Duplicate timestamp: the frame is ignored (a re-delivered frame must not count twice in a fraction).
- Timestamp going backwards (a restarted stream with a new time base): an open incident is closed at the last frame
  seen before the jump, all state and the cooldown are reset, and the frame is processed as the first of a new
  stream. Never an exception.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from counterwatch.config.rules import CommonRuleSettings, RuleBase
from counterwatch.incidents.events import INCIDENT_TYPES, IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.lifecycle import IncidentLifecycle
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import FrameRef, Step, StreamClock

if TYPE_CHECKING:
    from counterwatch.config.schema import HallConfig
    from counterwatch.rules.schedule import HallCalendar


S = TypeVar("S", bound=RuleBase)  # a rule's settings type

@dataclass(frozen=True)
class RuleScope:
    """Which hall and window a rule instance watches."""

    hall_id: str
    window_id: str

    def __post_init__(self) -> None:
        for name in ("hall_id", "window_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"RuleScope.{name} must be a non-empty string, got {value!r}")


def frame_of(state: WindowState) -> FrameRef:
    return FrameRef(state.ts, state.wall_time, state.frame_index, state.camera_id, state.rostered_staff)


def local_clock(when: datetime, zone: tzinfo) -> str:
    """A wall time as reasons give it: the local time of day in the hall's zone, HH:MM:SS."""
    return when.astimezone(zone).strftime("%H:%M:%S")


class Rule(ABC, Generic[S]):
    """One behaviour rule at one window, generic over its settings type (`Rule[PhoneUse]`). Subclasses set `name`
    (an incident type) and `settings_type` (the class of S, checked at construction)."""

    name: ClassVar[str]
    settings_type: ClassVar[type[RuleBase]]
    needs_calendar: ClassVar[bool] = False
    settings: S

    def __init__(self, scope: RuleScope, settings: S, common: CommonRuleSettings | None = None,
                 calendar: HallCalendar | None = None):
        if not isinstance(scope, RuleScope):
            raise ValueError(f"scope must be a RuleScope, got {type(scope).__name__}")
        if not isinstance(settings, self.settings_type):
            raise ValueError(f"settings must be {self.settings_type.__name__} for rule {self.name}, "
                             f"got {type(settings).__name__}")
        common = CommonRuleSettings() if common is None else common
        if not isinstance(common, CommonRuleSettings):
            raise ValueError(f"common must be CommonRuleSettings, got {type(common).__name__}")
        if self.needs_calendar and calendar is None:
            raise ValueError(f"calendar is required by rule {self.name}")
        self.scope = scope
        self.settings = settings
        self.common = common
        self.calendar = calendar
        self._clock = StreamClock(common.max_frame_gap_s, common.frame_gap_factor)
        self._incident = IncidentLifecycle(self.name, scope.hall_id, scope.window_id, cooldown_s=settings.cooldown_s,
                                           update_every_s=common.update_every_s,
                                           update_peak_step=common.update_peak_step)
        self._last: FrameRef | None = None

    @classmethod
    def from_config(cls, config: HallConfig, window_id: str, calendar: HallCalendar | None = None) -> Self:
        return cls(RuleScope(config.hall.id, window_id), getattr(config.rules, cls.name), config.rules.common,
                   calendar)

    @property
    def is_open(self) -> bool:
        return self._incident.is_open

    @property
    def last_frame(self) -> FrameRef | None:
        return self._last

    def update(self, state: WindowState) -> tuple[IncidentEvent, ...]:
        if not isinstance(state, WindowState):
            raise ValueError(f"state must be a WindowState, got {type(state).__name__}")
        if state.window_id != self.scope.window_id:
            raise ValueError(f"state of window {state.window_id!r} fed to rule {self.name} of window "
                             f"{self.scope.window_id!r}")
        step = self._clock.step(state.ts)
        if step is Step.DUPLICATE:
            return ()
        events: list[IncidentEvent] = []
        if step is Step.BACKWARDS:
            if self._incident.is_open and self._last is not None:
                events.append(self._incident.close(
                    self._last.ts, self._last.wall_time,
                    Reason.of("closed.stream_restarted", from_ts=self._last.ts, to_ts=state.ts)))
            self._incident.reset()
            self._reset()
        elif step is Step.GAP:
            self._on_gap()
        frame = frame_of(state)
        events.extend(self._step(state, frame))
        self._last = frame
        return tuple(events)

    def close(self, ts: float, wall_time: datetime) -> tuple[IncidentEvent, ...]:
        """Close an open incident at shutdown (or when the camera goes away) and forget all state."""
        events: tuple[IncidentEvent, ...] = ()
        if self._incident.is_open:
            events = (self._incident.close(ts, wall_time, Reason.of("closed.monitoring_stopped")),)
        self._incident.reset()
        self._reset()
        self._clock.reset()
        self._last = None
        return events

    @abstractmethod
    def _step(self, state: WindowState, frame: FrameRef) -> Iterable[IncidentEvent]:
        """Evaluate one frame (already checked for order); return the events it causes."""

    @abstractmethod
    def _reset(self) -> None:
        """Forget all evidence (the stream's time base changed)."""

    @abstractmethod
    def _on_gap(self) -> None:
        """An observation gap came before this frame (see the module docstring for what rules do with it)."""


AnyRule = Rule[Any]  # a rule of any settings type (the registry, the engine)
R = TypeVar("R", bound=AnyRule)
_REGISTRY: dict[str, type[AnyRule]] = {}


def register(cls: type[R]) -> type[R]:
    """Class decorator: make a rule available under its incident type."""
    name = getattr(cls, "name", None)
    if name not in INCIDENT_TYPES:
        raise ValueError(f"rule {cls.__name__}.name must be one of {INCIDENT_TYPES}, got {name!r}")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"a rule named {name!r} is already registered ({_REGISTRY[name].__name__})")
    _REGISTRY[name] = cls
    return cls


def registered_rules() -> dict[str, type[AnyRule]]:
    """Every registered rule by incident type (import counterwatch.rules.engine to load the built-in ones)."""
    return dict(_REGISTRY)


def rule_class(name: str) -> type[AnyRule]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"no rule registered for incident type {name!r}") from None
