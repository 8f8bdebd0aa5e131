"""Signed webhook delivery (Standard Webhooks), throttled like Replicate's;
https:// URLs only, as on Replicate.

Delivering to any URL an agent names would let it make requests from the user's machine (to its LAN, to
services on loopback); plain http is accepted only when the sandbox was started to allow it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx2

from .util import new_id

log = logging.getLogger(__name__)

ALL_EVENTS = ("start", "output", "logs", "completed")
THROTTLE_MODEL_SECONDS = 0.5


INSECURE_HINT = (
    "start the sandbox with --allow-insecure-webhooks (SandboxConfig(allow_insecure_webhooks=True))"
)


def webhook_url_problem(url: object, *, allow_insecure: bool) -> str | None:
    """Why `url` is not accepted as a webhook, or None."""
    if not isinstance(url, str):
        return "Invalid type. Expected: string"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "Does not match format 'uri'"
    if parts.scheme.lower() == "http" and not allow_insecure:
        return f"must be an https:// URL; to deliver to plain http, {INSECURE_HINT}"
    return None


def new_secret(rng: random.Random) -> str:
    return "whsec_" + base64.b64encode(bytes(rng.getrandbits(8) for _ in range(24))).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class _Channel:
    """Delivery state of one prediction's webhook: ordered sends plus output/logs throttling."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self.worker: asyncio.Task | None = None
        self.last_progress = -1e18
        self.pending: asyncio.TimerHandle | None = None


class WebhookSender:
    def __init__(
        self,
        secret: str,
        *,
        wall: Callable[[float], float],
        retries: int,
        rng: random.Random,
        allow_insecure: bool = False,
    ) -> None:
        self.secret = secret
        self.allow_insecure = allow_insecure
        self.wall = wall
        self.retries = retries
        self.rng = rng
        self.delivered: int = 0
        self._client: httpx2.AsyncClient | None = None
        self._channels: dict[str, _Channel] = {}

    def notify(
        self, key: str, url: str, events: list[str], event: str, snapshot: Callable[[], dict[str, Any]]
    ) -> None:
        """Called by the engine on start/output/logs/completed; `snapshot` renders the object at send time."""
        if event not in events:
            return
        if problem := webhook_url_problem(url, allow_insecure=self.allow_insecure):
            log.warning("webhook %s to %s not delivered: %s", event, url, problem)
            return
        channel = self._channels.setdefault(key, _Channel())
        if channel.worker is None:
            channel.worker = asyncio.get_running_loop().create_task(self._work(url, channel))
        loop = asyncio.get_running_loop()
        if event in ("output", "logs"):
            gap = self.wall(THROTTLE_MODEL_SECONDS)
            due = channel.last_progress + gap
            if loop.time() >= due and channel.pending is None:
                channel.last_progress = loop.time()
                channel.queue.put_nowait((event, _compact(snapshot())))
            elif channel.pending is None:

                def fire() -> None:
                    channel.pending = None
                    channel.last_progress = loop.time()
                    channel.queue.put_nowait((event, _compact(snapshot())))

                channel.pending = loop.call_at(due, fire)
            return
        if event == "completed" and channel.pending is not None:
            channel.pending.cancel()
            channel.pending = None
        channel.queue.put_nowait((event, _compact(snapshot())))
        if event == "completed":
            channel.queue.put_nowait(None)

    async def _work(self, url: str, channel: _Channel) -> None:
        while (item := await channel.queue.get()) is not None:
            event, body = item
            attempts = 1 + (self.retries if event == "completed" else 0)
            msg_id = "msg_" + new_id(self.rng, 27)
            for attempt in range(attempts):
                if await self._post(url, msg_id, body):
                    break
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.wall(2.0**attempt))

    async def _post(self, url: str, msg_id: str, body: bytes) -> bool:
        if self._client is None:
            self._client = httpx2.AsyncClient(timeout=10.0)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Webhooks/1.66.0 (replicate-mcp-sandbox)",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.secret, msg_id, timestamp, body),
        }
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            log.info("webhook %s to %s failed: %s", msg_id, url, exc)
            return False
        self.delivered += 1
        if response.status_code >= 300:
            log.info("webhook %s to %s answered %s", msg_id, url, response.status_code)
            return False
        return True

    async def aclose(self) -> None:
        for channel in self._channels.values():
            if channel.pending:
                channel.pending.cancel()
            if channel.worker:
                channel.worker.cancel()
        if self._client is not None:
            await self._client.aclose()


def _compact(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
