import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx2
import pytest

from replicate_mcp.api import RetryPolicy
from replicate_mcp.api._retry import Safety, parse_retry_after


def policy(**kwargs):
    return RetryPolicy(rng=random.Random(1), **kwargs)


def test_backoff_is_full_jitter_under_a_capped_exponential():
    p = policy(backoff_base=0.5, backoff_max=8.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (30, 8.0)]:
        samples = [p.backoff(attempt) for _ in range(300)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > 0.8 * ceiling  # spread over the whole range, not a fixed step
        assert min(samples) < 0.2 * ceiling


def test_server_hint_replaces_backoff_with_at_most_ten_percent_jitter():
    p = policy()
    delays = [p.delay(3, retry_after=10.0) for _ in range(100)]
    assert all(10.0 <= d <= 11.0 for d in delays)
    assert p.delay(0, retry_after=0.0) == 0.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_requests_retry_transient_statuses(status):
    assert policy().should_retry_status(status, Safety.IDEMPOTENT)


@pytest.mark.parametrize("status", [400, 401, 402, 404, 409, 413, 422, 501])
def test_other_statuses_are_never_retried(status):
    assert not policy().should_retry_status(status, Safety.IDEMPOTENT)
    assert not policy().should_retry_status(status, Safety.CREATE)


def test_a_create_retries_only_an_explicit_refusal():
    p = policy()
    assert p.should_retry_status(429, Safety.CREATE)
    for status in (500, 502, 503, 504):
        assert not p.should_retry_status(status, Safety.CREATE)


REQUEST = httpx2.Request("POST", "https://api.replicate.com/v1/predictions")
NOT_SENT = [httpx2.ConnectError("refused"), httpx2.ConnectTimeout("slow"), httpx2.PoolTimeout("busy")]
MAYBE_SENT = [
    httpx2.ReadError("reset"),
    httpx2.ReadTimeout("slow"),
    httpx2.WriteError("broken pipe"),
    httpx2.WriteTimeout("slow"),
    httpx2.RemoteProtocolError("Server disconnected without sending a response."),
]


@pytest.mark.parametrize("exc", NOT_SENT + MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_idempotent_requests_retry_every_transient_network_error(exc):
    assert policy().should_retry_error(exc, Safety.IDEMPOTENT)


@pytest.mark.parametrize("exc", NOT_SENT, ids=lambda e: type(e).__name__)
def test_a_create_retries_when_the_request_never_left(exc):
    assert policy().should_retry_error(exc, Safety.CREATE)


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_a_create_never_retries_once_the_request_may_have_arrived(exc):
    assert not policy().should_retry_error(exc, Safety.CREATE)


def test_non_transient_errors_are_not_retried():
    for exc in (httpx2.UnsupportedProtocol("ftp"), httpx2.LocalProtocolError("bad header")):
        assert not policy().should_retry_error(exc, Safety.IDEMPOTENT)


def test_retry_after_from_header_body_or_both():
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({}, 10.0) == 10.0
    assert parse_retry_after({"retry-after": "3"}, 10.0) == 10.0  # the longer wins
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-4"}) == 0.0


def test_retry_after_as_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(httpx2.Headers({"Retry-After": later}), now=now.timestamp()) == 30.0
