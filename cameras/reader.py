"""A camera reader: one background capture per camera that hands the newest frame to its consumer.

Decoding at the analysis rate: every frame is grabbed (FrameSource.grab(): received, decoded, timestamped), but
only a frame the sampling at `analysis_fps` will take is retrieved (FrameSource.retrieve(): the colour conversion
into a BGR image, then the configured rotation). The others are counted and dropped without ever becoming an image.
Sampling is by stream time, so which frames are taken does not depend on how fast they are read.

Two hand-over modes, chosen by the source's `realtime` flag (see FrameSource):

- Live (`realtime` True: network and USB cameras, files paced "realtime"). Every frame is grabbed as it arrives, so
  the decoder never falls behind. Frames are sampled at `analysis_fps` by stream time; a sampled frame goes into a
  one-frame slot, replacing (and counting as dropped) one the consumer has not taken yet. `get()` therefore always
  returns the newest frame and nothing queues up behind a slow consumer.
- Offline (`realtime` False: files paced "fast"). The same sampling by stream time, but the capture waits until the
  consumer has taken the previous sampled frame before handing over the next. A 25 fps file analysed at 2 fps gives
  exactly one frame per 0.5 s of video, however slow the consumer, so an offline evaluation is deterministic.

Failures never reach the caller. Every connection ("session") runs on its own worker thread, supervised by the
reader's thread:
- open failures, read failures, the end of a live stream, a run of `corrupt_run_limit` unusable frames (a failed
  grab, or a sampled frame whose retrieve gives no usable image) and any exception raised by the source or its
  factory end the session: state offline with the reason, then a reconnect
  after a capped exponential backoff (reset once a session delivers a frame);
- a session that waits more than `stall_timeout_s` for a frame (a socket open but silent), or takes longer than
  the source's own open timeout plus `stall_timeout_s` to open, is marked stalled and abandoned: its worker closes
  the source whenever the blocked call returns, and a fresh source is made. Closing from another thread while
  OpenCV blocks inside read() is not safe, hence abandoning instead.
  Give network sources a read timeout below the stall timeout so that they report the failure themselves; the
  stall watchdog is the safety net for sources that have no timeout of their own;
- the end of a file that does not loop is final: state offline, reason "end of file", `finished` becomes True.

Frame times are described in cameras.timeline. `Frame.index` counts the good frames read by this reader (from 0,
dropped ones included), so gaps show drops. A frame is good when it was grabbed and, if sampled, its image retrieved;
a frame the sampling skips is never retrieved and counts as good once grabbed. A corrupt frame gets no index and
uses up no sampling tick: the next good frame is taken in its place. Frame images are read-only: stages never mutate
their input.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import numpy.typing as npt

from cameras._checks import fraction, positive_int, positive_seconds
from cameras.base import EndOfStream, FrameSource, SourceError, SourceStalled
from cameras.frame import Frame
from cameras.handover import FrameSlot
from cameras.health import CameraHealth, CameraState, HealthTracker
from cameras.images import as_bgr, check_rotation, rotate
from cameras.sampling import Backoff, StreamTimeSampler
from cameras.timeline import Timeline

log = logging.getLogger("counterwatch.cameras")

# How often the supervisor looks at a session when nothing wakes it; bounds how late a stall is noticed.
_POLL_S = 0.05


@dataclass(frozen=True)
class _Outcome:
    state: CameraState
    reason: str
    final: bool = False


@dataclass
class _Session:
    """One connection attempt. Mutable fields are guarded by the reader's lock."""

    number: int
    progress_at: float
    sampler: StreamTimeSampler
    open_budget_s: float
    phase: str = "opening"
    realtime: bool = True
    got_frame: bool = False
    waiting_for_consumer: bool = False
    abandoned: bool = False
    outcome: _Outcome | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    online: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None


class CameraReader:
    """Reads one camera on background threads; see the module docstring for the hand-over modes and failures.

    `clock` measures stall time and frame ages (inject a fake one in tests); waiting itself uses real time.
    `on_state_change(health)` is called whenever (state, reason) changes, mostly on the reader's thread;
    exceptions it raises are logged and ignored.
    """

    def __init__(
        self,
        camera_id: str,
        source_factory: Callable[[], FrameSource],
        *,
        rotation: int = 0,
        analysis_fps: float,
        stall_timeout_s: float,
        backoff_initial_s: float,
        backoff_max_s: float,
        corrupt_run_limit: int = 10,
        stop_timeout_s: float = 5.0,
        on_state_change: Callable[[CameraHealth], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff_jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(camera_id, str) or not camera_id:
            raise ValueError(f"camera_id must be a non-empty string, got {camera_id!r}")
        if not callable(source_factory):
            raise ValueError("source_factory must be a callable returning a FrameSource")
        if on_state_change is not None and not callable(on_state_change):
            raise ValueError("on_state_change must be callable or None")
        if not callable(clock):
            raise ValueError("clock must be a callable returning seconds")
        self._camera_id = camera_id
        self._factory = source_factory
        self._rotation = check_rotation(rotation)
        self._analysis_fps = positive_seconds("analysis_fps", analysis_fps)
        self._stall_timeout_s = positive_seconds("stall_timeout_s", stall_timeout_s)
        initial_s = positive_seconds("backoff_initial_s", backoff_initial_s)
        if positive_seconds("backoff_max_s", backoff_max_s) < initial_s:
            raise ValueError(f"backoff_max_s ({backoff_max_s}) must be >= backoff_initial_s ({backoff_initial_s})")
        self._backoff = Backoff(initial_s, backoff_max_s, jitter=fraction("backoff_jitter", backoff_jitter), rng=rng)
        self._corrupt_run_limit = positive_int("corrupt_run_limit", corrupt_run_limit)
        self._stop_timeout_s = positive_seconds("stop_timeout_s", stop_timeout_s)
        self._clock = clock
        self._health = HealthTracker(camera_id, clock, on_state_change)
        self._slot = FrameSlot()
        self._timeline = Timeline()
        self._lock = threading.Lock()  # guards the sessions and the timeline
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: _Session | None = None
        self._abandoned_workers: list[threading.Thread] = []
        self._finished = False

    # ----------------------------------------------------------------------------------------------- public API
    @property
    def camera_id(self) -> str:
        return self._camera_id

    @property
    def finished(self) -> bool:
        """True once no frame will ever come: a non-looping file reached its end, or the reader was stopped."""
        return self._finished or self._stop_event.is_set()

    def start(self) -> None:
        """Start capturing in the background. Calling it again while running does nothing."""
        with self._lock:
            if self._stop_event.is_set():
                raise RuntimeError(f"camera {self._camera_id}: a stopped CameraReader cannot be started again")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._supervise, name=f"camera:{self._camera_id}", daemon=True)
        self._health.set_state(CameraState.STARTING, "connecting")
        self._thread.start()

    def stop(self) -> bool:
        """Stop capturing and release the source, waiting at most stop_timeout_s.

        Returns False (and logs) if a thread was still blocked in the source when the time ran out; it is a daemon
        thread and closes its source when the blocked call returns.
        """
        self._stop_event.set()
        self._slot.close(discard=True)
        current = threading.current_thread()
        thread = self._thread
        if thread is not None and thread is not current:
            thread.join(self._stop_timeout_s)
        with self._lock:
            workers = list(self._abandoned_workers)
            if self._session is not None and self._session.worker is not None:
                workers.append(self._session.worker)
        blocked = {t for t in (thread, *workers) if t is not None and t is not current and t.is_alive()}
        if blocked:
            log.warning("camera %s: %d capture thread(s) still blocked in the source after %.1f s",
                        self._camera_id, len(blocked), self._stop_timeout_s)
        self._health.set_state(CameraState.STOPPED, "stopped")
        return not blocked

    def get(self, timeout: float) -> Frame | None:
        """The newest sampled frame not returned before, waiting up to `timeout` seconds for one.

        None when none came in time; at once after stop(), or when a finished reader has handed over its last frame.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise ValueError(f"timeout must be a number >= 0, got {timeout!r}")
        return self._slot.take(float(timeout))

    def health(self) -> CameraHealth:
        return self._health.snapshot()

    def __enter__(self) -> CameraReader:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------- supervisor
    def _supervise(self) -> None:
        attempt = 0
        last_reason = ""
        while not self._stop_event.is_set():
            try:
                if attempt:
                    self._health.reconnecting()
                attempt += 1
                outcome, delivered = self._run_session(attempt)
                if outcome is None:  # stopped
                    break
                self._health.set_state(outcome.state, outcome.reason)
                if outcome.final:
                    self._finished = True
                    self._slot.close()
                    return
                if delivered:
                    self._backoff.reset()
                reason = outcome.reason
            except Exception as exc:  # a bug in the reader itself: report it and keep the camera alive
                log.exception("camera %s: reader error", self._camera_id)
                reason = f"reader error: {type(exc).__name__}: {exc}"
                self._health.set_state(CameraState.OFFLINE, reason)
            delay = self._backoff.next_delay()
            log.log(logging.WARNING if reason != last_reason else logging.DEBUG,
                    "camera %s: reconnecting in %.2f s", self._camera_id, delay)
            last_reason = reason
            self._stop_event.wait(delay)
        self._wait_for_workers()

    def _run_session(self, number: int) -> tuple[_Outcome | None, bool]:
        session = _Session(
            number=number,
            progress_at=self._clock(),
            sampler=StreamTimeSampler(self._analysis_fps),
            open_budget_s=self._stall_timeout_s,
        )
        session.worker = threading.Thread(
            target=self._work, args=(session,), name=f"camera:{self._camera_id}:{number}", daemon=True
        )
        with self._lock:
            self._session = session
        session.worker.start()
        return self._watch(session)

    def _watch(self, session: _Session) -> tuple[_Outcome | None, bool]:
        """Waits for the session to end, stall or deliver its first frame (online)."""
        while True:
            session.wake.wait(_POLL_S)
            session.wake.clear()  # before reading the session, so a change made after the read wakes us again
            with self._lock:
                if session.outcome is not None:
                    return session.outcome, session.got_frame
                if self._stop_event.is_set():
                    self._abandon_locked(session)
                    return None, session.got_frame
                got_frame = session.got_frame
                idle = 0.0 if session.waiting_for_consumer else self._clock() - session.progress_at
                limit = session.open_budget_s if session.phase == "opening" else self._stall_timeout_s
                if idle > limit:
                    self._abandon_locked(session)
                    if session.phase == "opening":
                        reason = f"source did not open within {idle:.1f} s"
                    else:
                        reason = f"no frame for {idle:.1f} s (stall timeout {self._stall_timeout_s:g} s)"
                    return _Outcome(CameraState.STALLED, reason), got_frame
            if got_frame and not session.online.is_set():
                self._health.set_state(CameraState.ONLINE, "")
                session.online.set()

    def _abandon_locked(self, session: _Session) -> None:
        session.abandoned = True
        self._slot.wake()
        if session.worker is not None:
            self._abandoned_workers.append(session.worker)
        self._abandoned_workers = [t for t in self._abandoned_workers if t.is_alive()]
        if len(self._abandoned_workers) > 1:
            log.warning("camera %s: %d abandoned capture threads are still blocked in their source",
                        self._camera_id, len(self._abandoned_workers))

    def _wait_for_workers(self) -> None:
        """On stop: give blocked workers most of the stop budget to close their sources."""
        deadline = time.monotonic() + 0.8 * self._stop_timeout_s
        with self._lock:
            workers = list(self._abandoned_workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    # ----------------------------------------------------------------------------------------------- worker
    def _work(self, session: _Session) -> None:
        """One connection: make, open and read the source until it fails, ends or is abandoned."""
        source: FrameSource | None = None
        outcome: _Outcome | None = None
        try:
            source = self._factory()
            if not isinstance(source, FrameSource):
                raise TypeError(f"source_factory returned {type(source).__name__}, not a FrameSource")
            own_timeout = source.open_timeout_s
            if own_timeout is not None:
                with self._lock:
                    session.open_budget_s = self._stall_timeout_s + max(0.0, float(own_timeout))
            source.open()
            with self._lock:
                if session.abandoned:
                    return
                session.phase = "reading"
                session.realtime = bool(source.realtime)
                session.progress_at = self._clock()
            corrupt_run = 0
            while True:
                grabbed = source.grab()
                if session.abandoned:
                    return
                if grabbed:
                    image = None
                    source_ts = float(source.timestamp)
                    now, wall_now = self._clock(), datetime.now(UTC)
                    wanted = self._would_sample(session, source_ts, now)
                    if wanted:
                        image = as_bgr(source.retrieve())
                        if session.abandoned:
                            return
                    if image is not None or not wanted:
                        corrupt_run = 0
                        self._deliver(session, image, source_ts, now, wall_now)
                        continue
                self._health.frame_corrupt()
                corrupt_run += 1
                if corrupt_run >= self._corrupt_run_limit:
                    outcome = _Outcome(CameraState.OFFLINE, f"{corrupt_run} corrupt or missing frames in a row")
                    return
        except EndOfStream as exc:
            outcome = _Outcome(CameraState.OFFLINE, exc.reason, final=exc.final)
        except SourceStalled as exc:
            outcome = _Outcome(CameraState.STALLED, exc.reason)
        except SourceError as exc:
            outcome = _Outcome(CameraState.OFFLINE, exc.reason)
        except Exception as exc:
            log.exception("camera %s: unexpected error from its source", self._camera_id)
            outcome = _Outcome(CameraState.OFFLINE, f"source error: {type(exc).__name__}: {exc}")
        finally:
            if source is not None:
                try:
                    source.close()
                except Exception:
                    log.exception("camera %s: error while closing its source", self._camera_id)
            with self._lock:
                session.outcome = outcome or _Outcome(CameraState.OFFLINE, "connection abandoned")
            session.wake.set()

    def _would_sample(self, session: _Session, source_ts: float, now: float) -> bool:
        """Whether the frame just grabbed will be sampled if its image is good: then, and only then, it is retrieved.

        Asks the timeline and the sampler without changing either: a frame whose retrieve then fails is corrupt and
        leaves no trace, so the next good frame takes its sampling tick, exactly as with a whole read().
        """
        with self._lock:
            if session.abandoned or self._stop_event.is_set():
                return False
            ts = self._timeline.peek(session.number, source_ts, clock_now=now)
            return session.sampler.would_take(ts)

    def _deliver(
        self,
        session: _Session,
        image: npt.NDArray[Any] | None,
        source_ts: float,
        now: float,
        wall_now: datetime,
    ) -> None:
        """Counts a good frame, samples it, and hands it over (offer when live, wait for the consumer offline).

        `image` is None for a frame that was grabbed but not retrieved because the sampling will not take it; `now`
        and `wall_now` are the times _would_sample() was asked with, so the timeline places the frame at the ts the
        sampler was asked about.
        """
        with self._lock:
            if session.abandoned or self._stop_event.is_set():
                return
            ts, wall_time = self._timeline.place(
                session.number, source_ts, clock_now=now, wall_now=wall_now, realtime=session.realtime
            )
            index = self._health.frame_read(now, wall_now)
            session.progress_at = now
            first = not session.got_frame
            session.got_frame = True
            due = image is not None and session.sampler.due(ts)
        if first:
            # A consumer that holds a frame must find the camera online: wait until the supervisor said so.
            session.wake.set()
            while not session.online.wait(_POLL_S):
                if session.abandoned or self._stop_event.is_set():
                    return
        if image is None or not due:
            self._health.frame_dropped()
            return
        rotated = rotate(image, self._rotation)
        rotated.flags.writeable = False
        frame = Frame(camera_id=self._camera_id, index=index, ts=ts, wall_time=wall_time, image=rotated)
        if session.realtime:
            if self._slot.offer(frame):
                self._health.frame_dropped()
            return
        with self._lock:
            session.waiting_for_consumer = True
        handed_over = self._slot.hand_over(frame, lambda: session.abandoned or self._stop_event.is_set())
        with self._lock:
            session.waiting_for_consumer = False
            session.progress_at = self._clock()
        if not handed_over:
            self._health.frame_dropped()
