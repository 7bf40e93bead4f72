"""CameraReader against sources that misbehave: corrupt frames, stalls, exceptions, failed connections."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import pairwise

import cv2
import numpy as np
import pytest

from cameras import (
    CameraHealth,
    CameraReader,
    CameraState,
    EndOfStream,
    FrameSource,
    SourceError,
    SourceStalled,
)
from tests.cameras.conftest import StateLog
from tests.support.scripted_source import BLOCK, FakeClock, ScriptedSource
from tests.support.video import decode_number, numbered_image
from tests.support.waiting import Drain, wait_until

MakeReader = Callable[..., CameraReader]


def frames(*numbers: int) -> list[np.ndarray]:
    return [numbered_image(n) for n in numbers]


def sources(*items: FrameSource) -> Callable[[], FrameSource]:
    """A factory handing out the given sources, then endless working ones (a camera that came back)."""
    queue: Iterator[FrameSource] = iter(items)

    def factory() -> FrameSource:
        return next(queue, None) or ScriptedSource(frames(*range(1000)), period_s=0.01)

    return factory


@pytest.fixture
def released() -> Iterator[list[ScriptedSource]]:
    """Blocking sources registered here are released at teardown, so their threads end."""
    blocking: list[ScriptedSource] = []
    yield blocking
    for source in blocking:
        source.release.set()


def test_corrupt_and_missing_frames_are_counted_and_skipped(make_reader: MakeReader) -> None:
    gray = cv2.cvtColor(numbered_image(5), cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(numbered_image(6), cv2.COLOR_BGR2BGRA)
    script = [
        numbered_image(0), None, numbered_image(1), None, None, numbered_image(2),
        np.zeros((0, 0, 3), np.uint8),  # empty
        numbered_image(3),
        np.zeros((12, 16), np.float32),  # wrong dtype
        "not an image",
        numbered_image(4), gray, bgra,
        np.zeros((4, 4, 2), np.uint8),  # two channels
    ]
    source = ScriptedSource(script, realtime=False, ts_step_s=0.04, end=EndOfStream("end of script", final=True))
    reader = make_reader(sources(source), corrupt_run_limit=3)
    with Drain(reader) as drain:
        reader.start()
        wait_until(lambda: reader.finished, 5, "the end of the script")
    assert [decode_number(f.image) for f in drain.snapshot()] == [0, 1, 2, 3, 4, 5, 6]
    assert all(f.image.shape == numbered_image(0).shape for f in drain.snapshot())
    health = reader.health()
    assert (health.frames_read, health.frames_corrupt, health.frames_dropped) == (7, 7, 0)
    assert (health.state, health.reason, health.reconnects) == (CameraState.OFFLINE, "end of script", 0)
    assert source.closed == 1


def test_a_run_of_corrupt_frames_triggers_a_reconnect(make_reader: MakeReader) -> None:
    broken = ScriptedSource([numbered_image(0), None, None, None, None, numbered_image(1)])
    log = StateLog()
    reader = make_reader(sources(broken), corrupt_run_limit=4, on_state_change=log)
    reader.start()
    wait_until(lambda: ("offline", "4 corrupt or missing frames in a row") in log.states(), 5, "reconnect")
    wait_until(lambda: log.states()[-1][0] == "online" and reader.health().reconnects == 1, 5, "online again")
    assert reader.health().frames_corrupt == 4
    assert broken.closed == 1
    assert broken.reads == 5  # the frame after the run was never read: the source was dropped


def test_a_silent_source_is_marked_stalled_and_replaced(make_reader: MakeReader, released: list) -> None:
    silent = ScriptedSource([numbered_image(0), numbered_image(1), BLOCK])
    released.append(silent)
    log = StateLog()
    reader = make_reader(sources(silent), stall_timeout_s=0.5, on_state_change=log)
    started = time.monotonic()
    reader.start()
    wait_until(silent.blocked.is_set, 5, "the source to block")
    wait_until(lambda: any(s == "stalled" for s, _ in log.states()), 5, "stalled")
    assert time.monotonic() - started < 3
    stalled_reason = next(r for s, r in log.states() if s == "stalled")
    assert stalled_reason.startswith("no frame for") and "stall timeout 0.5 s" in stalled_reason
    wait_until(lambda: reader.health().state is CameraState.ONLINE and reader.health().reconnects == 1, 5,
               "the replacement online")
    assert [s for s, _ in log.states()] == ["starting", "online", "stalled", "online"]
    # The blocked source is never closed under its own feet, only by its thread once the read returns.
    assert silent.closed == 0
    silent.release.set()
    wait_until(lambda: silent.closed == 1, 5, "the abandoned source closed")
    assert reader.get(timeout=2) is not None


def test_a_source_that_never_finishes_opening_is_stalled(make_reader: MakeReader, released: list) -> None:
    hanging = ScriptedSource([], open_blocks=True)
    released.append(hanging)
    reader = make_reader(sources(hanging), stall_timeout_s=0.4)
    reader.start()
    wait_until(lambda: reader.health().state is CameraState.STALLED, 5, "stalled while opening")
    assert reader.health().reason.startswith("source did not open within")
    wait_until(lambda: reader.health().state is CameraState.ONLINE, 5, "the replacement online")


def test_a_source_with_its_own_open_timeout_gets_that_long_to_open(
    make_reader: MakeReader, released: list
) -> None:
    slow = ScriptedSource([], open_blocks=True, open_timeout_s=1.0)
    released.append(slow)
    reader = make_reader(sources(slow), stall_timeout_s=0.3)
    started = time.monotonic()
    reader.start()
    time.sleep(0.8)  # past the stall timeout, within the source's open timeout + stall timeout
    assert reader.health().state is CameraState.STARTING
    wait_until(lambda: reader.health().state is CameraState.STALLED, 5, "stalled while opening")
    assert time.monotonic() - started >= 1.25
    assert reader.health().reason.startswith("source did not open within 1.3")


def test_stall_detection_uses_the_injected_clock(make_reader: MakeReader, released: list) -> None:
    clock = FakeClock()
    silent = ScriptedSource([numbered_image(0), BLOCK])
    released.append(silent)
    reader = make_reader(sources(silent), stall_timeout_s=60.0, clock=clock)
    reader.start()
    wait_until(silent.blocked.is_set, 5, "the source to block")
    wait_until(lambda: reader.health().state is CameraState.ONLINE, 5, "online")
    time.sleep(0.3)  # real time passes, the reader's clock does not: no stall
    assert reader.health().state is CameraState.ONLINE
    assert reader.health().last_frame_age_s == 0.0
    clock.advance(61.0)
    assert reader.health().last_frame_age_s == pytest.approx(61.0)
    wait_until(lambda: reader.health().state is not CameraState.ONLINE, 2, "stalled")
    assert reader.health().state is CameraState.STALLED
    assert reader.health().reason.startswith("no frame for 61.0 s")


def test_a_source_reporting_its_own_read_timeout_is_stalled(make_reader: MakeReader) -> None:
    timed_out = ScriptedSource([numbered_image(0), SourceStalled("no data from the camera for 5 s")])
    log = StateLog()
    reader = make_reader(sources(timed_out), on_state_change=log)
    reader.start()
    wait_until(lambda: ("stalled", "no data from the camera for 5 s") in log.states(), 5, "stalled")
    wait_until(lambda: reader.health().state is CameraState.ONLINE and reader.health().reconnects == 1, 5,
               "online again")


class _NotASource:
    pass


def test_no_exception_escapes_from_factory_source_or_callback(
    make_reader: MakeReader, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[Callable[[], object]] = [
        lambda: (_ for _ in ()).throw(RuntimeError("factory broke")),
        lambda: _NotASource(),
        lambda: ScriptedSource([], open_error=OSError("device busy")),
        lambda: ScriptedSource([numbered_image(0), ZeroDivisionError("decoder bug")]),
        lambda: ScriptedSource([numbered_image(0)], close_error=RuntimeError("close failed")),
        lambda: ScriptedSource([numbered_image(0), KeyError("timestamp")]),
    ]
    calls = iter(failures)

    def factory() -> FrameSource:
        make = next(calls, None)
        return make() if make else ScriptedSource(frames(*range(1000)), period_s=0.01)  # type: ignore[return-value]

    log = StateLog()

    def angry_callback(health: object) -> None:
        log(health)  # type: ignore[arg-type]
        raise RuntimeError("callback broke")

    caplog.set_level(logging.DEBUG, logger="counterwatch.cameras")
    reader = make_reader(factory, on_state_change=angry_callback, backoff_initial_s=0.01, backoff_max_s=0.02)
    reader.start()
    wait_until(lambda: reader.health().reconnects >= 6 and reader.health().state is CameraState.ONLINE, 10,
               "online after every failure")
    reasons = [r for s, r in log.states() if s == "offline"]
    assert "RuntimeError: factory broke" in reasons[0]
    assert any("TypeError: source_factory returned _NotASource" in r for r in reasons)
    assert any("OSError: device busy" in r for r in reasons)
    assert any("ZeroDivisionError: decoder bug" in r for r in reasons)
    assert any("KeyError" in r for r in reasons)
    messages = [r.getMessage() for r in caplog.records if r.name == "counterwatch.cameras"]
    assert any("on_state_change callback failed" in m for m in messages)
    assert any("error while closing its source" in m for m in messages)
    assert reader.get(timeout=2) is not None


def test_state_change_callback_may_call_back_into_the_reader(make_reader: MakeReader) -> None:
    seen: list[tuple[str, str, int]] = []
    holder: list[CameraReader] = []

    def callback(health: CameraHealth) -> None:
        reader = holder[0]
        seen.append((health.state.value, health.reason, reader.health().frames_read))
        if health.state is CameraState.OFFLINE:
            reader.stop()  # from the reader's own thread: must neither deadlock nor raise

    source = ScriptedSource(frames(0, 1, 2), period_s=0.01, end=EndOfStream("end of file", final=True))
    reader = make_reader(sources(source), on_state_change=callback)
    holder.append(reader)
    reader.start()
    wait_until(lambda: reader.health().state is CameraState.STOPPED, 5, "stopped from the callback")
    assert [(s, r) for s, r, _ in seen] == [
        ("starting", "connecting"), ("online", ""), ("offline", "end of file"), ("stopped", "stopped")]
    assert seen[2][2] == 3


def test_reconnect_delays_grow_exponentially_and_cap(make_reader: MakeReader) -> None:
    attempts: list[float] = []

    def unreachable() -> FrameSource:
        attempts.append(time.monotonic())
        raise SourceError("connection refused")

    reader = make_reader(unreachable, backoff_initial_s=0.05, backoff_max_s=0.4, backoff_jitter=0.0)
    reader.start()
    wait_until(lambda: len(attempts) >= 8, 10, "eight attempts")
    reader.stop()
    gaps = [b - a for a, b in pairwise(attempts)][:7]
    expected = [0.05, 0.1, 0.2, 0.4, 0.4, 0.4, 0.4]
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay - 0.005 <= gap <= delay + 0.15, (gaps, expected)
    assert gaps[3] > 1.5 * gaps[1]
    health = reader.health()
    assert health.reconnects == len(attempts) - 1
    assert health.reason == "stopped" and health.state is CameraState.STOPPED


def test_backoff_starts_over_after_a_connection_that_delivered_frames(make_reader: MakeReader) -> None:
    attempts: list[float] = []
    plan = iter(["fail"] * 4 + ["good"] + ["fail"] * 10)

    def factory() -> FrameSource:
        attempts.append(time.monotonic())
        if next(plan, "fail") == "good":
            return ScriptedSource([numbered_image(0)], end=SourceError("connection lost"))
        raise SourceError("connection refused")

    reader = make_reader(factory, backoff_initial_s=0.05, backoff_max_s=1.0, backoff_jitter=0.0)
    reader.start()
    wait_until(lambda: len(attempts) >= 7, 10, "seven attempts")
    gaps = [b - a for a, b in pairwise(attempts)]
    assert gaps[3] >= 0.4  # 0.05, 0.1, 0.2, 0.4: growing
    assert gaps[4] < 0.25  # after the good connection: back to 0.05 (+ the session's own time)
    assert gaps[5] < gaps[3]


def test_stop_is_bounded_even_when_the_source_never_returns(make_reader: MakeReader, released: list) -> None:
    stuck = ScriptedSource([numbered_image(0), BLOCK])
    released.append(stuck)
    reader = make_reader(sources(stuck), stop_timeout_s=0.5)
    reader.start()
    wait_until(stuck.blocked.is_set, 5, "the source to block")
    started = time.monotonic()
    assert reader.stop() is False  # reported: a thread is still inside the source
    assert time.monotonic() - started < 1.5
    assert reader.health().state is CameraState.STOPPED
    assert reader.get(timeout=1) is None  # at once: a stopped reader has nothing more to give
    stuck.release.set()
    wait_until(lambda: stuck.closed == 1, 5, "the source closed by its own thread")


def test_stop_releases_an_offline_reader_waiting_for_its_consumer(make_reader: MakeReader) -> None:
    source = ScriptedSource(frames(*range(100)), realtime=False, ts_step_s=0.04)
    reader = make_reader(sources(source))
    with reader:
        wait_until(lambda: reader.health().frames_read >= 2, 5, "frames")
        time.sleep(0.2)
        assert reader.health().frames_read == 2  # one handed over, one waiting: back-pressure, no dropping
        assert reader.health().state is CameraState.ONLINE  # waiting for the consumer is not a stall
    assert source.closed == 1
    assert reader.health().state is CameraState.STOPPED
    with pytest.raises(RuntimeError, match="cannot be started again"):
        reader.start()


def test_health_and_get_before_and_after_frames(make_reader: MakeReader) -> None:
    release = threading.Event()
    source = ScriptedSource(frames(*range(100)), open_blocks=True, release=release, period_s=0.02)
    reader = make_reader(sources(source))
    health = reader.health()
    assert (health.state, health.reason, health.last_frame_wall_time, health.last_frame_age_s) == (
        CameraState.STARTING, "not started", None, None)
    reader.start()
    started = time.monotonic()
    assert reader.get(timeout=0.2) is None
    assert 0.15 <= time.monotonic() - started < 1.0
    assert reader.health().state is CameraState.STARTING
    before = datetime.now(UTC)
    release.set()
    frame = reader.get(timeout=5)
    assert frame is not None and frame.camera_id == "cam-1"
    health = reader.health()
    assert health.state is CameraState.ONLINE
    assert health.last_frame_wall_time is not None and health.last_frame_wall_time >= before
    assert health.last_frame_age_s is not None and health.last_frame_age_s < 1.0


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"camera_id": ""}, "camera_id"),
        ({"rotation": 45}, "rotation"),
        ({"rotation": True}, "rotation"),
        ({"analysis_fps": 0}, "analysis_fps"),
        ({"stall_timeout_s": -1}, "stall_timeout_s"),
        ({"backoff_initial_s": 0}, "backoff_initial_s"),
        ({"backoff_initial_s": 2.0, "backoff_max_s": 1.0}, "backoff_max_s"),
        ({"backoff_jitter": 1.5}, "backoff_jitter"),
        ({"corrupt_run_limit": 0}, "corrupt_run_limit"),
        ({"stop_timeout_s": float("nan")}, "stop_timeout_s"),
        ({"on_state_change": "print"}, "on_state_change"),
    ],
)
def test_constructor_arguments_are_checked_eagerly(options: dict, name: str) -> None:
    settings = {"analysis_fps": 2.0, "stall_timeout_s": 5.0, "backoff_initial_s": 0.1, "backoff_max_s": 1.0}
    camera_id = options.pop("camera_id", "cam-1")
    with pytest.raises(ValueError, match=name):
        CameraReader(camera_id, sources(), **{**settings, **options})


def test_source_factory_must_be_callable() -> None:
    with pytest.raises(ValueError, match="source_factory"):
        CameraReader("cam-1", "rtsp://x", analysis_fps=2, stall_timeout_s=5, backoff_initial_s=0.1,  # type: ignore
                     backoff_max_s=1)


def test_get_rejects_a_negative_timeout(make_reader: MakeReader) -> None:
    with pytest.raises(ValueError, match="timeout"):
        make_reader(sources()).get(timeout=-1)
