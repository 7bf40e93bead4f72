"""Presence on a video clip against interval annotations, and the onset error of an absence detector.

Annotation file format (`../shared/data/dev/videos/annotations.json`, read as it is): a JSON object whose keys are
video file names; each value holds `fps`, `duration_s`, `person_present` and `person_absent` as lists of
[start_s, end_s] intervals (seconds from the start of the file), optionally other interval lists (`seated`). Any
other top-level key (e.g. `note`) is not a clip. Boundaries are approximate (+-1 s by the note in the file).

The clip is read by the real camera reader in fast (offline) mode at the analysis rate, so frames are spaced by
stream time exactly as in a live run, and each frame goes through the perception cascade with no hall config (the
whole frame is the area). "A person is present" is a person detection at the cascade's person score.

Incident detectors plug in through `IntervalDetector`: feed one (ts, observation) at a time, read back the
intervals it flagged. `PresenceAbsenceDetector` is the simple one used today; an adapter over the behaviour rules
(counterwatch.rules) would implement the same protocol with a hall config whose single window covers the frame.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger("counterwatch.evaluation")

Interval = tuple[float, float]


@dataclass(frozen=True)
class ClipAnnotation:
    name: str
    duration_s: float
    present: tuple[Interval, ...]
    absent: tuple[Interval, ...]
    other: tuple[tuple[str, tuple[Interval, ...]], ...] = ()  # e.g. ("seated", (...))

    def present_at(self, ts: float) -> bool | None:
        """True/False inside an annotated interval; None where the annotation says nothing."""
        if any(a <= ts < b for a, b in self.present):
            return True
        if any(a <= ts < b for a, b in self.absent):
            return False
        return None

    def near_boundary(self, ts: float, tolerance_s: float) -> bool:
        edges = {edge for interval in (*self.present, *self.absent) for edge in interval}
        edges -= {0.0, self.duration_s}  # the file's own start and end are not transitions
        return any(abs(ts - edge) <= tolerance_s for edge in edges)


def load_annotations(path: Path) -> dict[str, ClipAnnotation]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read annotations: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by video file name")
    clips = {}
    for name, value in data.items():
        if not isinstance(value, dict) or "person_present" not in value:
            continue  # "note" and other metadata
        try:
            intervals = {key: _intervals(v, f"{name}.{key}") for key, v in value.items()
                         if isinstance(v, list) and key not in ("size",)}
            duration = float(value.get("duration_s") or max(b for _, b in intervals["person_present"]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        clips[name] = ClipAnnotation(
            name, duration, intervals.pop("person_present"), intervals.pop("person_absent", ()),
            tuple(sorted(intervals.items())))
    if not clips:
        raise ValueError(f"{path}: no clip entries with person_present intervals")
    return clips


def _intervals(value, where: str) -> tuple[Interval, ...]:
    result = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError(f"{where}: intervals must be [start_s, end_s] pairs, got {item!r}")
        start, end = float(item[0]), float(item[1])
        if end < start:
            raise ValueError(f"{where}: interval ends before it starts: {item!r}")
        result.append((start, end))
    return tuple(result)


# ------------------------------------------------------------------------------------------- interval detectors
class IntervalDetector(Protocol):
    """Turns a stream of analysed frames into flagged intervals (e.g. absences, incidents)."""

    name: str

    def feed(self, ts: float, observation) -> None: ...

    def intervals(self, end_ts: float) -> tuple[Interval, ...]: ...


@dataclass
class PresenceAbsenceDetector:
    """Absent once no person has been seen for `min_absent_s`; the absence starts at the first empty frame and
    ends at the first frame with a person again. The dwell of the hall's rule (120 s) is left out: on short clips it
    would hide the onset that this measures; the rule adds a constant delay to it."""

    min_absent_s: float = 1.0
    min_score: float = 0.3
    name: str = "presence_absence"
    _empty_since: float | None = field(default=None, repr=False)
    _flagged: list[Interval] = field(default_factory=list, repr=False)
    _last_ts: float | None = field(default=None, repr=False)

    def feed(self, ts: float, observation) -> None:
        present = any(p.score >= self.min_score for p in observation.persons)
        if present:
            self._close(ts)
        elif self._empty_since is None:
            self._empty_since = ts
        self._last_ts = ts

    def _close(self, ts: float) -> None:
        if self._empty_since is not None and ts - self._empty_since >= self.min_absent_s:
            self._flagged.append((self._empty_since, ts))
        self._empty_since = None

    def intervals(self, end_ts: float) -> tuple[Interval, ...]:
        flagged = list(self._flagged)
        if self._empty_since is not None and end_ts - self._empty_since >= self.min_absent_s:
            flagged.append((self._empty_since, end_ts))
        return tuple(flagged)


# ------------------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class FrameVerdict:
    ts: float
    present: bool  # a person detected
    best_score: float
    ms: float


@dataclass(frozen=True)
class IntervalError:
    truth: Interval
    flagged: Interval | None  # the overlapping flagged interval, None when missed
    onset_error_s: float | None  # flagged start - truth start (positive: late)
    offset_error_s: float | None  # flagged end - truth end


@dataclass(frozen=True)
class ClipReport:
    clip: str
    annotation: ClipAnnotation
    frames: tuple[FrameVerdict, ...]
    detector: str
    flagged: tuple[Interval, ...]
    absences: tuple[IntervalError, ...]
    tolerance_s: float
    frame_size: tuple[int, int] | None = None  # (width, height) after rotation


def evaluate_clip(video: Path, annotation: ClipAnnotation, cascade, *, analysis_fps: float = 2.0,
                  detector: IntervalDetector | None = None, min_score: float = 0.3, tolerance_s: float = 1.0,
                  read_timeout_s: float = 10.0, on_frame: Callable[[object], None] | None = None) -> ClipReport:
    """Read the clip with the camera reader (fast pace: every analysis slot, deterministic) and score presence."""
    from cameras import CameraReader, open_source

    detector = detector or PresenceAbsenceDetector(min_score=min_score)

    def factory():
        return open_source(str(video), loop=False, pace="fast", open_timeout_s=5, read_timeout_s=5)

    verdicts: list[FrameVerdict] = []
    size = None
    reader = CameraReader("clip", factory, analysis_fps=analysis_fps, stall_timeout_s=read_timeout_s,
                          backoff_initial_s=0.5, backoff_max_s=2.0)
    with reader:
        while True:
            frame = reader.get(timeout=read_timeout_s)
            if frame is None:
                if reader.finished:
                    break
                # A file that cannot be opened is retried forever by the reader: an evaluation stops instead.
                raise RuntimeError(f"{video}: no frame within {read_timeout_s} s ({reader.health().reason})")
            started = time.perf_counter()
            observation = cascade.observe(frame)
            ms = (time.perf_counter() - started) * 1000.0
            size = (frame.width, frame.height)
            best = max((p.score for p in observation.persons), default=0.0)
            verdicts.append(FrameVerdict(frame.ts, best >= min_score, best, ms))
            detector.feed(frame.ts, observation)
            if on_frame is not None:
                on_frame(observation)
    if not verdicts:
        raise RuntimeError(f"{video}: the reader delivered no frame ({reader.health().reason})")
    end_ts = max(annotation.duration_s, verdicts[-1].ts)
    flagged = detector.intervals(end_ts)
    errors = tuple(_match(truth, flagged) for truth in annotation.absent)
    return ClipReport(video.name, annotation, tuple(verdicts), detector.name, flagged, errors, tolerance_s, size)


def _match(truth: Interval, flagged: Sequence[Interval]) -> IntervalError:
    """The flagged interval overlapping the truth the most (touching counts: a 0-length truth at the file start)."""
    best, overlap = None, -1.0
    for interval in flagged:
        shared = min(truth[1], interval[1]) - max(truth[0], interval[0])
        if shared >= 0 and shared > overlap:
            best, overlap = interval, shared
    if best is None:
        return IntervalError(truth, None, None, None)
    return IntervalError(truth, best, round(best[0] - truth[0], 3), round(best[1] - truth[1], 3))


def summarise(report: ClipReport, *, per_frame: bool = False) -> dict:
    judged = [(v, report.annotation.present_at(v.ts)) for v in report.frames]
    judged = [(v, truth) for v, truth in judged if truth is not None]
    clear = [(v, t) for v, t in judged if not report.annotation.near_boundary(v.ts, report.tolerance_s)]
    counts = {"present_detected": sum(t and v.present for v, t in judged),
              "present_missed": sum(t and not v.present for v, t in judged),
              "absent_false_person": sum(not t and v.present for v, t in judged),
              "absent_empty": sum(not t and not v.present for v, t in judged)}
    times = [v.ms for v in report.frames]
    summary = {
        "clip": report.clip, "frames_analysed": len(report.frames), "frame_size": report.frame_size,
        "ms_per_frame": round(sum(times) / len(times), 1),
        "presence_agreement": _fraction(sum(v.present == t for v, t in judged), len(judged)),
        f"presence_agreement_beyond_{report.tolerance_s:g}s_of_a_boundary":
            _fraction(sum(v.present == t for v, t in clear), len(clear)),
        "presence_counts": counts,
        "detector": report.detector,
        "flagged_absences": [list(i) for i in report.flagged],
        "absences": [_error_dict(e, report.annotation) for e in report.absences],
    }
    if per_frame:
        summary["per_frame"] = [{"ts": round(v.ts, 3), "present": v.present, "best_score": round(v.best_score, 3),
                                 "truth": report.annotation.present_at(v.ts), "ms": round(v.ms, 1)}
                                for v in report.frames]
    return summary


def _error_dict(error: IntervalError, annotation: ClipAnnotation) -> dict:
    # An absence that starts at the file's start (or ends at its end) has no transition there to detect late.
    starts_clip = error.truth[0] <= 0.0
    ends_clip = error.truth[1] >= annotation.duration_s
    return {"truth": list(error.truth), "flagged": list(error.flagged) if error.flagged else None,
            "onset_error_s": None if starts_clip else error.onset_error_s,
            "offset_error_s": None if ends_clip else error.offset_error_s,
            "detected": error.flagged is not None}


def format_summary(summary: dict) -> str:
    agreement = summary["presence_agreement"]
    beyond = next(v for k, v in summary.items() if k.startswith("presence_agreement_beyond"))
    lines = [f"{summary['clip']}: {summary['frames_analysed']} frames analysed ({summary['frame_size']}), "
             f"{summary['ms_per_frame']} ms/frame",
             f"  presence agreement {agreement['value']} ({agreement['agree']}/{agreement['of']}); "
             f"away from boundaries {beyond['value']} ({beyond['agree']}/{beyond['of']}); {summary['presence_counts']}",
             f"  {summary['detector']}: flagged {summary['flagged_absences']}"]
    for absence in summary["absences"]:
        lines.append(f"  absence {absence['truth']}: flagged {absence['flagged']}, onset error "
                     f"{absence['onset_error_s']} s, offset error {absence['offset_error_s']} s")
    return "\n".join(lines)


def _fraction(agree: int, total: int) -> dict:
    return {"agree": agree, "of": total, "value": round(agree / total, 4) if total else None}
