"""The negative-frame sampler: service hours only (the hall calendar), at most the configured rate per window."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np

from counterwatch.dataset import CandidateFrame, sample_negative_frames
from counterwatch.rules.schedule import HallCalendar
from tests.api.storage.helpers import hall_config

IMAGE = np.zeros((8, 8, 3), np.uint8)
MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Asia/Shanghai


def _frames(window: str, hours: float, every_s: float = 30.0):
    return [CandidateFrame("cam1", window, MONDAY + timedelta(seconds=i * every_s), IMAGE)
            for i in range(int(hours * 3600 / every_s))]


def test_only_service_hours_and_at_most_the_rate() -> None:
    calendar = HallCalendar(hall_config())
    frames = _frames("w01", 12.0)  # 08:00-20:00 local, a frame every 30 s
    open_frames = [f for f in frames if calendar.is_open("w01", f.at)]
    assert 0 < len(open_frames) < len(frames)  # the day has closed time at both ends and/or lunch
    picked = list(sample_negative_frames(frames, 6.0, calendar))
    assert all(calendar.is_open("w01", f.at) for f in picked)
    gaps = [(b.at - a.at).total_seconds() for a, b in pairwise(picked)]
    assert min(gaps) >= 600.0  # 6 per hour: never two within 10 minutes
    open_hours = len(open_frames) * 30.0 / 3600.0
    assert open_hours * 6 - 6 <= len(picked) <= open_hours * 6 + 6  # the rate is used, give or take a period edge


def test_rate_is_per_window_and_zero_takes_nothing() -> None:
    calendar = HallCalendar(hall_config())
    start = MONDAY + timedelta(hours=2)  # 10:00 local, open
    frames = sorted(_frames("w01", 1.0) + _frames("w02", 1.0), key=lambda f: f.at)
    frames = [CandidateFrame(f.camera_id, f.window_id, f.at + (start - MONDAY), f.image) for f in frames]
    picked = list(sample_negative_frames(frames, 2.0, calendar))
    assert sorted(f.window_id for f in picked) == ["w01", "w01", "w02", "w02"]
    assert list(sample_negative_frames(frames, 0.0, calendar)) == []
