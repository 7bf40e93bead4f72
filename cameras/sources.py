"""Frame sources and the factory that picks one from a configured camera address.

    open_source("rtsp://10.0.0.5/stream1", ...)   -> NetworkStreamSource (also rtsps://, http://, https://)
    open_source("usb:0", ...) or open_source(0, ...) -> UsbDeviceSource
    open_source("/data/window3.mp4", ...)          -> VideoFileSource (also a Path, or file:///...)

The factory builds a source without opening it: the reader opens it on its own thread, so an unreachable camera or
a missing file is reported in the camera's health (for a file: offline, "file not found: PATH") instead of raising
here. Only a malformed address (an unknown scheme, a negative device index) raises ValueError.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cameras._checks import positive_seconds
from cameras.base import EndOfStream, FrameSource, SourceError, SourceStalled
from cameras.file_source import PACES, VideoFileSource, check_pace
from cameras.stream_sources import NetworkStreamSource, UsbDeviceSource, redact_url

__all__ = [
    "PACES",
    "EndOfStream",
    "FrameSource",
    "NetworkStreamSource",
    "SourceError",
    "SourceStalled",
    "UsbDeviceSource",
    "VideoFileSource",
    "open_source",
]

NETWORK_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "http", "https")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USB = re.compile(r"^usb:(\d+)$", re.IGNORECASE)


def open_source(
    source: str | int | Path,
    *,
    loop: bool,
    pace: str,
    open_timeout_s: float,
    read_timeout_s: float,
    auto_orient: bool = True,
) -> FrameSource:
    """An unopened FrameSource for `source`, chosen by its form (see the module docstring).

    loop, pace: files only (restart at the end; "realtime" or "fast", see VideoFileSource).
    open_timeout_s, read_timeout_s: network streams only (FFmpeg's open and per-read timeouts).
    auto_orient: apply the container's rotation metadata (files and streams); a configured rotation is applied
        by the reader on top of it.
    """
    if not isinstance(loop, bool):
        raise ValueError(f"loop must be a bool, got {loop!r}")
    check_pace(pace)
    positive_seconds("open_timeout_s", open_timeout_s)
    positive_seconds("read_timeout_s", read_timeout_s)
    if isinstance(source, bool):
        raise ValueError(f"source must be a path, a URL, 'usb:N' or a device index, got {source!r}")
    if isinstance(source, int):
        if source < 0:
            raise ValueError(f"source: a USB device index must be >= 0, got {source}")
        return UsbDeviceSource(source)
    if isinstance(source, Path):
        return VideoFileSource(source, loop=loop, pace=pace, auto_orient=auto_orient)
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source must be a path, a URL, 'usb:N' or a device index, got {source!r}")
    text = source.strip()
    usb = _USB.match(text)
    if usb:
        return UsbDeviceSource(int(usb.group(1)))
    scheme = _SCHEME.match(text)
    if scheme is None:
        return VideoFileSource(Path(text), loop=loop, pace=pace, auto_orient=auto_orient)
    name = scheme.group(1).lower()
    if name in NETWORK_SCHEMES:
        return NetworkStreamSource(
            text, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s, auto_orient=auto_orient
        )
    if name == "file":
        return VideoFileSource(Path(unquote(urlsplit(text).path)), loop=loop, pace=pace, auto_orient=auto_orient)
    raise ValueError(
        f"source: unsupported scheme {name!r} in {redact_url(text)!r}; expected one of "
        f"{', '.join(NETWORK_SCHEMES)}, file, usb:N or a file path"
    )
