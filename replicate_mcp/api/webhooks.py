"""Webhook signatures (Standard Webhooks, as Replicate signs them)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime

from ._errors import WebhookVerificationError

DEFAULT_TOLERANCE = 300.0


def sign_webhook(msg_id: str, timestamp: int | str, body: bytes, secret: str) -> str:
    """The `webhook-signature` value ("v1,<base64>") for a delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | datetime | None = None,
) -> None:
    """Raise WebhookVerificationError unless `body` was signed with `secret` within `tolerance` seconds of `now`.

    `headers` are matched case-insensitively; `body` must be the raw bytes received, not re-serialized JSON.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
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

    expected = sign_webhook(msg_id, timestamp, body, secret).split(",", 1)[1].encode()
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return
    raise WebhookVerificationError("No matching webhook signature")


def _secret_key(secret: str) -> bytes:
    encoded = secret.split("_", 1)[1] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "Webhook secret is not valid base64 (expected 'whsec_<base64>')"
        ) from None


def _unix(now: float | datetime | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return now.timestamp()
    return float(now)
