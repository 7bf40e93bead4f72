"""Clip annotations and the event-level scoring of the pipeline's window states and incidents against them.

Annotation file (JSON), keyed by video file name; any top-level key whose value is not an object (e.g. `note`)
is not a clip:

    {
      "note": "times in seconds from the start of the file",
      "desk_arrival.mp4": {
        "duration_s": 13.07,                      required
        "fps": 30, "size": [856, 480],            optional, informative
        "scene": "a person walks in and sits",    optional, informative
        "config": "desk_arrival.yaml",            optional: the hall config for `eval clips`, relative to this file
        "windows": {
          "w01": {
            "present": [[1.8, 13.07]],            staff in the window's staff zone
            "absent": [[0.0, 1.8]],               nobody in the staff zone
            "phone_use": [], "eating": [], "drinking": [], "sleeping": [],
            "absent_without_pause": [[0.0, 1.8]]  optional, see below
          }
        }
      }
    }

Intervals are [start_s, end_s] in seconds from the start of the file. A window's keys are `present`, `absent` and
incident types (counterwatch.incidents.events.INCIDENT_TYPES). A missing behaviour list means "none of that
happened"; missing `present` and `absent` mean "presence not annotated". The truth for `absent_without_pause` is
the `absent` list unless `absent_without_pause` is given (give it when the staff left with the pause sign up:
an absence that is no breach). Windows of the config that the annotation does not name are not scored.

Legacy format (the dev set's videos/annotations.json, read unchanged): a clip with top-level `person_present` and
`person_absent` lists and no `windows` is one implicit window, the config's first; other lists (`seated`) are
ignored.

Scoring, per annotated window:
- Presence: each analysed frame's WindowState.staff_present against the present/absent intervals (frames the
  annotation says nothing about are skipped), overall and beyond +-tolerance of an interval boundary (the file's
  own start and end are not boundaries).
- Per incident type: an incident matches an annotated interval of its type when it was raised (its `opened` event)
  within the interval widened by the tolerance on both sides, [start - tol, end + tol]; the dwell delay is allowed
  because the incident is raised while the behaviour lasts. Matching is one to one, closest onset first. Found =
  matched intervals; missed = unmatched intervals at least as long as the rule's dwell; too short = unmatched
  intervals shorter than the dwell (the rule cannot fire on them by design: absent, phone, sleeping and
  left_during_service need `dwell_s`); false = unmatched incidents (a second alert for one interval included).
  Onset error = the incident's onset (the first frame of the behaviour, IncidentEvent.start_ts) minus the annotated
  start, not measured for intervals that start with the clip; alert delay = the opened event's time minus the
  annotated start. False alerts per hour are per hour of clip.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from counterwatch.incidents.events import INCIDENT_TYPES

Interval = tuple[float, float]

CORE_TYPES = ("absent_without_pause", "phone_use", "eating", "drinking", "sleeping")  # always in the report
DWELL_BOUND_TYPES = ("absent_without_pause", "phone_use", "sleeping", "left_during_service")  # need dwell_s to fire
PRESENCE_KEYS = ("present", "absent")
CLIP_KEYS = ("duration_s", "fps", "size", "scene", "config", "windows", "note")
_EPS = 1e-6


@dataclass(frozen=True)
class WindowTruth:
    window_id: str | None  # None: the legacy format's implicit window, the config's first
    present: tuple[Interval, ...] | None  # None: presence not annotated
    absent: tuple[Interval, ...] | None
    behaviours: tuple[tuple[str, tuple[Interval, ...]], ...]  # incident type -> intervals (only the annotated ones)

    def intervals_of(self, incident_type: str) -> tuple[Interval, ...]:
        given = dict(self.behaviours)
        if incident_type in given:
            return given[incident_type]
        if incident_type == "absent_without_pause":
            return self.absent or ()
        return ()

    @property
    def annotated_types(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.behaviours)

    def present_at(self, ts: float) -> bool | None:
        """True/False inside an annotated interval; None where the annotation says nothing."""
        if any(a <= ts < b for a, b in self.present or ()):
            return True
        if any(a <= ts < b for a, b in self.absent or ()):
            return False
        return None

    def near_boundary(self, ts: float, tolerance_s: float, duration_s: float) -> bool:
        edges = {edge for interval in (*(self.present or ()), *(self.absent or ())) for edge in interval}
        edges -= {0.0, duration_s}  # the file's own start and end are not transitions
        return any(abs(ts - edge) <= tolerance_s for edge in edges)


@dataclass(frozen=True)
class ClipAnnotation:
    name: str  # video file name
    source: str  # the annotation file, for messages
    duration_s: float
    windows: tuple[WindowTruth, ...]
    config: str | None = None  # hall config path relative to the annotation file
    fps: float | None = None
    size: tuple[int, int] | None = None
    scene: str = ""

    def config_path(self) -> Path | None:
        return None if self.config is None else Path(self.source).parent / self.config

    def truths_for(self, window_ids: Sequence[str]) -> dict[str, WindowTruth]:
        """Window id -> truth, the legacy implicit window placed on the first window; ValueError for a window the
        config does not have."""
        result = {}
        for truth in self.windows:
            window_id = truth.window_id if truth.window_id is not None else window_ids[0]
            if window_id not in window_ids:
                raise ValueError(f"{self.source}: {self.name}.windows.{window_id}: no such window in the config "
                                 f"(it has {', '.join(window_ids)})")
            result[window_id] = truth
        return result


def load_annotations(path: Path) -> dict[str, ClipAnnotation]:
    """Video file name -> annotation; ValueError naming the file and the field for anything malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read annotations: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by video file name")
    clips = {name: _clip(path, name, value) for name, value in data.items() if isinstance(value, dict)}
    if not clips:
        raise ValueError(f"{path}: no clip entries (objects keyed by video file name)")
    return clips


def _clip(path: Path, name: str, value: dict) -> ClipAnnotation:
    where = f"{path}: {name}"
    legacy = "windows" not in value and "person_present" in value
    if not legacy:
        unknown = sorted(set(value) - set(CLIP_KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; a clip has {', '.join(CLIP_KEYS)} "
                             "(or the legacy person_present/person_absent)")
        if not isinstance(value.get("windows"), dict) or not value["windows"]:
            raise ValueError(f"{where}.windows: required, an object keyed by window id")
    try:
        duration = float(value["duration_s"])
    except KeyError:
        raise ValueError(f"{where}.duration_s: required") from None
    except (TypeError, ValueError):
        raise ValueError(f"{where}.duration_s: expected seconds, got {value['duration_s']!r}") from None
    if not duration > 0:
        raise ValueError(f"{where}.duration_s: must be > 0")
    windows: tuple[WindowTruth, ...]
    if legacy:
        windows = (_window(f"{where}", None, {"present": value["person_present"],
                                              "absent": value.get("person_absent", [])}, duration),)
    else:
        windows = tuple(_window(f"{where}.windows.{window_id}", str(window_id), truth, duration)
                        for window_id, truth in value["windows"].items())
    config = value.get("config")
    if config is not None and not (isinstance(config, str) and config):
        raise ValueError(f"{where}.config: expected a path relative to the annotation file, got {config!r}")
    size = value.get("size")
    return ClipAnnotation(name, str(path), duration, windows, config,
                          float(value["fps"]) if value.get("fps") is not None else None,
                          (int(size[0]), int(size[1])) if isinstance(size, list) and len(size) == 2 else None,
                          str(value.get("scene", "")))


def _window(where: str, window_id: str | None, value, duration: float) -> WindowTruth:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object of interval lists")
    unknown = sorted(set(value) - set(PRESENCE_KEYS) - set(INCIDENT_TYPES))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known: "
                         f"{', '.join((*PRESENCE_KEYS, *INCIDENT_TYPES))}")
    lists = {key: _intervals(items, f"{where}.{key}", duration) for key, items in value.items()}
    present, absent = lists.pop("present", None), lists.pop("absent", None)
    for a in present or ():
        for b in absent or ():
            if min(a[1], b[1]) - max(a[0], b[0]) > _EPS:
                raise ValueError(f"{where}: present {list(a)} overlaps absent {list(b)}")
    behaviours = tuple((name, lists[name]) for name in INCIDENT_TYPES if name in lists)
    return WindowTruth(window_id, present, absent, behaviours)


def _intervals(value, where: str, duration: float) -> tuple[Interval, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of [start_s, end_s] intervals, got {value!r}")
    result = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item)):
            raise ValueError(f"{where}: intervals must be [start_s, end_s] pairs of numbers, got {item!r}")
        start, end = float(item[0]), float(item[1])
        if not 0.0 <= start <= end <= duration + _EPS:
            raise ValueError(f"{where}: interval {item!r} must satisfy 0 <= start <= end <= duration_s ({duration:g})")
        result.append((start, end))
    return tuple(sorted(result))


# --------------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class IncidentRecord:
    """One incident as the rules raised it, in stream seconds of the clip."""

    incident_id: str
    incident_type: str
    window_id: str
    onset_s: float  # the first frame of the behaviour (IncidentEvent.start_ts)
    opened_s: float  # when the incident was raised (the opened event's ts): onset + the dwell
    end_s: float  # when the behaviour stopped (closed event's ended_at, in stream seconds)
    peak_confidence: float
    reason: str


@dataclass(frozen=True)
class PresenceScore:
    agree: int
    of: int
    agree_clear: int  # frames beyond +-tolerance of an annotated boundary
    of_clear: int
    present_detected: int
    present_missed: int
    absent_false_person: int
    absent_empty: int


@dataclass(frozen=True)
class Match:
    truth: Interval
    incident: IncidentRecord | None
    onset_error_s: float | None  # onset - annotated start; None when missed or the interval starts with the clip
    alert_delay_s: float | None  # opened - annotated start
    too_short: bool  # shorter than the rule's dwell


@dataclass(frozen=True)
class BehaviourScore:
    incident_type: str
    min_duration_s: float  # the rule's dwell: shorter intervals cannot raise an incident
    matches: tuple[Match, ...]  # one per annotated interval
    false_alerts: tuple[IncidentRecord, ...]

    @property
    def found(self) -> int:
        return sum(m.incident is not None for m in self.matches)

    @property
    def missed(self) -> int:
        return sum(m.incident is None and not m.too_short for m in self.matches)

    @property
    def too_short(self) -> int:
        return sum(m.incident is None and m.too_short for m in self.matches)

    @property
    def false(self) -> int:
        return len(self.false_alerts)

    @property
    def onset_errors(self) -> tuple[float, ...]:
        return tuple(m.onset_error_s for m in self.matches if m.onset_error_s is not None)


@dataclass(frozen=True)
class WindowScore:
    window_id: str
    presence: PresenceScore | None  # None: presence not annotated
    behaviours: tuple[BehaviourScore, ...]

    @property
    def false_alerts(self) -> int:
        return sum(b.false for b in self.behaviours)


def score_presence(frames: Sequence[tuple[float, bool]], truth: WindowTruth, *, duration_s: float,
                   tolerance_s: float) -> PresenceScore | None:
    """`frames`: (ts, staff_present) of every analysed frame."""
    if truth.present is None and truth.absent is None:
        return None
    judged = [(present, expected, truth.near_boundary(ts, tolerance_s, duration_s))
              for ts, present in frames if (expected := truth.present_at(ts)) is not None]
    clear = [(p, e) for p, e, near in judged if not near]
    return PresenceScore(
        agree=sum(p == e for p, e, _ in judged), of=len(judged),
        agree_clear=sum(p == e for p, e in clear), of_clear=len(clear),
        present_detected=sum(e and p for p, e, _ in judged), present_missed=sum(e and not p for p, e, _ in judged),
        absent_false_person=sum(not e and p for p, e, _ in judged),
        absent_empty=sum(not e and not p for p, e, _ in judged))


def match_behaviour(incident_type: str, truth: Sequence[Interval], incidents: Sequence[IncidentRecord], *,
                    tolerance_s: float, min_duration_s: float = 0.0) -> BehaviourScore:
    """Match the incidents of one type at one window to its annotated intervals (see the module docstring)."""
    candidates = sorted(
        (abs(incident.onset_s - start), i, j)
        for i, (start, end) in enumerate(truth) for j, incident in enumerate(incidents)
        if start - tolerance_s - _EPS <= incident.opened_s <= end + tolerance_s + _EPS)
    paired: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in candidates:
        if i not in paired and j not in used:
            paired[i] = j
            used.add(j)
    matches = []
    for i, (start, end) in enumerate(truth):
        short = end - start < min_duration_s - _EPS
        if i not in paired:
            matches.append(Match((start, end), None, None, None, short))
            continue
        incident = incidents[paired[i]]
        onset_error = None if start <= _EPS else round(incident.onset_s - start, 3)
        matches.append(Match((start, end), incident, onset_error, round(incident.opened_s - start, 3), short))
    false = tuple(incident for j, incident in enumerate(incidents) if j not in used)
    return BehaviourScore(incident_type, min_duration_s, tuple(matches), false)


def score_window(window_id: str, truth: WindowTruth, frames: Sequence[tuple[float, bool]],
                 incidents: Sequence[IncidentRecord], min_durations: dict[str, float], *, duration_s: float,
                 tolerance_s: float) -> WindowScore:
    """Presence and every behaviour of one window. The types scored: CORE_TYPES, the annotated ones, and any
    type the rules raised here."""
    raised = [incident.incident_type for incident in incidents]
    types = [t for t in INCIDENT_TYPES if t in CORE_TYPES or t in truth.annotated_types or t in raised]
    types += sorted({t for t in raised if t not in types})
    behaviours = tuple(
        match_behaviour(t, truth.intervals_of(t), [i for i in incidents if i.incident_type == t],
                        tolerance_s=tolerance_s, min_duration_s=min_durations.get(t, 0.0))
        for t in types)
    return WindowScore(window_id, score_presence(frames, truth, duration_s=duration_s, tolerance_s=tolerance_s),
                       behaviours)


def per_hour(count: int, duration_s: float) -> float | None:
    return round(count * 3600.0 / duration_s, 1) if duration_s > 0 else None
