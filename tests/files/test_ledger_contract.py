"""One contract, two engines: the embedded SQLite ledger and the Redis ledger behave alike.

The Redis one runs against a real redis-server on loopback (see tests/conftest.py).
"""

import uuid

import pytest

from replicate_mcp.files import ArchivedFile, Ledger
from replicate_mcp.files.redis_ledger import RedisLedger


@pytest.fixture(params=["sqlite", "redis"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        made = Ledger(tmp_path / "ledger.sqlite3")
    else:
        made = RedisLedger.from_url(request.getfixturevalue("redis_url"), prefix=f"t{uuid.uuid4().hex[:8]}:")
    yield made
    made.close()


def p(id, status="starting", **fields):
    return {"id": id, "status": status, **fields}


def archived(i: int) -> ArchivedFile:
    return ArchivedFile(
        index=i,
        url=f"https://replicate.delivery/x/{i}.png",
        path=f"/tmp/out/{i}.png",
        mime_type="image/png",
        size=10 + i,
        sha256="ab" * 32,
    )


def test_record_update_and_read_back(ledger):
    assert (
        ledger.record(
            p("a"),
            model="m/n",
            input={"prompt": "x", "key": "s3cr3t"},
            secret_fields=["key"],
            keep_running=False,
            output_kind="files",
            tenant="alice",
        )
        is True
    )
    assert ledger.record(p("a"), model="m/n", input={}) is False
    ledger.update(p("a", "processing", started_at="2026-12-01T10:00:00Z"))
    ledger.update(
        p(
            "a",
            "succeeded",
            output=["https://replicate.delivery/x/0.png"],
            completed_at="2026-12-01T10:00:05Z",
        )
    )
    entry = ledger.get("a")
    assert (entry.status, entry.started_at, entry.completed_at) == (
        "succeeded",
        "2026-12-01T10:00:00Z",
        "2026-12-01T10:00:05Z",
    )
    assert entry.input == {"prompt": "x", "key": "***"}
    assert (entry.keep_running, entry.output_kind, entry.tenant, entry.file_outputs) == (
        False,
        "files",
        "alice",
        1,
    )
    assert ledger.unarchived() == ["a"]
    ledger.add_files("a", [archived(0)])
    assert ledger.unarchived() == [] and ledger.files("a") == [archived(0)]
    ledger.keep("a")
    ledger.set_deadline("a", "2026-12-01T11:00:00Z")
    assert ledger.get("a").keep_running is True and ledger.get("a").deadline == "2026-12-01T11:00:00Z"
    ledger.update(p("a", "succeeded", output=None, data_removed=True))
    assert ledger.get("a").output == ["https://replicate.delivery/x/0.png"] and ledger.get("a").data_removed


def test_pending_order_and_tenant_lists(ledger):
    for n, tenant in enumerate(["alice", "bob", "alice", "bob"]):
        ledger.record(p(f"id{n}"), model="m/n", input={}, tenant=tenant)
    ledger.update(p("id1", "failed"))
    assert ledger.pending() == ["id0", "id2", "id3"]
    assert [e.id for e in ledger.list()] == ["id3", "id2", "id1", "id0"]
    assert [e.id for e in ledger.list(tenant="alice")] == ["id2", "id0"]
    assert [e.id for e in ledger.list(limit=1, before="id2", tenant="bob")] == ["id1"]
    assert ledger.claimed(["id0", "nope"]) == {"id0"}
    assert (ledger.running("alice"), ledger.running("bob"), ledger.running("carol")) == (2, 1, 0)


def test_intents_from_open_to_settled(ledger):
    first = ledger.open_intent(
        target={"model": "m/n"},
        model="m/n",
        input_hash="h1",
        input={"t": 1},
        call="run_model#3",
        tenant="alice",
    )
    second = ledger.open_intent(target={"model": "m/n"}, model="m/n", input_hash="h2", input={"t": 2})
    assert [i.key for i in ledger.unresolved_intents()] == [first.key, second.key]
    ledger.complete_intent(first, p("made"))
    assert ledger.created_by(first.key) == "made" and ledger.get("made").tenant == "alice"
    ledger.settle_intent(second.key, "unknown", "dropped")
    assert [i.key for i in ledger.unresolved_intents()] == [second.key]
    ledger.settle_intent(second.key, "not_created", "checked")
    assert ledger.unresolved_intents() == []
    settled = ledger.intent(first.key)
    assert (settled.state, settled.prediction_id, settled.call, settled.tenant) == (
        "created",
        "made",
        "run_model#3",
        "alice",
    )
    assert ledger.intent(second.key).state == "not_created"


def test_spend_is_added_only_within_the_cap(ledger):
    assert ledger.add_spend("alice:2026-12-01", 0.006, 0.01) == (True, 0.0)
    assert ledger.add_spend("alice:2026-12-01", 0.006, 0.01) == (False, 0.006)
    assert ledger.add_spend("bob:2026-12-01", 0.009, 0.01) == (True, 0.0)
    assert ledger.add_spend("alice:2026-12-01", 0.003, None) == (True, 0.006)
    assert (
        round(ledger.get_spend("alice:2026-12-01"), 6) == 0.009
        and ledger.get_spend("carol:2026-12-01") == 0.0
    )


def test_sealed_secrets(ledger):
    assert ledger.get_secret("token:alice") is None
    ledger.put_secret("token:alice", "gAAAA-sealed-1")
    ledger.put_secret("token:alice", "gAAAA-sealed-2")
    assert ledger.get_secret("token:alice") == "gAAAA-sealed-2"
