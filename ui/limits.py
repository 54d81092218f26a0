"""A per-client rate limit: a token bucket per address, refilled continuously."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Allows ``per_minute`` requests per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:  # forget the stalest clients
                for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[
                    : self.max_keys // 10
                ]:
                    del self._buckets[stale]
            return 0.0
