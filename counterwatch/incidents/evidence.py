"""EvidenceRecorder: the snapshot and clip written for each incident, privacy-masked before anything is encoded.

Both show the incident's window only, cut from the camera frame with some context, every citizen side and every
other window's staff zone masked, this window's zone drawn and a header naming it (framing.py).

Fed every analysed frame (`add_frame`) and every IncidentEvent (`on_event`), per camera:

- opened: the snapshot is written at once from the frame of the event, as `evidence/<incident_id>/snapshot.jpg`
  under the data directory; the clip is scheduled for [onset - pre_s, event ts + post_s), the onset being the
  incident's start_ts (when the behaviour began; the alert comes a rule's dwell later). So the clip shows the
  behaviour begin (the staff member getting up and leaving), not only the empty chair at the alert. A clip of more
  than `clip_max_frames` frames keeps every frame within pre_s/post_s of the onset and of the alert and thins the
  stretch between them evenly (frames keep their stream times: the middle plays as held frames, at true speed).
  The clip is rendered `clip_frames_per_step` frames per analysed frame from then on (clip_job.py) and written as
  `evidence/<incident_id>/clip.mp4` once a frame at or past its end has arrived and every frame is rendered.
- updated: when the peak confidence has risen by at least `snapshot_peak_gain` since the snapshot was taken, the
  snapshot is replaced by the frame of this event (a more telling one).
- closed: a clip still pending is finished at once with the frames there are (the behaviour has ended).
- `flush()` (shutdown, a camera that stopped) writes every pending clip with the frames there are.

Every returned event carries the Evidence written so far (paths relative to the data directory, POSIX style).
When a clip is finished by `add_frame` or `flush` while its incident is still open, they return an `updated`
event for it (the incident's last event with the clip added, at that frame's ts) so that the clip reaches storage
without waiting for the rules' next event; deliver those like any other event.

Writing never raises into the pipeline: a failure (disk full, read-only directory, an encoder error) is logged on
"counterwatch.incidents" and the evidence field stays None. Files are written atomically (media.atomic_path).

The ring buffer of each camera keeps pre_s + onset_lag_s + post_s (+ a margin) of frames, JPEG-encoded: enough to
reach back from a clip's end to before the onset of an alert that came onset_lag_s (the longest dwell of the
hall's rules) after it. Cost, at 2 fps with the 120 s default dwell: 262 frames; measured 60 kB a frame on the
demo's 1280x720 (15 MiB per camera, whatever the number of windows it covers); at 1920x1080 an estimated
150-250 kB a frame (40-65 MiB). The buffer's caps (ring_buffer.DEFAULT_MAX_BYTES) bound it.

Not thread-safe: call it from one thread (the pipeline loop of the cameras it serves). Rendering a clip frame
(face detection on the window's part of the frame, masking, drawing, encoding) takes ~70 ms on 2 cores, so a
pipeline step while a clip is being made takes ~0.2 s longer; a snapshot takes ~70-100 ms. Finishing a clip early
(closed, flush, a stream restart) renders what is left at once.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

import cv2
import numpy as np

from cameras.frame import Frame
from counterwatch.incidents.clip_job import ClipJob, thin_clip
from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent
from counterwatch.incidents.framing import EvidenceView, caption, evidence_view, render
from counterwatch.incidents.media import encode_snapshot, even_size, write_bytes_atomic
from counterwatch.incidents.ring_buffer import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, BufferedFrame, FrameRingBuffer
from counterwatch.private_files import private_dir
from vision.observation import Observation
from vision.regions import WindowRegion

logger = logging.getLogger("counterwatch.incidents")

EVIDENCE_DIR = "evidence"
SNAPSHOT_NAME = "snapshot.jpg"
CLIP_NAME = "clip.mp4"
# Incident ids become directory names: no separators, no "..", no hidden names.
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# The buffer keeps a little more than the clip window, so the window's first frame is still there when its
# last one arrives even with jittery frame times.
_BUFFER_MARGIN_S = 1.0
# How long after its onset an alert may come, when the caller does not say: the longest default dwell
# (absent_without_pause, smoking: 120 s). The worker passes the hall's own (worker.evidence_onset_lag_s).
DEFAULT_ONSET_LAG_S = 120.0
# A clip's frame budget (40 s at 2 fps): full rate around the onset and the alert, the stretch between thinned.
CLIP_MAX_FRAMES = 80
# Clip frames rendered per analysed frame of the camera: ~3 x 70 ms added to a pipeline step while a clip is
# being made, instead of one stall of several seconds (clip_job.py).
CLIP_FRAMES_PER_STEP = 3


@dataclass
class _Incident:
    """Evidence state of one live incident (internal, mutated only by the recorder)."""

    camera_id: str
    clip_t0: float
    clip_t1: float
    last_event: IncidentEvent
    onset_ts: float
    alert_ts: float
    snapshot: str | None = None
    snapshot_peak: float = 0.0
    clip: str | None = None
    clip_job: ClipJob | None = None  # while the clip is being made

    @property
    def evidence(self) -> Evidence:
        return Evidence(snapshot=self.snapshot, clip=self.clip)


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"EvidenceRecorder.{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class EvidenceRecorder:
    def __init__(self, data_dir: str | Path, regions_by_camera: Mapping[str, Sequence[WindowRegion]],
                 face_detector, *, pre_s: float = 5.0, post_s: float = 5.0, annotate: bool = True,
                 snapshot_peak_gain: float = 0.05, max_buffer_frames: int = DEFAULT_MAX_FRAMES,
                 max_buffer_bytes: int = DEFAULT_MAX_BYTES, onset_lag_s: float = DEFAULT_ONSET_LAG_S,
                 clip_max_frames: int = CLIP_MAX_FRAMES, clip_frames_per_step: int = CLIP_FRAMES_PER_STEP,
                 window_names: Mapping[str, str] | None = None, tz: tzinfo = UTC) -> None:
        if not isinstance(data_dir, (str, Path)) or not str(data_dir):
            raise ValueError(f"EvidenceRecorder.data_dir must be a path, got {data_dir!r}")
        if not isinstance(regions_by_camera, Mapping):
            raise ValueError("EvidenceRecorder.regions_by_camera must map camera id -> WindowRegions")
        for camera_id, regions in regions_by_camera.items():
            if not isinstance(camera_id, str) or not camera_id:
                raise ValueError(f"EvidenceRecorder.regions_by_camera has a bad camera id {camera_id!r}")
            if not all(isinstance(region, WindowRegion) for region in regions):
                raise ValueError(f"EvidenceRecorder.regions_by_camera[{camera_id!r}] must hold WindowRegions")
        if not callable(getattr(face_detector, "detect", None)):
            raise ValueError("EvidenceRecorder.face_detector must have a detect(image_bgr) method")
        self.pre_s = _non_negative(pre_s, "pre_s")
        self.post_s = _non_negative(post_s, "post_s")
        if self.pre_s + self.post_s <= 0:
            raise ValueError("EvidenceRecorder.pre_s + post_s must be > 0 (a clip needs a duration)")
        self.snapshot_peak_gain = _non_negative(snapshot_peak_gain, "snapshot_peak_gain")
        self.onset_lag_s = _non_negative(onset_lag_s, "onset_lag_s")
        for name, value in (("clip_max_frames", clip_max_frames), ("clip_frames_per_step", clip_frames_per_step)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"EvidenceRecorder.{name} must be an int >= 1, got {value!r}")
        if not isinstance(tz, tzinfo):
            raise ValueError(f"EvidenceRecorder.tz must be a tzinfo, got {tz!r}")
        if window_names is not None and not (isinstance(window_names, Mapping) and all(
                isinstance(key, str) and isinstance(value, str) for key, value in window_names.items())):
            raise ValueError("EvidenceRecorder.window_names must map window id -> display name")
        self.clip_max_frames = clip_max_frames
        self.clip_frames_per_step = clip_frames_per_step
        self.tz = tz
        self._window_names = dict(window_names or {})
        if not isinstance(annotate, bool):
            raise ValueError(f"EvidenceRecorder.annotate must be a bool, got {annotate!r}")
        self.data_dir = Path(data_dir)
        self.annotate = annotate
        self._regions = {camera_id: tuple(regions) for camera_id, regions in regions_by_camera.items()}
        self._detector = face_detector
        self._buffer_s = self.pre_s + self.onset_lag_s + self.post_s + _BUFFER_MARGIN_S
        self._buffer_caps = {"max_frames": max_buffer_frames, "max_bytes": max_buffer_bytes}
        FrameRingBuffer("check", self._buffer_s, **self._buffer_caps)  # validates the caps now, naming the field
        self._buffers: dict[str, FrameRingBuffer] = {}
        self._latest: dict[str, tuple[Frame, Observation | None]] = {}
        self._incidents: dict[str, _Incident] = {}
        self._unknown_cameras: set[str] = set()
        self._views: dict[tuple[str, str, int, int], EvidenceView] = {}

    # ---- frames -------------------------------------------------------------------------------------------------

    def buffer(self, camera_id: str) -> FrameRingBuffer | None:
        return self._buffers.get(camera_id)

    def add_frame(self, frame: Frame, observation: Observation | None = None) -> tuple[IncidentEvent, ...]:
        """Buffer an analysed frame and advance the clips being made; returns `updated` events for open incidents
        whose clip got written."""
        if frame.camera_id not in self._regions:
            if frame.camera_id not in self._unknown_cameras:
                logger.error("camera %s has no window regions: no evidence is recorded for it", frame.camera_id)
                self._unknown_cameras.add(frame.camera_id)
            return ()
        buffer = self._buffers.get(frame.camera_id)
        if buffer is None:
            buffer = self._buffers[frame.camera_id] = FrameRingBuffer(frame.camera_id, self._buffer_s,
                                                                      **self._buffer_caps)
        updates: list[IncidentEvent] = []
        if buffer.last_ts is not None and frame.ts <= buffer.last_ts:
            # The stream restarted: no later frame of the old stream will come, pending clips get what there is.
            updates += self._advance_clips(frame.camera_id, now_ts=math.inf, event_ts=buffer.last_ts)
        try:
            item = buffer.add(frame, observation)
        except Exception:  # a frame that cannot be encoded must not stop the pipeline
            logger.exception("camera %s: frame %d could not be buffered for evidence", frame.camera_id, frame.index)
        else:
            for state in self._incidents.values():
                if state.camera_id == frame.camera_id and state.clip_job is not None:
                    state.clip_job.take([item])
        self._latest[frame.camera_id] = (frame, observation)
        updates += self._advance_clips(frame.camera_id, now_ts=frame.ts, event_ts=frame.ts,
                                       budget=self.clip_frames_per_step)
        return tuple(updates)

    def _advance_clips(self, camera_id: str, *, now_ts: float, event_ts: float,
                       budget: float = math.inf) -> list[IncidentEvent]:
        """Render up to `budget` clip frames of the camera's pending clips; write those whose last frame is in
        (a frame at or past their end has come: `now_ts`) and rendered. Returns `updated` events for them."""
        updates = []
        for incident_id, state in list(self._incidents.items()):
            job = state.clip_job
            if state.camera_id != camera_id or job is None:
                continue
            left, written = len(job.frames) - job.rendered, False
            try:
                if now_ts >= job.t1 and left <= budget:
                    budget -= left
                    written = self._finish_clip(incident_id, state)
                else:
                    budget -= job.step(int(min(budget, left)))
            except Exception:
                self._clip_failed(incident_id, state)
            if written:
                state.last_event = dataclasses.replace(state.last_event, kind=EventKind.UPDATED,
                                                       ts=max(event_ts, state.last_event.ts), evidence=state.evidence)
                updates.append(state.last_event)
        return updates

    # ---- events -------------------------------------------------------------------------------------------------

    def on_event(self, event: IncidentEvent) -> tuple[IncidentEvent, ...]:
        """The event with the evidence written so far; writes what the event calls for first. Never raises."""
        try:
            return (self._on_event(event),)
        except Exception:  # evidence must never take the pipeline down; the event still goes out
            logger.exception("incident %s: evidence failed", event.incident_id)
            state = self._incidents.pop(event.incident_id, None)
            if state is not None and state.clip_job is not None:
                state.clip_job.abort()
            return (dataclasses.replace(event, evidence=Evidence()),)

    def _on_event(self, event: IncidentEvent) -> IncidentEvent:
        if event.camera_id not in self._regions or not _SAFE_ID.fullmatch(event.incident_id):
            logger.error("incident %r of camera %s: no evidence (unknown camera or an id unfit for a file name)",
                         event.incident_id, event.camera_id)
            return dataclasses.replace(event, evidence=Evidence())
        state = self._incidents.get(event.incident_id)
        if state is None:
            # opened, or an incident this recorder first hears of later (e.g. after a restart): evidence from what
            # is still buffered on.
            onset = min(event.start_ts, event.ts)
            state = _Incident(event.camera_id, onset - self.pre_s, event.ts + self.post_s, event, onset, event.ts)
            self._incidents[event.incident_id] = state
            self._write_snapshot(event, state)
            self._start_clip(event.incident_id, state)
            buffer = self._buffers.get(event.camera_id)
            if buffer is not None and buffer.last_ts is not None and buffer.last_ts >= state.clip_t1:
                self._finish_clip(event.incident_id, state)
        elif event.kind is not EventKind.CLOSED and self._peak_rose(event, state):
            self._write_snapshot(event, state)
        if event.kind is EventKind.CLOSED:
            if state.clip_job is not None:  # the behaviour has ended: the clip gets the frames there are
                self._finish_clip(event.incident_id, state)
            del self._incidents[event.incident_id]
        out = dataclasses.replace(event, evidence=state.evidence)
        state.last_event = out
        return out

    def _peak_rose(self, event: IncidentEvent, state: _Incident) -> bool:
        gain = event.peak_confidence - state.snapshot_peak
        return gain > 0 and gain >= self.snapshot_peak_gain

    def flush(self) -> tuple[IncidentEvent, ...]:
        """Write every pending clip with the frames there are; returns `updated` events carrying the new clips."""
        updates = []
        for camera_id in {state.camera_id for state in self._incidents.values()}:
            buffer = self._buffers.get(camera_id)
            last_ts = buffer.last_ts if buffer is not None and buffer.last_ts is not None else -math.inf
            updates += self._advance_clips(camera_id, now_ts=math.inf, event_ts=last_ts)
        return tuple(updates)

    def close(self) -> tuple[IncidentEvent, ...]:
        """Flush and forget everything (shutdown)."""
        updates = self.flush()
        for state in self._incidents.values():
            if state.clip_job is not None:
                state.clip_job.abort()
        self._incidents.clear()
        self._buffers.clear()
        self._latest.clear()
        self._views.clear()
        return updates

    def view(self, camera_id: str, window_id: str, width: int, height: int) -> EvidenceView:
        """How evidence of `window_id` is cut from `camera_id`'s frames of that size (cached)."""
        key = (camera_id, window_id, width, height)
        if key not in self._views:
            self._views[key] = evidence_view(self._regions[camera_id], window_id, width, height)
        return self._views[key]

    def _render(self, raw: np.ndarray, observation: Observation | None, event: IncidentEvent, wall_time,
                from_onset_s: float) -> np.ndarray:
        height, width = raw.shape[:2]
        view = self.view(event.camera_id, event.window_id, width, height)
        text = caption(event.window_id, self._window_names.get(event.window_id), event.incident_type, wall_time,
                       from_onset_s, self.tz)
        return render(raw, view, self._detector, observation, text, annotate=self.annotate)

    # ---- writing ------------------------------------------------------------------------------------------------

    def _incident_dir(self, incident_id: str) -> Path:
        return private_dir(self.data_dir / EVIDENCE_DIR / incident_id)

    def _snapshot_source(self, event: IncidentEvent):
        """The raw frame nearest the event (image, observation, ts, wall time): the last frame as received if it is
        the nearest, else from the buffer."""
        latest = self._latest.get(event.camera_id)
        buffer = self._buffers.get(event.camera_id)
        buffered = buffer.nearest(event.ts) if buffer is not None else None
        if latest is not None and (buffered is None or abs(latest[0].ts - event.ts) <= abs(buffered.ts - event.ts)):
            return latest[0].image, latest[1], latest[0].ts, latest[0].wall_time
        if buffered is not None:
            return buffered.decode(), buffered.observation, buffered.ts, buffered.wall_time
        return None

    def _write_snapshot(self, event: IncidentEvent, state: _Incident) -> None:
        # Recorded before trying: a failing disk is retried only when the peak has risen again, not on every event.
        state.snapshot_peak = event.peak_confidence
        try:
            source = self._snapshot_source(event)
            if source is None:
                logger.warning("incident %s: no frame of camera %s to take a snapshot from",
                               event.incident_id, event.camera_id)
                return
            raw, observation, ts, wall_time = source
            data = encode_snapshot(self._render(raw, observation, event, wall_time, ts - state.onset_ts))
            path = self._incident_dir(event.incident_id) / SNAPSHOT_NAME
            write_bytes_atomic(path, data)
        except Exception:
            logger.exception("incident %s: snapshot could not be written under %s", event.incident_id, self.data_dir)
            return
        state.snapshot = f"{EVIDENCE_DIR}/{event.incident_id}/{SNAPSHOT_NAME}"

    def _start_clip(self, incident_id: str, state: _Incident) -> None:
        """Choose the clip's frames buffered so far (thinned, leaving room for those still to come) and start it."""
        buffer = self._buffers.get(state.camera_id)
        fps = buffer.fps() if buffer is not None else 2.0
        try:
            path = self._incident_dir(incident_id) / CLIP_NAME
        except Exception:
            self._clip_failed(incident_id, state)
            return
        job = ClipJob(path, state.clip_t1, fps, functools.partial(self._render_clip_frame, state))
        frames = buffer.between(state.clip_t0, state.clip_t1) if buffer is not None else []
        if frames and frames[0].ts > state.onset_ts:
            logger.warning("incident %s: the clip starts %.1f s after the onset (the buffer of camera %s holds no "
                           "earlier frame)", incident_id, frames[0].ts - state.onset_ts, state.camera_id)
        last_ts = frames[-1].ts if frames else state.alert_ts
        to_come = max(0, math.ceil((state.clip_t1 - last_ts) * fps) - 1)
        keep = [(state.onset_ts - self.pre_s, state.onset_ts + self.post_s),
                (state.alert_ts - self.pre_s, state.alert_ts + self.post_s)]
        job.take(thin_clip(frames, keep, max(1, self.clip_max_frames - to_come)))
        state.clip_job = job

    def _render_clip_frame(self, state: _Incident, item: BufferedFrame, size: tuple[int, int]) -> np.ndarray:
        image, observation = item.decode(), item.observation
        if (image.shape[1], image.shape[0]) != size:
            # The camera changed resolution mid-clip. Resized before masking, so the mask stays aligned to the
            # codec blocks; the observation's pixel boxes no longer fit, the face detector still runs.
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            observation = None
        return even_size(self._render(image, observation, state.last_event, item.wall_time,
                                      item.ts - state.onset_ts))

    def _finish_clip(self, incident_id: str, state: _Incident) -> bool:
        """Render the rest of the clip and write it; True when it was written. One attempt, never retried."""
        job, state.clip_job = state.clip_job, None
        if job is None:
            return False
        if not job.frames:
            logger.warning("incident %s: no buffered frames of camera %s in [%.2f, %.2f): no clip", incident_id,
                           state.camera_id, state.clip_t0, state.clip_t1)
            return False
        try:
            job.finish()
        except Exception:
            self._clip_failed(incident_id, state)
            return False
        state.clip = f"{EVIDENCE_DIR}/{incident_id}/{CLIP_NAME}"
        return True

    def _clip_failed(self, incident_id: str, state: _Incident) -> None:
        logger.exception("incident %s: clip could not be written under %s", incident_id, self.data_dir)
        if state.clip_job is not None:
            state.clip_job.abort()
        state.clip_job = None
