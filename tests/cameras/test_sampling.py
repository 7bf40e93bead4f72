"""Sampling by stream time, backoff delays and rotation: the reader's pure policies."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cameras import Backoff, StreamTimeSampler, rotate
from cameras.timeline import Timeline


def sampled(fps: float, timestamps: list[float]) -> list[int]:
    sampler = StreamTimeSampler(fps)
    return [i for i, ts in enumerate(timestamps) if sampler.due(ts)]


def test_25_fps_stream_sampled_at_2_fps_gives_one_frame_per_half_second() -> None:
    timestamps = [i * 40 / 1000 for i in range(100)]  # as a file reports them: milliseconds / 1000
    assert sampled(2.0, timestamps) == [0, 13, 25, 38, 50, 63, 75, 88]


def test_sampling_at_the_stream_rate_keeps_every_frame() -> None:
    timestamps = [i * 40 / 1000 for i in range(50)]
    assert sampled(25.0, timestamps) == list(range(50))


def test_a_gap_in_the_stream_is_not_caught_up() -> None:
    # 1 fps; frames every 0.1 s with a hole from 1.05 to 4.0 s: one frame after the gap, then the grid again.
    timestamps = [0.0, 0.5, 1.0, 1.05, 4.0, 4.1, 4.5, 5.0, 5.2]
    assert sampled(1.0, timestamps) == [0, 2, 4, 7]


def test_sampling_grid_starts_at_the_first_frame() -> None:
    timestamps = [10.3, 10.4, 10.8, 10.9]
    assert sampled(2.0, timestamps) == [0, 2]


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf"), "2", True])
def test_sampler_rejects_bad_fps(fps: object) -> None:
    with pytest.raises(ValueError, match="fps"):
        StreamTimeSampler(fps)  # type: ignore[arg-type]


def test_backoff_grows_exponentially_and_caps() -> None:
    backoff = Backoff(0.1, 1.0, jitter=0.0)
    delays = [backoff.next_delay() for _ in range(7)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(0.1)


def test_backoff_jitter_only_shortens_and_keeps_growth() -> None:
    backoff = Backoff(0.1, 1.6, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(200)]
    bases = [0.1, 0.2, 0.4, 0.8] + [1.6] * 196
    for delay, base in zip(delays, bases, strict=True):
        assert base * 0.8 <= delay <= base
    assert delays[:5] == sorted(delays[:5])
    assert len({round(d, 9) for d in delays[4:]}) > 100  # it really jitters
    assert max(delays) <= 1.6


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"initial_s": 0, "max_s": 1}, "initial_s"),
        ({"initial_s": 1, "max_s": float("inf")}, "max_s"),
        ({"initial_s": 2, "max_s": 1}, "max_s"),
        ({"initial_s": 1, "max_s": 2, "jitter": 1.0}, "jitter"),
        ({"initial_s": 1, "max_s": 2, "factor": 0.5}, "factor"),
    ],
)
def test_backoff_rejects_bad_arguments(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Backoff(**kwargs)


def test_rotate_turns_clockwise() -> None:
    image = np.zeros((2, 3, 3), np.uint8)
    image[0, 0] = 255  # top-left
    assert rotate(image, 0) is image
    assert rotate(image, 90)[0, 1].tolist() == [255, 255, 255]  # top-right of a 3x2 image
    assert rotate(image, 180)[1, 2].tolist() == [255, 255, 255]
    assert rotate(image, 270)[2, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="rotation"):
        rotate(image, 45)


def test_timeline_keeps_ts_monotonic_across_a_restarted_source_clock() -> None:
    timeline = Timeline()
    wall = datetime(2025, 1, 1, tzinfo=UTC)
    assert timeline.place(1, 0.0, clock_now=100.0, wall_now=wall, realtime=True) == (0.0, wall)
    assert timeline.place(1, 0.5, clock_now=100.5, wall_now=wall, realtime=True)[0] == 0.5
    # Reconnected 2 s later to a file that starts again at 0: continues after 0.5, by the time that passed.
    assert timeline.place(2, 0.0, clock_now=102.5, wall_now=wall, realtime=True)[0] == pytest.approx(2.5)
    assert timeline.place(2, 0.04, clock_now=102.54, wall_now=wall, realtime=True)[0] == pytest.approx(2.54)
    # A source clock that steps back mid-session is pushed forward, never repeated.
    assert timeline.place(2, 0.01, clock_now=102.6, wall_now=wall, realtime=True)[0] > 2.54
    # A live source (monotonic clock, ahead of the last ts) is not shifted.
    assert timeline.place(3, 5000.0, clock_now=103.0, wall_now=wall, realtime=True)[0] == 5000.0


def test_timeline_spaces_offline_wall_times_like_the_video() -> None:
    timeline = Timeline()
    start = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    decoded_at = [start, start + timedelta(milliseconds=1), start + timedelta(milliseconds=2)]
    walls = [timeline.place(1, ts, clock_now=0.0, wall_now=w, realtime=False)[1]
             for ts, w in zip([0.0, 0.5, 1.0], decoded_at, strict=True)]
    assert walls == [start, start + timedelta(seconds=0.5), start + timedelta(seconds=1.0)]


def test_would_take_answers_like_due_without_changing_the_sampler() -> None:
    timestamps = [i * 40 / 1000 for i in range(100)] + [9.0, 9.01, 9.5]  # with a gap
    asking = StreamTimeSampler(2.0)
    plain = StreamTimeSampler(2.0)
    for ts in timestamps:
        answers = {asking.would_take(ts) for _ in range(3)}  # asking repeatedly changes nothing
        assert answers == {plain.due(ts)}
        assert asking.due(ts) in answers
    untouched = StreamTimeSampler(2.0)
    assert untouched.would_take(5.0) and untouched.would_take(0.0)  # before the first frame: any frame is taken
    assert untouched.due(0.0) and not untouched.would_take(0.48) and untouched.would_take(0.5)


def test_a_frame_never_passed_to_due_leaves_its_tick_to_the_next_one() -> None:
    sampler = StreamTimeSampler(2.0)
    assert sampler.due(0.0)
    assert sampler.would_take(0.52)  # taken if usable; it is not (corrupt): due() is not called for it
    assert sampler.due(0.56)
    assert not sampler.would_take(0.96)
    assert sampler.would_take(1.0)


def test_timeline_peek_gives_the_ts_place_will_give_and_changes_nothing() -> None:
    wall = datetime(2025, 1, 1, tzinfo=UTC)
    peeked, placed = Timeline(), Timeline()
    steps = [(1, 0.0, 100.0), (1, 0.5, 100.5), (1, 0.4, 100.6), (2, 0.0, 102.5), (2, 0.04, 102.54),
             (3, 5000.0, 103.0)]
    for session, source_ts, clock_now in steps:
        peeked.peek(99, 0.0, clock_now=clock_now + 7.0)  # peeks that are never placed leave no trace
        ts = peeked.peek(session, source_ts, clock_now=clock_now)
        assert placed.place(session, source_ts, clock_now=clock_now, wall_now=wall, realtime=True)[0] == ts
        assert peeked.place(session, source_ts, clock_now=clock_now, wall_now=wall, realtime=True)[0] == ts
    assert peeked.peek(2, 0.0, clock_now=104.0) == pytest.approx(5001.0)  # a session restart shifts the clock
