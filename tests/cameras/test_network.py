"""CameraReader on real network streams on loopback: GStreamer's RTSP server and HTTP servers."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from cameras import CameraReader, CameraState, FrameSource, open_source
from tests.cameras.conftest import StateLog
from tests.support.servers import FileHttpServer, MjpegHttpServer, RtspServer, free_port
from tests.support.video import HEIGHT, WIDTH, decode_number, write_numbered_video
from tests.support.waiting import Drain, wait_until

MakeReader = Callable[..., CameraReader]

# The source's own timeouts are below the stall timeout, so that the source reports first (see cameras.reader).
OPEN_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 2.0
STALL_TIMEOUT_S = 5.0


def stream(url: str) -> Callable[[], FrameSource]:
    def factory() -> FrameSource:
        return open_source(url, loop=False, pace="realtime", open_timeout_s=OPEN_TIMEOUT_S,
                           read_timeout_s=READ_TIMEOUT_S)

    return factory


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    server = RtspServer(free_port())
    server.start()
    yield server
    server.kill()


def online_with_frames(reader: CameraReader, drain: Drain, more_than: int) -> Callable[[], bool]:
    return lambda: reader.health().state is CameraState.ONLINE and drain.count() > more_than


def test_rtsp_camera_killed_and_restarted_is_reconnected(make_reader: MakeReader, rtsp_server: RtspServer) -> None:
    log = StateLog()
    reader = make_reader(stream(rtsp_server.url), analysis_fps=5.0, stall_timeout_s=STALL_TIMEOUT_S,
                         backoff_initial_s=0.2, backoff_max_s=1.0, on_state_change=log)
    with reader, Drain(reader) as drain:
        wait_until(online_with_frames(reader, drain, 3), 15, "RTSP frames")
        first = drain.snapshot()
        assert all(f.image.shape == (rtsp_server.height, rtsp_server.width, 3) for f in first)
        assert all(b.ts > a.ts for a, b in pairwise(first))

        rtsp_server.kill()
        wait_until(lambda: reader.health().state in (CameraState.OFFLINE, CameraState.STALLED), 10,
                   "the camera to go down")
        down = reader.health()
        assert down.reason
        wait_until(lambda: reader.health().reconnects >= 1, 5, "reconnect attempts")
        assert reader.health().state is not CameraState.ONLINE
        seen = drain.count()

        rtsp_server.start()
        wait_until(online_with_frames(reader, drain, seen + 3), 20, "frames after the restart")
        assert reader.health().reconnects >= 1
    states = [s for s, _ in log.states()]
    assert states[:2] == ["starting", "online"] and states[-1] == "stopped"
    assert states.index("online", 2) > 2  # online again after going down
    frames = drain.snapshot()
    assert all(b.ts > a.ts for a, b in pairwise(frames))


def test_rtsp_camera_that_hangs_with_the_socket_open_is_stalled(
    make_reader: MakeReader, rtsp_server: RtspServer
) -> None:
    log = StateLog()
    reader = make_reader(stream(rtsp_server.url), analysis_fps=5.0, stall_timeout_s=STALL_TIMEOUT_S,
                         backoff_initial_s=0.2, backoff_max_s=1.0, on_state_change=log)
    with reader, Drain(reader) as drain:
        wait_until(online_with_frames(reader, drain, 2), 15, "RTSP frames")
        rtsp_server.freeze()
        try:
            wait_until(lambda: reader.health().state is CameraState.STALLED, 12, "stalled")
            reason = reader.health().reason
            assert reason.startswith(f"no data from stream {rtsp_server.url}") and "read timeout" in reason
        finally:
            rtsp_server.thaw()
        seen = drain.count()
        wait_until(online_with_frames(reader, drain, seen + 2), 20, "frames after the camera woke up")
        assert reader.health().reconnects >= 1


def test_unreachable_rtsp_camera_is_offline_with_a_reason(make_reader: MakeReader) -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/cam"  # nobody listens there
    reader = make_reader(stream(url), backoff_initial_s=0.05, backoff_max_s=0.2)
    reader.start()
    wait_until(lambda: reader.health().reconnects >= 2, 10, "retries")
    health = reader.health()
    assert health.state is CameraState.OFFLINE
    assert health.reason.startswith(f"cannot open stream {url}")
    assert health.frames_read == 0
    assert reader.get(timeout=0.1) is None
    assert reader.stop()


def test_missing_usb_camera_is_offline_with_a_reason(make_reader: MakeReader) -> None:
    reader = make_reader(stream("usb:63"))
    reader.start()
    wait_until(lambda: reader.health().reconnects >= 1, 10, "retries")
    assert reader.health().state is CameraState.OFFLINE
    assert reader.health().reason.startswith("cannot open usb camera 63")
    assert reader.stop()


def test_http_mjpeg_camera(make_reader: MakeReader) -> None:
    with MjpegHttpServer(fps=20.0) as server:
        reader = make_reader(stream(server.url), analysis_fps=5.0)
        with reader, Drain(reader) as drain:
            wait_until(lambda: drain.count() >= 5, 10, "HTTP MJPEG frames")
        numbers = [decode_number(f.image) for f in drain.snapshot()]
        assert numbers == sorted(set(numbers)), numbers
        assert numbers[-1] - numbers[0] >= 3 * (len(numbers) - 1)  # 20 fps sampled at 5 fps: about every 4th


def test_video_file_served_over_http(make_reader: MakeReader, tmp_path: Path) -> None:
    write_numbered_video(tmp_path / "clip.avi", frames=50, fps=25)
    with FileHttpServer(tmp_path) as server:
        reader = make_reader(stream(server.url("clip.avi")), analysis_fps=1000.0)
        with reader, Drain(reader) as drain:
            # A network stream that ends is not final: the reader reconnects and reads it again.
            wait_until(lambda: reader.health().frames_read >= 100 and drain.count() >= 2, 10, "two passes")
            assert reader.health().reconnects >= 1
        frames = drain.snapshot()
        assert all(f.image.shape == (HEIGHT, WIDTH, 3) for f in frames)
        assert all(0 <= decode_number(f.image) < 50 for f in frames)
