"""Per-token, per-minute request budgets: creates, reads of one prediction, and everything else.

Replicate gives `GET /predictions/{id}` a far larger bucket than the rest, so polling clients are not
throttled by their own polls; the sandbox mirrors that with a bucket of ten times the "other" limit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

WINDOW = 60.0
POLL_FACTOR = 10


@dataclass
class _Window:
    started: float
    used: int = 0


class RateLimiter:
    def __init__(self, create_limit: int, other_limit: int) -> None:
        self.limits = {"create": create_limit, "other": other_limit, "poll": other_limit * POLL_FACTOR}
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, token: str, bucket: str) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, remaining, seconds until the window resets)."""
        now = time.monotonic()
        window = self._windows.get((token, bucket))
        if window is None or now - window.started >= WINDOW:
            window = self._windows[(token, bucket)] = _Window(started=now)
        reset = max(1, math.ceil(window.started + WINDOW - now))
        limit = self.limits[bucket]
        if window.used >= limit:
            return False, 0, reset
        window.used += 1
        return True, limit - window.used, reset

    def reset(self) -> None:
        self._windows.clear()
