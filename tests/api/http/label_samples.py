"""Seeding the labelling queue as the runner does: a real JPEG written under DATA_DIR/samples/<camera>/<window>/,
then record_label_sample. Used by the HTTP tests, the access matrix and the dashboard tests."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from monitor_api.storage import Database
from monitor_api.storage.labelling import Score, record_label_sample


@dataclass(frozen=True)
class Sample:
    """A LabelSampleLike: what the runner sends for one stored frame."""

    camera_id: str
    window_id: str
    captured_at: datetime
    path: str
    scores: tuple[Score, ...]
    uncertainty: float


def render_jpeg(shade: int) -> bytes:
    """A small, real JPEG (a grey frame with a bright block), distinct per shade."""
    image = np.full((120, 160, 3), shade, dtype=np.uint8)
    cv2.rectangle(image, (40, 30), (120, 90), (255 - shade, 200, 60), thickness=-1)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def seed_sample(database: Database, data_dir: Path, hall_id: str, camera_id: str, window_id: str,
                captured_at: datetime, uncertainty: float, *, shade: int = 90,
                scores: tuple[Score, ...] = (("phone_use", 0.48, 0.5), ("sleeping", 0.1, 0.6))) -> tuple[int, bytes]:
    """Write the frame and queue it; (sample id, the JPEG's bytes)."""
    relative = f"samples/{camera_id}/{window_id}/{captured_at:%Y%m%dT%H%M%S%fZ}.jpg"
    body = render_jpeg(shade)
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    sample = Sample(camera_id, window_id, captured_at, relative, scores, uncertainty)
    with database.write() as session:
        return record_label_sample(session, hall_id, sample).id, body
