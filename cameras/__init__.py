"""Camera ingestion: frame sources, a latest-frame reader per camera, health reporting.

This package knows nothing about vision or service windows: it turns a camera (file, RTSP, HTTP, USB) into a stream
of `Frame` values and a `CameraHealth` report.

    reader = CameraReader(
        "window-3",
        lambda: open_source(url, loop=False, pace="realtime", open_timeout_s=5, read_timeout_s=5),
        analysis_fps=2, stall_timeout_s=10, backoff_initial_s=0.5, backoff_max_s=30,
    )
    with reader:
        frame = reader.get(timeout=1.0)   # newest frame, or None
        reader.health()                   # CameraHealth(state=..., reason=..., counters)
"""
from cameras.base import EndOfStream, FrameSource, SourceError, SourceStalled
from cameras.file_source import PACES, VideoFileSource
from cameras.frame import Frame
from cameras.health import CameraHealth, CameraState
from cameras.images import ROTATIONS, rotate
from cameras.reader import CameraReader
from cameras.sampling import Backoff, StreamTimeSampler
from cameras.sources import open_source
from cameras.stream_sources import NetworkStreamSource, UsbDeviceSource

__all__ = [
    "PACES",
    "ROTATIONS",
    "Backoff",
    "CameraHealth",
    "CameraReader",
    "CameraState",
    "EndOfStream",
    "Frame",
    "FrameSource",
    "NetworkStreamSource",
    "SourceError",
    "SourceStalled",
    "StreamTimeSampler",
    "UsbDeviceSource",
    "VideoFileSource",
    "open_source",
    "rotate",
]
