"""Who follows which prediction, when several replicas share one ledger; and how the others hear of it.

A replica follows a prediction only while it holds that prediction's lease (a Redis key with a short expiry
that the holder keeps renewing). A replica that dies stops renewing, its leases expire, and the next replica
to scan the ledger's unfinished predictions takes them over. Every state a follower (or a webhook receiver)
learns is published, so a call waiting on any replica sees it. One process alone needs none of this:
`LocalCoordination` holds every lease and publishes to no one.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

import anyio

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
Listener = Callable[[dict[str, Any]], Awaitable[None]]


class Coordination(Protocol):
    replica: str
    lease_seconds: float
    shared: bool

    def claim(self, prediction_id: str) -> bool: ...
    def release(self, prediction_id: str) -> None: ...
    def renew(self, prediction_ids: list[str]) -> list[str]: ...
    def publish(self, event: dict[str, Any]) -> None: ...
    async def listen(self, on_event: Listener) -> None: ...


class LocalCoordination:
    """One process: it holds every lease, and nobody else is listening."""

    shared = False
    lease_seconds = LEASE_SECONDS

    def __init__(self) -> None:
        self.replica = "local"

    def claim(self, prediction_id: str) -> bool:
        return True

    def release(self, prediction_id: str) -> None:
        return None

    def renew(self, prediction_ids: list[str]) -> list[str]:
        return prediction_ids

    def publish(self, event: dict[str, Any]) -> None:
        return None

    async def listen(self, on_event: Listener) -> None:
        await anyio.sleep_forever()


# KEYS[1] = lease key; ARGV[1] = replica, ARGV[2] = milliseconds. Take it if free, extend it if ours.
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def shared_secret(url: str, name: str, *, prefix: str = "rmcp:") -> bytes:
    """A random secret all replicas of one Redis agree on: the first makes it (SET NX), the others read it."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        key = f"{prefix}{name}"
        client.set(key, secrets.token_bytes(32), nx=True)
        value = client.get(key)
    finally:
        client.close()
    if not isinstance(value, bytes):
        raise RuntimeError(f"Redis at --state did not keep {key}")
    return value


class RedisReplayCache:
    """Webhook ids seen by any replica (Redis `SET id NX PX window`):
    a replayed delivery is refused by all of them."""

    def __init__(self, url: str, *, window: float, prefix: str = "rmcp:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.window = window
        self.prefix = prefix

    def seen_before(self, msg_id: str, now: float) -> bool:
        first = self.redis.set(f"{self.prefix}webhook:{msg_id}", "1", nx=True, px=int(self.window * 1000))
        return not first

    def forget(self, msg_id: str) -> None:
        self.redis.delete(f"{self.prefix}webhook:{msg_id}")


class RedisCoordination:
    shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "rmcp:",
        lease_seconds: float = LEASE_SECONDS,
        replica: str | None = None,
    ) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.replica = replica or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._claim = self.redis.register_script(_CLAIM)
        self._release = self.redis.register_script(_RELEASE)
        self.channel = f"{prefix}events"

    def _lease(self, prediction_id: str) -> str:
        return f"{self.prefix}lease:{prediction_id}"

    def claim(self, prediction_id: str) -> bool:
        return bool(
            self._claim(
                keys=[self._lease(prediction_id)], args=[self.replica, int(self.lease_seconds * 1000)]
            )
        )

    def release(self, prediction_id: str) -> None:
        self._release(keys=[self._lease(prediction_id)], args=[self.replica])

    def renew(self, prediction_ids: list[str]) -> list[str]:
        """Extend every lease held; the ids whose lease was lost (taken over) are returned."""
        if not prediction_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for prediction_id in prediction_ids:
            self._claim(
                keys=[self._lease(prediction_id)],
                args=[self.replica, int(self.lease_seconds * 1000)],
                client=pipe,
            )
        held = pipe.execute()
        return [i for i, ok in zip(prediction_ids, held, strict=True) if not ok]

    def holder(self, prediction_id: str) -> str | None:
        # a decoded reply (decode_responses=True), which redis-py's types cannot tell from bytes
        return cast(str | None, self.redis.get(self._lease(prediction_id)))

    def publish(self, event: dict[str, Any]) -> None:
        self.redis.publish(self.channel, json.dumps({**event, "replica": self.replica}))

    async def listen(self, on_event: Listener) -> None:
        """Every event another replica publishes, until cancelled;
        reconnects if Redis goes away for a while."""
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        while True:
            client = aioredis.Redis.from_url(self.url, decode_responses=True)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        event = json.loads(message["data"])
                        if event.get("replica") != self.replica:
                            await on_event(event)
            except (OSError, RedisError) as exc:
                log.warning("lost the Redis event channel (%s); reconnecting", type(exc).__name__)
                await anyio.sleep(1.0)
            finally:
                await client.aclose()

    def close(self) -> None:
        self.redis.close()
