"""EvidenceRecorder: the snapshot and clip written for each incident, privacy-masked before anything is encoded.

Fed every analysed frame (`add_frame`) and every IncidentEvent (`on_event`), per camera:

- opened: the snapshot is written at once from the frame of the event (annotated with what perception saw, then
  masked), as `evidence/<incident_id>/snapshot.jpg` under the data directory; the clip is scheduled for the
  window [event ts - pre_s, event ts + post_s) and written as `evidence/<incident_id>/clip.mp4` once a frame at or
  past its end has arrived (so a clip is pre_s + post_s long at the analysis fps: 20 frames at 2 fps by default).
- updated: when the peak confidence has risen by at least `snapshot_peak_gain` since the snapshot was taken, the
  snapshot is replaced by the frame of this event (a more telling one).
- closed: a clip still pending is written at once with the frames there are (the behaviour has ended).
- `flush()` (shutdown, a camera that stopped) writes every pending clip with the frames there are.

Every returned event carries the Evidence written so far (paths relative to the data directory, POSIX style).
When a clip is finished by `add_frame` or `flush` while its incident is still open, they return an `updated`
event for it (the incident's last event with the clip added, at that frame's ts) so that the clip reaches storage
without waiting for the rules' next event; deliver those like any other event.

Writing never raises into the pipeline: a failure (disk full, read-only directory, an encoder error) is logged on
"counterwatch.incidents" and the evidence field stays None. Files are written atomically (media.atomic_path).

Not thread-safe: call it from one thread (the pipeline loop of the cameras it serves). Writing a clip blocks that
loop: measured 1.6 s for a 10 s clip of 1280x720 at 2 fps (20 frames: 1.2 s face detection and masking, 0.4 s
encoding, 2 CPU cores); a snapshot takes ~70 ms.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cameras.frame import Frame
from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent
from counterwatch.incidents.media import encode_snapshot, even_size, write_bytes_atomic, write_clip
from counterwatch.incidents.privacy import blur_boxes, fill_citizen_side, mask_frame, private_boxes
from counterwatch.incidents.ring_buffer import DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, FrameRingBuffer
from counterwatch.private_files import private_dir
from vision.annotate import annotate as draw_observation
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


@dataclass
class _Incident:
    """Evidence state of one live incident (internal, mutated only by the recorder)."""

    camera_id: str
    clip_t0: float
    clip_t1: float
    last_event: IncidentEvent
    snapshot: str | None = None
    snapshot_peak: float = 0.0
    clip: str | None = None
    clip_pending: bool = True

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
                 max_buffer_bytes: int = DEFAULT_MAX_BYTES) -> None:
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
        if not isinstance(annotate, bool):
            raise ValueError(f"EvidenceRecorder.annotate must be a bool, got {annotate!r}")
        self.data_dir = Path(data_dir)
        self.annotate = annotate
        self._regions = {camera_id: tuple(regions) for camera_id, regions in regions_by_camera.items()}
        self._detector = face_detector
        self._buffer_s = self.pre_s + self.post_s + _BUFFER_MARGIN_S
        self._buffer_caps = {"max_frames": max_buffer_frames, "max_bytes": max_buffer_bytes}
        FrameRingBuffer("check", self._buffer_s, **self._buffer_caps)  # validates the caps now, naming the field
        self._buffers: dict[str, FrameRingBuffer] = {}
        self._latest: dict[str, tuple[Frame, Observation | None]] = {}
        self._incidents: dict[str, _Incident] = {}
        self._unknown_cameras: set[str] = set()

    # ---- frames -------------------------------------------------------------------------------------------------

    def buffer(self, camera_id: str) -> FrameRingBuffer | None:
        return self._buffers.get(camera_id)

    def add_frame(self, frame: Frame, observation: Observation | None = None) -> tuple[IncidentEvent, ...]:
        """Buffer an analysed frame; returns `updated` events for open incidents whose clip it completed."""
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
            # The stream restarted and the buffer is about to be cleared: pending clips get what there is now.
            updates += self._write_due_clips(frame.camera_id, until_ts=math.inf, event_ts=buffer.last_ts)
        try:
            buffer.add(frame, observation)
        except Exception:  # a frame that cannot be encoded must not stop the pipeline
            logger.exception("camera %s: frame %d could not be buffered for evidence", frame.camera_id, frame.index)
        self._latest[frame.camera_id] = (frame, observation)
        updates += self._write_due_clips(frame.camera_id, until_ts=frame.ts, event_ts=frame.ts)
        return tuple(updates)

    def _write_due_clips(self, camera_id: str, *, until_ts: float, event_ts: float) -> list[IncidentEvent]:
        updates = []
        for incident_id, state in list(self._incidents.items()):
            if state.camera_id == camera_id and state.clip_pending and until_ts >= state.clip_t1:
                self._write_clip(incident_id, state)
                if state.clip is not None:
                    state.last_event = dataclasses.replace(state.last_event, kind=EventKind.UPDATED,
                                                           ts=max(event_ts, state.last_event.ts),
                                                           evidence=state.evidence)
                    updates.append(state.last_event)
        return updates

    # ---- events -------------------------------------------------------------------------------------------------

    def on_event(self, event: IncidentEvent) -> tuple[IncidentEvent, ...]:
        """The event with the evidence written so far; writes what the event calls for first. Never raises."""
        try:
            return (self._on_event(event),)
        except Exception:  # evidence must never take the pipeline down; the event still goes out
            logger.exception("incident %s: evidence failed", event.incident_id)
            self._incidents.pop(event.incident_id, None)
            return (dataclasses.replace(event, evidence=Evidence()),)

    def _on_event(self, event: IncidentEvent) -> IncidentEvent:
        if event.camera_id not in self._regions or not _SAFE_ID.fullmatch(event.incident_id):
            logger.error("incident %r of camera %s: no evidence (unknown camera or an id unfit for a file name)",
                         event.incident_id, event.camera_id)
            return dataclasses.replace(event, evidence=Evidence())
        state = self._incidents.get(event.incident_id)
        if state is None:
            # opened, or an incident this recorder first hears of later (e.g. after a restart): evidence from now.
            state = _Incident(event.camera_id, event.ts - self.pre_s, event.ts + self.post_s, event)
            self._incidents[event.incident_id] = state
            self._write_snapshot(event, state)
            buffer = self._buffers.get(event.camera_id)
            if buffer is not None and buffer.last_ts is not None and buffer.last_ts >= state.clip_t1:
                self._write_clip(event.incident_id, state)
        elif event.kind is not EventKind.CLOSED and self._peak_rose(event, state):
            self._write_snapshot(event, state)
        if event.kind is EventKind.CLOSED:
            if state.clip_pending:
                self._write_clip(event.incident_id, state)
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
            updates += self._write_due_clips(camera_id, until_ts=math.inf, event_ts=last_ts)
        return tuple(updates)

    def close(self) -> tuple[IncidentEvent, ...]:
        """Flush and forget everything (shutdown)."""
        updates = self.flush()
        self._incidents.clear()
        self._buffers.clear()
        self._latest.clear()
        return updates

    # ---- writing ------------------------------------------------------------------------------------------------

    def _incident_dir(self, incident_id: str) -> Path:
        return private_dir(self.data_dir / EVIDENCE_DIR / incident_id)

    def _snapshot_source(self, event: IncidentEvent) -> tuple[np.ndarray, Observation | None] | None:
        """The raw frame nearest the event: the last frame as received if it is the nearest, else from the buffer."""
        latest = self._latest.get(event.camera_id)
        buffer = self._buffers.get(event.camera_id)
        buffered = buffer.nearest(event.ts) if buffer is not None else None
        if latest is not None and (buffered is None or abs(latest[0].ts - event.ts) <= abs(buffered.ts - event.ts)):
            return latest[0].image, latest[1]
        if buffered is not None:
            return buffered.decode(), buffered.observation
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
            raw, observation = source
            regions = self._regions[event.camera_id]
            # Faces are found on the raw frame (drawn boxes can hide a face from the detector); the drawing goes on
            # the blurred frame so labels stay legible, and the mask goes on last so it covers the drawing too.
            image = blur_boxes(raw, private_boxes(raw, regions, self._detector, observation))
            if self.annotate and observation is not None:
                image = draw_observation(image, observation, regions)
            data = encode_snapshot(fill_citizen_side(image, regions))
            path = self._incident_dir(event.incident_id) / SNAPSHOT_NAME
            write_bytes_atomic(path, data)
        except Exception:
            logger.exception("incident %s: snapshot could not be written under %s", event.incident_id, self.data_dir)
            return
        state.snapshot = f"{EVIDENCE_DIR}/{event.incident_id}/{SNAPSHOT_NAME}"

    def _write_clip(self, incident_id: str, state: _Incident) -> None:
        state.clip_pending = False  # one attempt: a failing disk is not retried on every frame
        buffer = self._buffers.get(state.camera_id)
        frames = buffer.between(state.clip_t0, state.clip_t1) if buffer is not None else []
        if not frames:
            logger.warning("incident %s: no buffered frames of camera %s in [%.2f, %.2f): no clip", incident_id,
                           state.camera_id, state.clip_t0, state.clip_t1)
            return
        try:
            regions = self._regions[state.camera_id]
            width, height = frames[0].width, frames[0].height
            images = []
            for item in frames:
                image, observation = item.decode(), item.observation
                if image.shape[:2] != (height, width):
                    # The camera changed resolution mid-clip. Resized before masking, so the mask stays aligned to
                    # the codec blocks; the observation's pixel boxes no longer fit, the face detector still runs.
                    image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
                    observation = None
                images.append(even_size(mask_frame(image, regions, self._detector, observation)))
            path = self._incident_dir(incident_id) / CLIP_NAME
            write_clip(path, images, [item.ts for item in frames], buffer.fps())
        except Exception:
            logger.exception("incident %s: clip could not be written under %s", incident_id, self.data_dir)
            return
        state.clip = f"{EVIDENCE_DIR}/{incident_id}/{CLIP_NAME}"
