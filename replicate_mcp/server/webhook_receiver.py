"""WebhookReceiver: the ASGI endpoint Replicate delivers prediction webhooks to
(mounted at /webhooks/replicate).

Each delivery is answered, in this order of checks:

- 405 unless it is a POST; 413 if the body is over `max_body` (refused on its Content-Length before reading,
  or as soon as a streamed body passes the limit);
- 503 if the account's webhook secret cannot be had (the fetch failed, or the secret is empty), so
  that Replicate tries again later;
- 401 if a header is missing, the timestamp is more than `tolerance` seconds old or ahead, or no signature
  matches; the JSON reason is short and never holds the secret or a signature;
- 400 if the verified body is not a JSON object with an "id";
- 200 `{"status": "duplicate"}` for a webhook-id already handed over within the replay window. Replicate
  retries the final delivery, with the same webhook-id, until it sees a 2xx; the prediction was handed over
  already, so 200 ends those retries without losing anything, where a 4xx would only make them go on;
- 500 if `on_prediction` raised (logged): the webhook-id is forgotten, so Replicate's retry is processed;
- 200 `{"status": "accepted"}` once `on_prediction` has returned.

The secret is fetched on the first delivery and cached. When no signature matches (or the secret is
unusable) the account's secret may have been rotated: it is fetched again, at most once a minute, and
verification retried once. A webhook-id is remembered for twice the tolerance: a delivery dated up to
`tolerance` ahead stays valid that long.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from replicate_mcp.api import (
    ReplayCache,
    WebhookSecretError,
    WebhookSignatureError,
    WebhookVerificationError,
    verify_webhook,
)

log = logging.getLogger(__name__)

REFRESH_INTERVAL = 60.0  # seconds between two fetches of a secret that failed to verify a delivery


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WebhookReceiver:
    """An ASGI app that accepts Replicate's webhook deliveries (mounted at /webhooks/replicate)."""

    def __init__(
        self,
        *,
        fetch_secret: Callable[[], Awaitable[str]],
        on_prediction: Callable[[dict[str, Any]], Awaitable[None]],
        tolerance: float = 300.0,
        max_body: int = 4 * 2**20,
        replays: Any = None,
    ) -> None:
        self._fetch_secret = fetch_secret
        self._on_prediction = on_prediction
        self.tolerance = tolerance
        self.max_body = max_body
        self.replays = replays if replays is not None else ReplayCache(window=2 * tolerance)
        self._secret: str | None = None
        self._refreshed_at = -math.inf
        self._secret_lock = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"WebhookReceiver serves HTTP only, not {scope['type']!r}")
        request = Request(scope, receive)
        try:
            status, content = await self._handle(request)
        except _Refused as refused:
            log.info("webhook delivery refused (%d): %s", refused.status, refused.reason)
            status, content = refused.status, {"error": refused.reason}
        headers = {"allow": "POST"} if status == 405 else None
        await JSONResponse(content, status_code=status, headers=headers)(scope, receive, send)

    async def _handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.method != "POST":
            raise _Refused(405, "only POST is accepted here")
        body = await self._read_body(request)
        now = time.time()
        await self._verify(request.headers, body, now)
        prediction = _parse_prediction(body)
        msg_id = request.headers["webhook-id"]
        if self.replays.seen_before(msg_id, now):
            log.info("webhook %s (prediction %s) was handed over before: not again", msg_id, prediction["id"])
            return 200, {"status": "duplicate"}
        handed_over = False
        try:
            await self._on_prediction(prediction)
            handed_over = True
        except Exception:
            log.exception("webhook %s: handling prediction %s failed", msg_id, prediction["id"])
            return 500, {"error": "the prediction could not be processed here; deliver it again later"}
        finally:
            if not handed_over:  # failed or cancelled: Replicate's retry must not be taken for a replay
                self.replays.forget(msg_id)
        return 200, {"status": "accepted"}

    async def _read_body(self, request: Request) -> bytes:
        too_large = _Refused(413, f"the body is larger than {self.max_body} bytes")
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > self.max_body:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                raise too_large
        return bytes(body)

    async def _verify(self, headers, body: bytes, now: float) -> None:
        secret = await self._current_secret()
        try:
            verify_webhook(headers, body, secret, tolerance=self.tolerance, now=now)
            return
        except (WebhookSignatureError, WebhookSecretError) as exc:
            failure = exc  # perhaps the account's secret was rotated
        except WebhookVerificationError as exc:
            raise _refusal(exc) from None
        fresh = await self._refreshed_secret(secret)
        if fresh is None:
            raise _refusal(failure)
        try:
            verify_webhook(headers, body, fresh, tolerance=self.tolerance, now=now)
        except WebhookVerificationError as exc:
            raise _refusal(exc) from None

    async def _current_secret(self) -> str:
        async with self._secret_lock:
            if self._secret is None:
                self._secret = await self._fetch()
            return self._secret

    async def _refreshed_secret(self, failed: str) -> str | None:
        """A secret other than `failed`, fetched anew unless that was done less than a minute ago."""
        async with self._secret_lock:
            if self._secret != failed:  # another delivery has refreshed it meanwhile
                return self._secret
            if time.monotonic() - self._refreshed_at < REFRESH_INTERVAL:
                return None
            self._refreshed_at = time.monotonic()
            self._secret = await self._fetch()
            return self._secret if self._secret != failed else None

    async def _fetch(self) -> str:
        try:
            return await self._fetch_secret()
        except Exception as exc:
            log.warning("cannot fetch the webhook secret: %s: %s", type(exc).__name__, exc)
            raise _Refused(503, "the webhook secret is unavailable here; deliver it again later") from None


def _refusal(exc: WebhookVerificationError) -> _Refused:
    if isinstance(exc, WebhookSecretError):
        log.warning("webhook deliveries cannot be verified: %s", exc)
        return _Refused(503, "there is no usable webhook secret here; deliver it again later")
    return _Refused(401, str(exc))


def _parse_prediction(body: bytes) -> dict[str, Any]:
    try:
        prediction = json.loads(body)
    except (ValueError, RecursionError):
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(prediction, dict) or not isinstance(prediction.get("id"), str) or not prediction["id"]:
        raise _Refused(400, 'the body is not a JSON object with an "id"')
    return prediction
