"""A token bucket per client address, in process, for the JSON API.

``AGORA_RATE_LIMIT`` reads "120/minute" (also /second, /hour) or "off": each
client may make that many requests at once (the bucket's size) and regains them
at that rate. A refused request gets a 429 with ``Retry-After``. The buckets live
in the process: under gunicorn each worker holds its own, so a client spread
over N workers may get up to N times the limit; a shared limit needs a shared
store (a proxy's limiter, or Redis) in front. Memory is bounded: past
``max_clients`` addresses the fullest (idle) buckets are forgotten.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_PERIODS = {"second": 1.0, "s": 1.0, "minute": 60.0, "min": 60.0, "m": 60.0,
            "hour": 3600.0, "h": 3600.0}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float  # seconds until one request is allowed again (0 when allowed)


class RateLimiter:
    """``limit`` requests per ``period`` seconds per key, with bursts up to ``limit``."""

    def __init__(self, limit: int, period: float, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a rate limit needs a positive count and period")
        self.limit, self.period = limit, period
        self.rate = limit / period  # tokens per second
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str | None, **kwargs: object) -> RateLimiter | None:
        """From "120/minute"; None for "off", "0", "none" or empty (no limit)."""
        text = (spec or "").strip().lower()
        if text in ("", "off", "0", "none", "unlimited"):
            return None
        match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)", text)
        if not match or match.group(3) not in _PERIODS:
            raise ValueError(f"AGORA_RATE_LIMIT {spec!r}: expected e.g. '120/minute' or 'off'")
        count, mult, unit = int(match.group(1)), match.group(2), match.group(3)
        if count == 0:
            return None
        return cls(count, _PERIODS[unit] * (int(mult) if mult else 1), **kwargs)  # type: ignore[arg-type]

    def take(self, key: str) -> Decision:
        """Spend one token of ``key``'s bucket if it has one."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                self._buckets[key] = (tokens, now)
                if len(self._buckets) > self.max_clients:
                    self._forget(now)
                return Decision(True, self.limit, int(tokens), 0.0)
            self._buckets[key] = (tokens, now)
            return Decision(False, self.limit, 0, (1.0 - tokens) / self.rate)

    def _forget(self, now: float) -> None:
        """Drop the buckets that are full again (their clients left), else the oldest half."""
        full = [k for k, (t, at) in self._buckets.items()
                if t + (now - at) * self.rate >= self.limit]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) > self.max_clients:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for k in oldest[: len(oldest) // 2]:
                del self._buckets[k]

    @staticmethod
    def retry_header(decision: Decision) -> str:
        return str(max(1, math.ceil(decision.retry_after)))
