"""The labelling queue's source: frames the running pipeline samples during service, ordered by model uncertainty.

Issue 6 (learning loop): supervisors label what the current model is least sure about, so their time goes where a
label changes the model most. Each camera pipeline owns a `FrameSampler`; per window it splits wall time (UTC) into
intervals of 3600 / `learning.sample_frames_per_hour` seconds, aligned to the Unix epoch (so a restart keeps the
grid), and keeps the single most uncertain candidate of each interval. Candidates are frames where the window is in
service: on schedule, not paused, with a staff member at the post (the ordinary working time the heads must learn;
the empty counter after closing is not). When the interval is over (the first state of that window at or after its
end) the candidate is cut for its window and privacy-masked exactly as evidence is (framing.window_image with the
window's evidence view: faces outside staff zones blurred, cropped to the window, the citizen side and every other
window's staff zone masked; the pipeline's face detector and the frame's observation) and written with the dataset
sampler's layout, DATA_DIR/samples/<camera>/<window>/<UTC stamp>.jpg, the crop's place in the camera frame inside the
file (dataset.sample_geometry), so that whatever reads it later maps frame coordinates onto it. The pipeline reports
the `SampledFrame`, which the runner sends to the API (monitor_api.ingest) to queue it (label_samples);
`counterwatch dataset export` reads the labels.

Memory: at most one pending (raw) frame per window. A frame that cannot be masked or written is logged and dropped:
sampling must never stop a camera.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cameras.frame import Frame
from counterwatch.config.schema import HallConfig
from counterwatch.dataset.sample_geometry import SampleGeometry
from counterwatch.dataset.sampler import CandidateFrame, store_sample
from counterwatch.incidents.framing import EvidenceView, evidence_view, window_image
from counterwatch.rules.state import WindowState
from vision.observation import Observation
from vision.regions import WindowRegion

logger = logging.getLogger("counterwatch.learning")

Score = tuple[str, float, float]  # (behaviour, probability, threshold)

PHONE_USE = "phone_use"


def uncertainty(scores: Iterable[Score]) -> float:
    """How close the model is to changing its mind about a frame: 1 at a decision threshold, 0 at full certainty.

    For each (behaviour, p, t): closeness = 1 - |p - t| / d, where d is the room on p's side of the threshold
    (t below it, 1 - t above it), so p = t gives 1 and p = 0 (below) or p = 1 (above) gives 0 whatever t is. A
    threshold of 0 or 1 leaves no room on one side: there p can only equal t (closeness 1). The result is the
    largest closeness over the behaviours (a frame is worth labelling if any head is unsure), clipped to 0..1;
    0.0 when there are no scores.
    """
    best = 0.0
    for _, probability, threshold in scores:
        p, t = float(probability), float(threshold)
        room = t if p < t else 1.0 - t
        closeness = (1.0 if p == t else 0.0) if room <= 0.0 else 1.0 - abs(p - t) / room
        if math.isfinite(closeness):
            best = max(best, min(1.0, max(0.0, closeness)))
    return best


def scores_for(state: WindowState, config: HallConfig) -> tuple[Score, ...]:
    """What the current model says about the window's main staff person: the learned heads' (behaviour, probability,
    threshold) entries, and, unless a head scores phone use, the hand-made phone cue against the phone_use rule's
    `min_score` (the score from which a frame counts as showing a phone). Empty when nobody is at the post."""
    person = state.main_staff
    if person is None:
        return ()
    cues = person.cues
    scores = [(name, float(p), float(t)) for name, p, t in cues.head]
    if all(name != PHONE_USE for name, _, _ in scores):
        scores.append((PHONE_USE, float(cues.phone), float(config.rules.phone_use.min_score)))
    return tuple(scores)


def in_service(state: WindowState) -> bool:
    """A frame that may be sampled: within service hours, not paused, and a staff member at the post."""
    return state.on_schedule and not state.paused and state.main_staff is not None


@dataclass(frozen=True)
class SampledFrame:
    """A stored, masked sample: sent to the API as ("sample", SampledFrame) to join the labelling queue
    (monitor_api.storage.labelling.LabelSampleLike)."""

    camera_id: str
    window_id: str
    captured_at: datetime  # UTC, aware: the frame's wall time
    path: str  # relative to DATA_DIR, POSIX separators: samples/<camera>/<window>/<UTC stamp>.jpg
    scores: tuple[Score, ...]
    uncertainty: float  # 0..1, see uncertainty()

    def __post_init__(self) -> None:
        if self.captured_at.tzinfo is None or self.captured_at.utcoffset() is None:
            raise ValueError(f"SampledFrame.captured_at must be timezone-aware, got {self.captured_at.isoformat()}")
        if not 0.0 <= self.uncertainty <= 1.0:
            raise ValueError(f"SampledFrame.uncertainty must be within 0..1, got {self.uncertainty}")


@dataclass(frozen=True)
class _Candidate:
    """The best frame of a window's current interval so far (raw: masked only when stored)."""

    interval: int
    at: datetime
    image: np.ndarray
    observation: Observation | None
    scores: tuple[Score, ...]
    uncertainty: float


class FrameSampler:
    """One camera's sampler: `offer` every analysed frame with its window states; it returns the samples it stored."""

    def __init__(self, config: HallConfig, camera_id: str, regions: Sequence[WindowRegion], face_detector,
                 data_dir: Path | str) -> None:
        rate = config.learning.sample_frames_per_hour
        if not rate > 0:
            raise ValueError(f"learning.sample_frames_per_hour must be > 0 for a FrameSampler, got {rate}")
        if face_detector is None:
            raise ValueError("FrameSampler needs a face detector: samples are masked like evidence")
        self.interval_s = 3600.0 / rate
        self.camera_id = camera_id
        self.data_dir = Path(data_dir)
        self._config = config
        self._regions = tuple(regions)
        self._detector = face_detector
        self._pending: dict[str, _Candidate] = {}
        self._views: dict[tuple[str, int, int], EvidenceView] = {}

    def _interval(self, at: datetime) -> int:
        return math.floor(at.timestamp() / self.interval_s)

    @property
    def pending_windows(self) -> tuple[str, ...]:
        return tuple(sorted(self._pending))

    def offer(self, frame: Frame, states: Iterable[WindowState],
              observation: Observation | None = None) -> tuple[SampledFrame, ...]:
        """Consider `frame` for every window state of it; store the candidates of intervals that are over."""
        interval = self._interval(frame.wall_time)
        stored: list[SampledFrame] = []
        for state in states:
            window = state.window_id
            pending = self._pending.get(window)
            if pending is not None and pending.interval != interval:
                # Over (or the clock went back): the candidate of that interval is final.
                del self._pending[window]
                sample = self._store(window, pending)
                if sample is not None:
                    stored.append(sample)
                pending = None
            if not in_service(state):
                continue
            scores = scores_for(state, self._config)
            value = uncertainty(scores)
            if pending is None or value > pending.uncertainty:  # ties: the earliest frame stays
                self._pending[window] = _Candidate(interval, frame.wall_time, frame.image.copy(), observation,
                                                   scores, value)
        return tuple(stored)

    def close(self) -> tuple[SampledFrame, ...]:
        """Store every pending candidate (the stream ended mid-interval)."""
        pending, self._pending = self._pending, {}
        stored = (self._store(window, candidate) for window, candidate in sorted(pending.items()))
        return tuple(sample for sample in stored if sample is not None)

    def _view(self, window_id: str, width: int, height: int) -> EvidenceView:
        key = (window_id, width, height)
        if key not in self._views:
            self._views[key] = evidence_view(self._regions, window_id, width, height)
        return self._views[key]

    def _store(self, window_id: str, candidate: _Candidate) -> SampledFrame | None:
        try:
            height, width = candidate.image.shape[:2]
            view = self._view(window_id, width, height)
            image = window_image(candidate.image, view, self._detector, candidate.observation)
            geometry = SampleGeometry(window_id, view.frame_size, view.crop)
            path = store_sample(self.data_dir, CandidateFrame(self.camera_id, window_id, candidate.at, image,
                                                              geometry))
            relative = path.relative_to(self.data_dir).as_posix()
        except Exception:  # a full disk or a failing detector must not stop the camera
            logger.exception("camera %s window %s: sampled frame of %s could not be stored under %s",
                             self.camera_id, window_id, candidate.at.isoformat(), self.data_dir)
            return None
        return SampledFrame(self.camera_id, window_id, candidate.at.astimezone(UTC), relative,
                            candidate.scores, candidate.uncertainty)
