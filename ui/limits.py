"""Limits on what one client may send: requests per minute, body size, JSON nesting."""

from __future__ import annotations

import re
import threading
import time

import numpy as np

# A JSON string literal, escapes included: brackets inside strings nest nothing. Possessive,
# and an unterminated string runs to the end, so no input makes the scan quadratic.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.|\\\Z)*+(?:"|\Z)', re.DOTALL)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


class RateLimiter:
    """Allows ``per_minute`` requests per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, max_keys: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> float:
        """0 when the request may go ahead (and it spends a token), else the seconds to wait."""
        return self._take(key, spend=True)

    def wait(self, key: str) -> float:
        """The seconds ``key`` must wait before its next request, spending nothing."""
        return self._take(key, spend=False)

    def _take(self, key: str, spend: bool) -> float:
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
            if not spend:
                return 0.0
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_keys:  # forget the stalest clients
                for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[
                    : self.max_keys // 10
                ]:
                    del self._buckets[stale]
            return 0.0


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without parsing it.

    Python's parser recurses once per level, so 50,000 nested brackets exhaust its stack:
    bodies are measured here first, in C-speed passes, and refused above a sane depth.
    """
    if not body:
        return 0
    outside_strings = _JSON_STRING.sub(b'""', body)
    steps = _OPEN[np.frombuffer(outside_strings, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))
