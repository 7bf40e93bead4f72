"""A NATS link on a thread of its own: the shape the edge's uplink and the centre's consumer share.

`start()` runs an asyncio loop on a daemon thread that connects, runs the subclass's `_session` until it fails (any
error is logged, the link backs off from 0.5 s to 10 s and connects again: the link outlives every failure) or
`stop()` is called (at once: a publish or fetch in flight is cancelled, not waited for).
"""
from __future__ import annotations

import abc
import asyncio
import logging
import threading
from typing import Any, Self

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from counterwatch.county.nats_link import close_quietly, open_connection, until_stopped

logger = logging.getLogger("counterwatch.county")

BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 10.0


class LinkThread(abc.ABC):
    def __init__(self, options: dict[str, Any], *, name: str, ack_timeout_s: float) -> None:
        self._options = options
        self._name = name  # in the thread's name and the log lines
        self._ack_timeout_s = ack_timeout_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._connected = False
        self.last_error = ""

    @abc.abstractmethod
    async def _session(self, js: JetStreamContext) -> None:
        """The work on one connection; returns or raises when it can go on no longer."""

    @abc.abstractmethod
    async def _report_link(self) -> None:
        """Tell whoever watches (the /readyz and /metrics registry) the link's state."""

    async def _connected_anew(self) -> None:
        """A new connection (the first, or after the old one closed): per-connection state starts again here."""
        return None

    # ---- thread ---------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when stop() was called meanwhile."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass
        return self._stop.is_set()

    @property
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._ready.set()
        client: Client | None = None
        backoff = BACKOFF_FIRST_S
        while not self._stop.is_set():
            try:
                if client is None or client.is_closed:
                    client = await open_connection(self._options, on_change=self._on_change)
                    self._connected = True
                    backoff = BACKOFF_FIRST_S
                    await self._connected_anew()
                    await self._report_link()
                if await until_stopped(self._stop, self._session(client.jetstream(timeout=self._ack_timeout_s))):
                    break
            except Exception as error:  # the link must outlive any one failure: log it, back off, try again
                self.last_error = f"{type(error).__name__}: {error}"
                expected = isinstance(error, (TimeoutError, NatsError, OSError))
                logger.log(logging.WARNING if expected else logging.ERROR, "%s: %s; retrying in %.1f s", self._name,
                           self.last_error, backoff, exc_info=not expected)
                await self._report_link()
                await self._pause(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        await close_quietly(client)  # nothing to drain: what was not acknowledged is sent or delivered again
        self._connected = False
        await self._report_link()

    async def _on_change(self, connected: bool) -> None:
        self._connected = connected
        logger.info("%s %s", self._name, "reconnected" if connected else "disconnected")
        await self._report_link()
