"""Request rate limits, per client address and per account, kept in each gateway process.

A sliding window approximated from two fixed one-minute windows (the previous window's count weighted
by how much of it still overlaps): constant memory per key, no timers. Several gateway replicas each
allow the limit, so the county-wide ceiling is limit × replicas; the limits are there to stop one
runaway client or a scripted attack, not to meter fair use exactly."""
from __future__ import annotations

import math
import time

WINDOW = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, size: int = 100_000):
        self.limit, self.size = per_minute, size
        self._windows: dict[str, tuple[int, int, int]] = {}  # key → (window number, count, previous count)

    def hit(self, key: str, now: float | None = None) -> int:
        """Count a request; 0 when it is allowed, otherwise the seconds to wait (it is not counted)."""
        now = time.monotonic() if now is None else now
        window = int(now // WINDOW)
        start, count, previous = self._windows.get(key, (window, 0, 0))
        if start != window:
            previous = count if start == window - 1 else 0
            start, count = window, 0
        elapsed = now - window * WINDOW
        estimate = previous * (1 - elapsed / WINDOW) + count
        if estimate + 1 > self.limit:
            if previous and count < self.limit:  # the previous window's weight fades: wait until it has
                needed = previous - (self.limit - 1 - count)
                wait = WINDOW * (1 - (previous - needed) / previous) - elapsed if needed > 0 else 1
            else:
                wait = WINDOW - elapsed
            return max(1, math.ceil(wait))
        if len(self._windows) >= self.size and key not in self._windows:
            self._windows = {k: v for k, v in self._windows.items() if v[0] >= window - 1}
        self._windows[key] = (start, count + 1, previous)
        return 0
