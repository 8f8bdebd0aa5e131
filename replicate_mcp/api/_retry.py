"""When to retry, and how long to wait: pure functions, no I/O."""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx2

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

# Failures that happen before a single byte of the request left: the server cannot have acted on it.
NOT_SENT_ERRORS = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)

# Every transport failure worth another try for an idempotent request.
TRANSIENT_ERRORS = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)


class Safety(enum.Enum):
    """How a request may be retried."""

    IDEMPOTENT = "idempotent"  # GET, cancel, search: repeat freely on transient failures
    CREATE = "create"  # creates something (and may bill): repeat only if it surely did not reach the server


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, honouring the server's retry hints.

    `retry_max_wait` caps a single server-requested wait (Retry-After / retry_after): a longer one
    raises RateLimitError at once instead of sleeping. `max_total_wait` caps all sleeping for one call.
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_max_wait: float = 30.0
    max_total_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to sleep before retry number `attempt` (0-based), full jitter: U(0, min(cap, base*2^n))."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**attempt))
        return self.rng.uniform(0, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The server's hint (plus up to 10 % jitter so many clients do not return at once), else backoff."""
        if retry_after is not None:
            return retry_after + self.rng.uniform(0, 0.1 * retry_after)
        return self.backoff(attempt)

    def should_retry_status(self, status: int, safety: Safety) -> bool:
        if status not in RETRYABLE_STATUSES:
            return False
        # A 429 is an explicit refusal: nothing was created, so even a create may repeat it.
        return safety is Safety.IDEMPOTENT or status == 429

    def should_retry_error(self, exc: Exception, safety: Safety) -> bool:
        if safety is Safety.CREATE:
            return isinstance(exc, NOT_SENT_ERRORS)
        return isinstance(exc, TRANSIENT_ERRORS)


def parse_retry_after(
    headers: Mapping[str, str], body_value: float | None = None, *, now: float | None = None
) -> float | None:
    """Seconds to wait according to the `Retry-After` header
    (seconds or HTTP date) and the body's `retry_after`.

    When both are given the longer wins. None when neither is usable.
    """
    candidates = [v for v in (_header_seconds(headers.get("retry-after"), now), body_value) if v is not None]
    return max(0.0, *candidates) if candidates else None


def _header_seconds(value: str | None, now: float | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return when.timestamp() - (time.time() if now is None else now)
