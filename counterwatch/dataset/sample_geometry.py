"""Where a stored sample was cut from its camera frame, kept inside the sample's own JPEG file.

The labelling queue's frames are cut for their window like evidence (framing.window_image): a crop of the camera
frame. Whatever reads one later (the dataset export: masking it again, running the offline cascade, whose window
regions are fractions of the whole frame) must know the frame's size and where the crop lies in it. That travels in
a JPEG comment segment (COM, ignored by decoders and browsers) of the file itself, so it can never be separated from
the image: not by retention, which deletes files, nor by the orphan sweep, which would delete a side file that no
database row names. A file without it (stored before samples were cut) is a whole camera frame.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

_SOI, _COM, _SOS, _EOI = b"\xff\xd8", 0xFE, 0xDA, 0xD9
_PREFIX = b"counterwatch-sample "
_MAX_HEAD = 64 * 1024  # the comment is written right after the JFIF header: no need to read further


@dataclass(frozen=True)
class SampleGeometry:
    """A crop (x1, y1, x2, y2, frame pixels) of one window out of a frame of `frame_size` (width, height)."""

    window_id: str
    frame_size: tuple[int, int]
    crop: tuple[int, int, int, int]

    @property
    def size(self) -> tuple[int, int]:
        """The stored image's width and height."""
        return self.crop[2] - self.crop[0], self.crop[3] - self.crop[1]

    @property
    def origin(self) -> tuple[int, int]:
        """Where frame pixel (0, 0) lands in the stored image: frame (x, y) -> (x + dx, y + dy)."""
        return -self.crop[0], -self.crop[1]

    def to_json(self) -> dict:
        return {"window": self.window_id, "frame": list(self.frame_size), "crop": list(self.crop)}

    @classmethod
    def from_json(cls, document: dict) -> SampleGeometry:
        width, height = (int(v) for v in document["frame"])
        x1, y1, x2, y2 = (int(v) for v in document["crop"])
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise ValueError(f"crop {document['crop']} does not lie in a {width}x{height} frame")
        return cls(str(document["window"]), (width, height), (x1, y1, x2, y2))


def _segments(data: bytes):
    """(marker, start of payload, end of payload) of the JPEG's header segments, up to the start of the scan."""
    if not data.startswith(_SOI):
        raise ValueError("not a JPEG file")
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker in (_SOS, _EOI):
            return
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        yield marker, at + 4, at + 2 + length
        at += 2 + length


def with_geometry(jpeg: bytes, geometry: SampleGeometry) -> bytes:
    """`jpeg` with `geometry` in a comment segment after its first header segment (JFIF's APP0 stays first)."""
    payload = _PREFIX + json.dumps(geometry.to_json(), separators=(",", ":")).encode("ascii")
    segment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    first = next(_segments(jpeg), None)
    at = first[2] if first is not None and first[0] == 0xE0 else 2
    return jpeg[:at] + segment + jpeg[at:]


def geometry_of(jpeg: bytes) -> SampleGeometry | None:
    """The geometry written by `with_geometry`; None for a JPEG without one (a whole camera frame)."""
    for marker, start, end in _segments(jpeg):
        if marker == _COM and jpeg[start:end].startswith(_PREFIX):
            try:
                return SampleGeometry.from_json(json.loads(jpeg[start + len(_PREFIX):end]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"unreadable sample geometry: {exc}") from None
    return None


def read_geometry(path: Path | str) -> SampleGeometry | None:
    """`geometry_of` a stored sample file (only its header is read)."""
    with open(path, "rb") as handle:
        return geometry_of(handle.read(_MAX_HEAD))
