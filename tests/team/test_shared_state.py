"""What replicas share besides the ledger:
live uploads, seen webhook ids, and the key of sealed request state."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from replicate_mcp.config import load_settings
from replicate_mcp.files.inputs import _UploadCache
from replicate_mcp.files.records import UploadedFile
from replicate_mcp.files.redis_ledger import RedisUploadCache
from replicate_mcp.runs.coordination import RedisReplayCache
from replicate_mcp.server.app import _request_state


@pytest.fixture(params=["sqlite", "redis"])
def uploads(request, tmp_path):
    if request.param == "sqlite":
        return _UploadCache(tmp_path / "uploads.sqlite3")
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"), decode_responses=True)
    return RedisUploadCache(client, prefix=f"t{uuid.uuid4().hex[:8]}:")


def uploaded(file_id: str) -> UploadedFile:
    return UploadedFile(
        url=f"https://api.replicate.com/v1/files/{file_id}",
        id=file_id,
        name="dog.png",
        size=10,
        sha256="ab" * 32,
        mime_type="image/png",
        reused=False,
        expires_at="2026-12-02T10:00:00Z",
    )


def test_live_uploads_are_found_by_key_until_they_expire_or_are_forgotten(uploads):
    now = time.time()
    uploads.put("alice/" + "ab" * 32, uploaded("f1"), now + 3600)
    assert uploads.get("alice/" + "ab" * 32, now + 60) == (
        "f1",
        "https://api.replicate.com/v1/files/f1",
        now + 3600,
    )
    assert uploads.get("bob/" + "ab" * 32, now + 60) is None  # one person's upload is not another's
    assert uploads.get("alice/" + "ab" * 32, now + 7200) is None  # would expire before it could be used
    uploads.forget("f1")
    assert uploads.get("alice/" + "ab" * 32, now + 60) is None


def test_a_webhook_seen_by_one_replica_is_refused_by_another(redis_url):
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    first, second = (RedisReplayCache(redis_url, window=600, prefix=prefix) for _ in range(2))
    now = time.time()
    assert first.seen_before("msg_1", now) is False
    assert second.seen_before("msg_1", now) is True
    second.forget("msg_1")  # processing failed there: the retry must be taken
    assert first.seen_before("msg_1", now) is False


def test_replicas_with_one_state_key_open_each_others_request_state():
    key = "k" * 43 + "="
    one, two = (load_settings({"state_key": key}, env={}) for _ in range(2))
    other = load_settings({"state_key": "z" * 43 + "="}, env={})
    sealed = _request_state(one).codec.seal(b'{"round":1}')
    assert _request_state(two).codec.unseal(sealed) == b'{"round":1}'
    with pytest.raises(Exception):  # noqa: B017 - the SDK's codec raises its own error for a foreign key
        _request_state(other).codec.unseal(sealed)
    assert _request_state(load_settings({}, env={})) is None


def test_without_a_state_key_replicas_share_one_kept_in_redis(redis_url):
    redis.Redis.from_url(redis_url).delete("rmcp:request-state-key")
    first, second = (load_settings({"state": redis_url}, env={}) for _ in range(2))
    sealed = _request_state(first).codec.seal(b'{"round":2}')
    assert _request_state(second).codec.unseal(sealed) == b'{"round":2}'
    assert len(redis.Redis.from_url(redis_url).get("rmcp:request-state-key")) == 32


def test_a_budget_holds_across_replicas_per_person_and_day(redis_url):
    from replicate_mcp.files.redis_ledger import RedisLedger
    from replicate_mcp.pricing import OverBudget, Spend, price_table

    ledger = RedisLedger.from_url(redis_url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    one = price_table().before(
        "black-forest-labs/flux-schnell", official=True, input={"num_outputs": 2}, example_seconds=None
    )
    on_replica_1, on_replica_2 = (
        Spend(max_per_run=None, budget=one.high * 1.5, shared=ledger, account="alice") for _ in range(2)
    )
    on_replica_1.reserve([one])
    with pytest.raises(
        OverBudget,
        match=r"spent today \(UTC\)\), and this would cost about .* It starts again at "
        r"midnight UTC, or ask the user to raise --budget",
    ):
        on_replica_2.reserve([one])
    Spend(max_per_run=None, budget=one.high * 1.5, shared=ledger, account="bob").reserve(
        [one]
    )  # bob's own budget
    assert round(on_replica_2.spent, 6) == round(one.high, 6)
