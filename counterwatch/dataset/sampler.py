"""Frames sampled during normal operation, as negatives: the rate control, and the store under DATA_DIR/samples/.

Most of the time nothing is wrong at a window; a model trained only on incident snapshots never sees that ordinary
time. The runner's FrameSampler (counterwatch.learning.sampling) stores masked frames with `store_sample` and queues
them for labelling; `counterwatch dataset export` picks the stored files up with `stored_samples`, taking the ones
nobody labelled through `sample_negative_frames` at its --negatives-per-hour rate.

Rate: at most one frame per window every 3600 / rate seconds of service time, taken from the first frame at or after
the next due time. Deterministic (a re-run over the same frames picks the same ones) and spread evenly over the day,
which a random draw per frame is not. Outside service hours nothing is taken: the empty counter after closing is not
the "normal operation" the heads must learn, and the calendar already says when the hall is open.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from counterwatch.dataset.sample_geometry import SampleGeometry, read_geometry, with_geometry
from counterwatch.incidents.media import encode_snapshot, write_bytes_atomic
from counterwatch.private_files import private_dir
from counterwatch.rules.schedule import HallCalendar

logger = logging.getLogger("counterwatch.dataset")

SAMPLES_DIR = "samples"
_STAMP = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class CandidateFrame:
    """A frame of one window's view, privacy-masked already, at an aware (UTC) time. `geometry`: where `image` was
    cut from the camera frame (the runner's samples); None for a whole camera frame."""

    camera_id: str
    window_id: str
    at: datetime
    image: np.ndarray
    geometry: SampleGeometry | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"CandidateFrame.at must be timezone-aware, got {self.at.isoformat()}")


def sample_negative_frames(frames_iter: Iterable[CandidateFrame], rate_per_hour: float,
                           calendar: HallCalendar) -> Iterator[CandidateFrame]:
    """The frames to keep as negatives: only while the window is open, at most `rate_per_hour` per window per hour.

    Frames must come in time order per window (as a camera delivers them).
    """
    if rate_per_hour <= 0:
        return
    interval = timedelta(seconds=3600.0 / rate_per_hour)
    next_due: dict[str, datetime] = {}
    for frame in frames_iter:
        if not calendar.is_open(frame.window_id, frame.at):
            continue
        due = next_due.get(frame.window_id)
        if due is not None and frame.at < due:
            continue
        next_due[frame.window_id] = frame.at + interval
        yield frame


def sample_path(data_dir: Path, frame: CandidateFrame) -> Path:
    stamp = frame.at.astimezone(UTC).strftime(_STAMP)
    return data_dir / SAMPLES_DIR / frame.camera_id / frame.window_id / f"{stamp}.jpg"


def store_sample(data_dir: Path, frame: CandidateFrame) -> Path:
    """Write a sampled (masked) frame where the export finds it: samples/<camera>/<window>/<UTC stamp>.jpg, with its
    geometry inside the file (sample_geometry.py) when it is a window's crop."""
    if frame.geometry is not None and frame.geometry.size != (frame.image.shape[1], frame.image.shape[0]):
        height, width = frame.image.shape[:2]
        raise ValueError(f"a {width}x{height} image is not the crop {frame.geometry.crop}")
    path = sample_path(data_dir, frame)
    private_dir(path.parent)
    data = encode_snapshot(frame.image)
    write_bytes_atomic(path, with_geometry(data, frame.geometry) if frame.geometry is not None else data)
    return path


@dataclass(frozen=True)
class StoredSample:
    camera_id: str
    window_id: str
    at: datetime
    path: Path

    def read(self) -> np.ndarray | None:
        return cv2.imread(str(self.path), cv2.IMREAD_COLOR)

    def geometry(self) -> SampleGeometry | None:
        """Where the image was cut from its camera frame; None for a whole frame (ValueError: unreadable)."""
        return read_geometry(self.path)


def stored_samples(data_dir: Path, since: datetime | None = None) -> tuple[StoredSample, ...]:
    """The frames under DATA_DIR/samples/ (none if the directory does not exist), oldest first."""
    root = data_dir / SAMPLES_DIR
    if not root.is_dir():
        return ()
    found = []
    for path in sorted(root.glob("*/*/*.jpg")):
        try:
            at = datetime.strptime(path.stem, _STAMP).replace(tzinfo=UTC)
        except ValueError:
            logger.warning("%s: not a sample name (<camera>/<window>/%s.jpg): skipped", path, _STAMP)
            continue
        if since is None or at >= since:
            found.append(StoredSample(path.parent.parent.name, path.parent.name, at, path))
    return tuple(sorted(found, key=lambda s: (s.at, s.camera_id, s.window_id)))
