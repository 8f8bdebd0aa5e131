"""Sending one logical request: retries per RetryPolicy, errors turned into typed exceptions."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import httpx2

from ._errors import APIConnectionError, ReplicateError, error_from_response, number_or_none, parse_error_body
from ._retry import RetryPolicy, Safety, parse_retry_after

logger = logging.getLogger(__name__)


class Sender:
    """Sends requests on a shared AsyncClient and returns only successful responses."""

    def __init__(
        self, http: httpx2.AsyncClient, policy: RetryPolicy, *, redact: Callable[[str], str]
    ) -> None:
        self._http = http
        self._policy = policy
        self._redact = redact

    async def send(
        self,
        request: httpx2.Request,
        *,
        safety: Safety = Safety.IDEMPOTENT,
        unsure_note: str | None = None,
        stream: bool = False,
    ) -> httpx2.Response:
        """Send `request`, retrying where `safety` allows; raise a ReplicateError for anything but success.

        `unsure_note` is appended to errors of a CREATE whose outcome is unknown (it may have been created).
        With `stream=True` the successful response is returned unread; the caller must close it.
        """
        policy = self._policy
        slept = 0.0
        attempt = 0
        while True:
            failure: ReplicateError
            retry_after: float | None = None
            try:
                response = await self._http.send(request, stream=stream)
            except httpx2.TransportError as exc:
                failure = self._connection_error(request, exc, safety, unsure_note)
                retryable = policy.should_retry_error(exc, safety)
                reason = type(exc).__name__
            else:
                if response.status_code < 400:
                    logger.debug("%s %s -> %d", request.method, _path(request), response.status_code)
                    return response
                if stream:
                    await response.aread()
                    await response.aclose()
                body_hint = number_or_none(parse_error_body(response).get("retry_after"))
                retry_after = parse_retry_after(response.headers, body_hint)
                note = unsure_note if safety is Safety.CREATE and response.status_code >= 500 else None
                failure = error_from_response(
                    response, retry_after=retry_after, note=note, redact=self._redact
                )
                retryable = policy.should_retry_status(response.status_code, safety)
                reason = f"HTTP {response.status_code}"
                if retryable and retry_after is not None and retry_after > policy.retry_max_wait:
                    logger.warning(
                        "%s %s: server asks to wait %.1f s (> %.1f s): giving up",
                        request.method,
                        _path(request),
                        retry_after,
                        policy.retry_max_wait,
                    )
                    raise failure

            if not retryable or attempt >= policy.max_retries:
                raise failure
            delay = policy.delay(attempt, retry_after)
            if slept + delay > policy.max_total_wait:
                logger.warning(
                    "%s %s: retry budget of %.1f s spent",
                    request.method,
                    _path(request),
                    policy.max_total_wait,
                )
                raise failure
            attempt += 1
            logger.info(
                "%s %s failed (%s); retry %d/%d in %.2f s",
                request.method,
                _path(request),
                reason,
                attempt,
                policy.max_retries,
                delay,
            )
            await anyio.sleep(delay)
            slept += delay

    def _connection_error(
        self, request: httpx2.Request, exc: httpx2.TransportError, safety: Safety, unsure_note: str | None
    ) -> APIConnectionError:
        host = request.url.host
        if isinstance(exc, httpx2.TimeoutException):
            what = f"Request to {host} timed out ({type(exc).__name__})"
        else:
            what = f"Connection to {host} failed ({type(exc).__name__}: {str(exc) or 'no details'})"
        if safety is Safety.CREATE and not self._policy.should_retry_error(exc, safety) and unsure_note:
            what = f"{what}. {unsure_note}"
        error = APIConnectionError(what, title="Connection error")
        error.redact(self._redact)
        return error


def _path(request: httpx2.Request) -> str:
    return request.url.path
