"""RuleEngine: one instance of every enabled rule per window; routes each WindowState to its window's rules."""
from __future__ import annotations

import importlib
from datetime import datetime

from counterwatch.behaviours import RULE_MODULES
from counterwatch.config.schema import HallConfig
from counterwatch.incidents.events import INCIDENT_TYPES, IncidentEvent
from counterwatch.rules.base import AnyRule, rule_class
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.state import WindowState

# The rule modules of the behaviour table register themselves on import.
for _module in RULE_MODULES:
    importlib.import_module(_module)

class RuleEngine:
    """Deterministic given the states: rules run in INCIDENT_TYPES order, and events come out in that order."""

    def __init__(self, config: HallConfig, calendar: HallCalendar | None = None):
        if not isinstance(config, HallConfig):
            raise ValueError(f"config must be a HallConfig, got {type(config).__name__}")
        if calendar is None:
            calendar = HallCalendar(config)
        if not isinstance(calendar, HallCalendar):
            raise ValueError(f"calendar must be a HallCalendar, got {type(calendar).__name__}")
        self.config = config
        self.calendar = calendar
        self.enabled: tuple[str, ...] = tuple(name for name in INCIDENT_TYPES
                                              if getattr(config.rules, name).enabled)
        self._rules: dict[str, tuple[AnyRule, ...]] = {
            window.id: tuple(rule_class(name).from_config(config, window.id, calendar) for name in self.enabled)
            for window in config.windows}

    def rules_of(self, window_id: str) -> tuple[AnyRule, ...]:
        try:
            return self._rules[window_id]
        except KeyError:
            raise ValueError(f"window_id: unknown window {window_id!r} (hall {self.config.hall.id!r})") from None

    def update(self, state: WindowState) -> tuple[IncidentEvent, ...]:
        if not isinstance(state, WindowState):
            raise ValueError(f"state must be a WindowState, got {type(state).__name__}")
        return tuple(event for rule in self.rules_of(state.window_id) for event in rule.update(state))

    def close_window(self, window_id: str, ts: float, wall_time: datetime) -> tuple[IncidentEvent, ...]:
        """Close the window's open incidents (its camera went away) and reset its rules."""
        return tuple(event for rule in self.rules_of(window_id) for event in rule.close(ts, wall_time))

    def close_all(self, ts: float, wall_time: datetime) -> tuple[IncidentEvent, ...]:
        """Close every open incident at shutdown: `ts` and `wall_time` are the last frame's."""
        if wall_time.tzinfo is None:
            raise ValueError("wall_time must be timezone-aware (UTC)")
        return tuple(event for window_id in self._rules for event in self.close_window(window_id, ts, wall_time))

    def open_incidents(self) -> tuple[tuple[str, str], ...]:
        """(window_id, incident type) of every open incident."""
        return tuple((window_id, rule.name) for window_id, rules in self._rules.items() for rule in rules
                     if rule.is_open)
