"""The frame source contract: what a camera reader needs from a camera, and how a source says what went wrong.

A source is used by one thread at a time: `open()`, any number of reads, then `close()`. It is never reopened; the
reader asks its factory for a fresh source on every reconnect, so a source may keep whatever state it likes.

A read comes whole, `read()`, or split in two: `grab()` advances to the next frame and sets `timestamp`, and
`retrieve()` then fetches that frame's image. The reader grabs every frame and retrieves only those its sampling
takes, so frames it would drop never pay for the image. OpenCV sources split natively (SplitFrameSource: grab()
demuxes and decodes, retrieve() does the colour conversion and copy into a BGR array); any other source only
implements read(), and FrameSource's default grab() reads the whole frame and keeps it for retrieve().
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy.typing as npt

from cameras.images import as_bgr


class SourceError(Exception):
    """The source cannot deliver frames now. The message is the reason shown in the camera's health."""

    @property
    def reason(self) -> str:
        return str(self) or type(self).__name__


class SourceStalled(SourceError):
    """The source is connected, but no data arrived within its own read timeout (a socket open and silent)."""


class EndOfStream(SourceError):
    """The stream ended.

    `final=True` means no frame will ever come again (a file read to its end without looping): the reader stops
    reconnecting. A live stream that ends is not final: the camera may come back.
    """

    def __init__(self, reason: str = "end of stream", *, final: bool) -> None:
        super().__init__(reason)
        self.final = final


class FrameSource(ABC):
    """One connection to one camera or video file.

    `realtime` tells the reader how frames arrive:
    - True (live cameras, files paced "realtime"): frames arrive at the pace of the world whether or not anybody
      reads them, so the reader keeps only the newest one and drops the rest.
    - False (files paced "fast"): frames come as fast as the reader asks, so the reader waits for its consumer
      instead of dropping, and an offline run sees exactly the same frames every time.
    """

    realtime: bool = True

    # The image kept by the default grab() for retrieve(); a class default, so subclasses need not call __init__.
    _grabbed_image: npt.NDArray[Any] | None = None

    @property
    def description(self) -> str:
        """What this source is, for logs. Never contains credentials."""
        return type(self).__name__

    @property
    def open_timeout_s(self) -> float | None:
        """How long open() may take by the source's own timeout; None if it has none.

        The reader's watchdog allows opening this long plus its stall timeout, so the source reports first.
        """
        return None

    @abstractmethod
    def open(self) -> None:
        """Connect. Raises SourceError (with a reason) when the camera cannot be reached."""

    @abstractmethod
    def read(self) -> npt.NDArray[Any] | None:
        """The next image (HxWx3 BGR uint8), or None for a missing or corrupt frame.

        The array becomes the caller's: a source must not reuse or modify it afterwards (the reader marks the
        images it hands on read-only).

        Raises EndOfStream at the end of the stream and SourceError when the connection is lost.
        """

    def grab(self) -> bool:
        """Advances to the next frame and sets `timestamp`, without necessarily fetching its image.

        Returns False for a missing or corrupt frame (`timestamp` then says nothing). Raises like read().

        This default reads the whole frame and keeps it for retrieve(): a source that can only read() costs the
        same as before. It returns False when the image is not usable (as_bgr gives None), so a garbage frame is
        corrupt whether or not it is retrieved.
        """
        self._grabbed_image = None
        image = as_bgr(self.read())
        self._grabbed_image = image
        return image is not None

    def retrieve(self) -> npt.NDArray[Any] | None:
        """The image of the frame last grabbed (as read() describes it), or None when it cannot be had.

        Call it at most once per successful grab(): a second call, or one without a grab, returns None. Frames
        that are grabbed and never retrieved are skipped cheaply.
        """
        image, self._grabbed_image = self._grabbed_image, None
        return image

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Safe to call more than once and after a failed open."""

    @property
    @abstractmethod
    def timestamp(self) -> float:
        """Source time in seconds of the frame last returned by read() or grabbed by grab().

        Files: position in the file (growing across loop restarts). Live sources: time.monotonic() at capture.
        """


class SplitFrameSource(FrameSource):
    """A source whose grab() and retrieve() are its own (OpenCV's VideoCapture.grab/retrieve); read() is the two
    together, exactly what VideoCapture.read() does."""

    @abstractmethod
    def grab(self) -> bool:
        """See FrameSource.grab()."""

    @abstractmethod
    def retrieve(self) -> npt.NDArray[Any] | None:
        """See FrameSource.retrieve()."""

    def read(self) -> npt.NDArray[Any] | None:
        if not self.grab():
            return None
        return self.retrieve()
