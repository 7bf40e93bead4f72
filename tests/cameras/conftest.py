from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cameras import CameraHealth, CameraReader, FrameSource, open_source

# Generous for a loaded 2-core machine, small enough to keep the suite quick.
FAST_BACKOFF = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2}


class StateLog:
    """Records every on_state_change snapshot."""

    def __init__(self) -> None:
        self.changes: list[CameraHealth] = []

    def __call__(self, health: CameraHealth) -> None:
        self.changes.append(health)

    def states(self) -> list[tuple[str, str]]:
        return [(h.state.value, h.reason) for h in list(self.changes)]


@pytest.fixture
def make_reader() -> Iterator[Callable[..., CameraReader]]:
    """Builds CameraReaders and stops every one of them at teardown, so no thread outlives its test."""
    readers: list[CameraReader] = []

    def build(factory: Callable[[], FrameSource], **options: Any) -> CameraReader:
        camera_id = options.pop("camera_id", "cam-1")
        settings: dict[str, Any] = {"analysis_fps": 25.0, "stall_timeout_s": 5.0, **FAST_BACKOFF, **options}
        reader = CameraReader(camera_id, factory, **settings)
        readers.append(reader)
        return reader

    yield build
    for reader in readers:
        reader.stop()


@pytest.fixture
def file_reader(make_reader: Callable[..., CameraReader]) -> Callable[..., CameraReader]:
    """A reader on a video file: file_reader(path, pace=..., loop=..., auto_orient=..., **reader options)."""

    def build(
        path: Path, *, pace: str = "fast", loop: bool = False, auto_orient: bool = True, **options: Any
    ) -> CameraReader:
        def factory() -> FrameSource:
            return open_source(path, loop=loop, pace=pace, open_timeout_s=2.0, read_timeout_s=2.0,
                               auto_orient=auto_orient)

        return make_reader(factory, **options)

    return build
