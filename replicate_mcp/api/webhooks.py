"""Webhook signatures (Standard Webhooks, as Replicate signs them) and a replay cache for receivers.

A secret that is empty (`""`, `"whsec_"`, blank, or a key of zero bytes) is refused: an HMAC under an empty
key is something anyone can compute, so "verified" would mean nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime

from ._errors import WebhookVerificationError

DEFAULT_TOLERANCE = 300.0


class WebhookSecretError(WebhookVerificationError):
    """The secret itself is unusable (empty or not base64): nothing can be verified with it."""


class WebhookSignatureError(WebhookVerificationError):
    """No listed signature matches under this secret (the body was altered, or the secret was rotated)."""


def sign_webhook(msg_id: str, timestamp: int | str, body: bytes, secret: str) -> str:
    """The `webhook-signature` value ("v1,<base64>") for a delivery."""
    return "v1," + _signature(msg_id, timestamp, body, _secret_key(secret))


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | datetime | None = None,
) -> None:
    """Raise WebhookVerificationError unless `secret` signed `body` within `tolerance` seconds of `now`.

    `headers` are matched case-insensitively; `body` must be the raw bytes received, not re-serialized JSON.
    The header may list several space-separated signatures; one matching `v1` signature is enough.
    """
    key = _secret_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("Invalid webhook-timestamp header") from None
    current = _unix(now)
    if sent_at < current - tolerance:
        raise WebhookVerificationError("Webhook timestamp is too old")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("Webhook timestamp is in the future")

    expected = _signature(msg_id, timestamp, body, key).encode()
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return
    raise WebhookSignatureError("No matching webhook signature")


class ReplayCache:
    """Webhook ids seen recently, so that a captured delivery is not processed twice.

    An id is remembered for `window` seconds after it is first seen (a receiver passes twice its timestamp
    tolerance: a delivery dated up to `tolerance` ahead stays acceptable that long). Memory is bounded:
    expired ids are dropped as new ones arrive, and past `max_entries` the oldest go first. The interface is
    two calls so that a shared store (Redis `SET id 1 NX EX window`) can take its place.
    """

    def __init__(self, *, window: float = 2 * DEFAULT_TOLERANCE, max_entries: int = 50_000) -> None:
        if window <= 0 or max_entries < 1:
            raise ValueError("ReplayCache needs a positive window and max_entries >= 1")
        self.window = window
        self.max_entries = max_entries
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def seen_before(self, msg_id: str, now: float) -> bool:
        """True if `msg_id` was seen within the window;
        otherwise remember it (from `now`) and return False."""
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)
        expiry = self._expiry.get(msg_id)
        if expiry is not None and expiry > now:
            return True
        self._expiry[msg_id] = now + self.window
        self._expiry.move_to_end(msg_id)
        while len(self._expiry) > self.max_entries:
            self._expiry.popitem(last=False)
        return False

    def forget(self, msg_id: str) -> None:
        """Drop `msg_id`, so that a redelivery is processed (after processing it failed)."""
        self._expiry.pop(msg_id, None)

    def __len__(self) -> int:
        return len(self._expiry)


def _signature(msg_id: str, timestamp: int | str, body: bytes, key: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _secret_key(secret: str) -> bytes:
    encoded = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("Webhook secret is not valid base64 (expected 'whsec_<base64>')") from None
    if not key:
        raise WebhookSecretError(
            "There is no webhook secret (it is empty): fetch it with GET /v1/webhooks/default/secret"
        )
    return key


def _unix(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)
