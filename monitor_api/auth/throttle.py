"""Login rate limits per client IP and per username: sliding windows in memory.

In memory on purpose: a limit is about the next minutes, not worth a write per attempt, and the durable part of the
defence (the account lockout after N consecutive failures) lives in the users table. With several API processes each
keeps its own windows, so the effective limit is at most N times higher; the lockout still holds exactly.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit, self.window_s = limit, window_s
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count an attempt; None if allowed, else seconds until the next one would be."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window_s - now)
            hits.append(now)
            if len(self._hits) > self._max_keys:  # bound memory under a spray of usernames or addresses
                self._evict(now)
            return None

    def _evict(self, now: float) -> None:
        stale = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window_s]
        for key in stale:
            del self._hits[key]
        while len(self._hits) > self._max_keys:
            self._hits.pop(next(iter(self._hits)))


class LoginThrottle:
    def __init__(self, per_ip: int, per_user: int, window_s: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ip = SlidingWindowLimiter(per_ip, window_s, clock=clock)
        self._user = SlidingWindowLimiter(per_user, window_s, clock=clock)

    def check(self, client_ip: str, username: str) -> float | None:
        """Seconds to wait when either limit is exhausted, else None (the attempt is counted)."""
        wait_ip = self._ip.hit(client_ip)
        if wait_ip is not None:
            return wait_ip
        return self._user.hit(username.strip().lower())
