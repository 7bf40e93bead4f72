"""EventHub: in-process fan-out of live messages to SSE and WebSocket subscribers.

Each subscriber has a bounded asyncio queue. Publishing never waits: a subscriber whose queue is full is dropped
(its stream ends; EventSource and the dashboard reconnect and reload), so a slow browser can never hold up ingest.
Messages may be published from any thread (the runner's pump thread): they are handed to the event loop with
call_soon_threadsafe.
Open subscriptions are re-checked against the subscriber's current access every `recheck_s` seconds by the routes
that serve them (see guard.SubscriberGuard).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

logger = logging.getLogger("counterwatch.api")

# How often an open subscription's caller is checked again (monitor_api.live.guard.SubscriberGuard).
RECHECK_INTERVAL_S = 2.0

Message = dict[str, Any]


class Subscription:
    def __init__(self, halls: frozenset[str] | None, maxsize: int) -> None:
        self.halls = halls
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=maxsize)
        self.dropped = False

    def wants(self, message: Message) -> bool:
        hall = message.get("hall_id")
        return self.halls is None or (hall is not None and hall in self.halls)

    async def get(self, timeout: float | None = None) -> Message | None:
        """The next message; None when the hub dropped this subscriber or it was closed; raises TimeoutError."""
        if self.dropped and self.queue.empty():
            return None
        if timeout is None:
            return await self.queue.get()
        return await asyncio.wait_for(self.queue.get(), timeout)


class EventHub:
    def __init__(self, maxsize: int = 256, recheck_s: float = RECHECK_INTERVAL_S) -> None:
        self.maxsize = maxsize
        self.recheck_s = recheck_s  # how stale a subscriber's checked access may get
        self._subscribers: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.published = 0
        self.dropped_subscribers = 0

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The event loop the subscribers live on (the server's); set at start-up, cleared at shutdown."""
        with self._lock:
            self._loop = loop

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, halls: frozenset[str] | None) -> Subscription:
        """Call on the event loop. `halls` None: every hall."""
        subscription = Subscription(halls, self.maxsize)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, message: Message) -> None:
        """Call on the event loop."""
        self.published += 1
        for subscription in list(self._subscribers):
            if not subscription.wants(message):
                continue
            try:
                subscription.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.dropped = True
        self.dropped_subscribers += 1
        logger.warning("live feed: dropped a subscriber %d messages behind", subscription.queue.qsize())
        # Make room for the end marker so a consumer waiting in get() wakes up and ends its stream.
        while not subscription.queue.empty():
            subscription.queue.get_nowait()
        subscription.queue.put_nowait(None)

    def publish_threadsafe(self, message: Message) -> bool:
        """From any thread; False when no server loop is bound (nobody can be subscribed then)."""
        with self._lock:
            loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.publish(message)
        else:
            try:
                loop.call_soon_threadsafe(self.publish, message)
            except RuntimeError:  # the loop closed between the check and the call
                return False
        return True
