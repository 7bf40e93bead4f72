"""SubscriberGuard: keeps an open live-feed subscription within what its subscriber may still see.

A stream outlives the request that opened it: a logout, a deactivated account, a revoked API key, a changed role or
a hall taken from the user must reach it too. The guard re-runs the route's own authentication and policy check
(the same code every request goes through, reading the users, audit-log revocations, hall scopes and keys from the
database) and:

- ends the stream when the check refuses the subscriber (or cannot be made: it fails closed);
- otherwise narrows (or widens) the subscription to the halls the subscriber has now, so that the hub stops queueing
  other halls' messages and the stream drops those already queued.

When: before every message it delivers and, while idle, on its own, but at most once per `interval` seconds
(RECHECK_INTERVAL_S by default). A check is a few indexed reads in the thread pool; doing one per message would cost
a database round trip per subscriber per window status (several a second in a busy hall), so a result is reused for
at most the interval. A revocation therefore takes effect within the interval, whatever the message rate.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from monitor_api.live.hub import RECHECK_INTERVAL_S, Subscription

if TYPE_CHECKING:
    from monitor_api.auth.principal import Principal

logger = logging.getLogger("counterwatch.api")


class SubscriberGuard:
    def __init__(self, subscription: Subscription, check: Callable[[], Principal | None],
                 interval: float = RECHECK_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        """`check` (blocking, run in the thread pool): the subscriber as the database has them now, or None when
        they may no longer subscribe. The subscription was just authenticated: the first check is one interval
        away."""
        if interval <= 0:
            raise ValueError("the re-check interval must be positive")
        self.subscription = subscription
        self.interval = interval
        self._check = check
        self._clock = clock
        self._checked_at = clock()
        self._revoked = False

    def due_in(self) -> float:
        """Seconds until the next re-check is due (0: due now)."""
        return max(0.0, self._checked_at + self.interval - self._clock())

    async def still_allowed(self) -> bool:
        """Re-check when due; False once the subscriber has lost access (the stream must end)."""
        if self._revoked:
            return False
        if self.due_in() > 0:
            return True
        try:
            principal = await run_in_threadpool(self._check)
        except Exception:  # noqa: BLE001 - an unverifiable subscriber is not served
            logger.warning("live feed: re-checking a subscriber failed; ending its stream", exc_info=True)
            principal = None
        self._checked_at = self._clock()
        if principal is None:
            self._revoked = True
            return False
        self.subscription.halls = principal.halls
        return True
