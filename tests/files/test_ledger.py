from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from replicate_mcp.api.objects import Prediction
from replicate_mcp.files import ArchivedFile, Ledger


def prediction(id: str, status: str = "starting", **fields) -> dict:
    return {
        "id": id,
        "model": "black-forest-labs/flux-schnell",
        "version": "hidden",
        "status": status,
        "created_at": "2026-04-01T10:00:00.000Z",
        "output": None,
        "error": None,
        **fields,
    }


def archived(index: int) -> ArchivedFile:
    return ArchivedFile(
        index=index,
        url=f"https://replicate.delivery/x/out-{index}.webp",
        path=f"/tmp/out/p1/out-{index}.webp",
        mime_type="image/webp",
        size=10 + index,
        sha256="ab" * 32,
    )


def test_entries_survive_closing_and_reopening(tmp_path: Path):
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.record(
            prediction("p1"),
            model="black-forest-labs/flux-schnell",
            input={"prompt": "a cat", "api_key": "sk-secret"},
            secret_fields={"api_key"},
        )
        ledger.update(
            prediction(
                "p1",
                "succeeded",
                started_at="2026-04-01T10:00:01Z",
                completed_at="2026-04-01T10:00:03Z",
                output=["https://replicate.delivery/x/out-0.webp"],
            )
        )
        ledger.add_files("p1", [archived(0)])
    with Ledger(db) as reopened:
        entry = reopened.get("p1")
    assert entry is not None
    assert entry.model == "black-forest-labs/flux-schnell" and entry.version == "hidden"
    assert entry.input == {"prompt": "a cat", "api_key": "***"}
    assert entry.status == "succeeded"
    assert (entry.created_at, entry.started_at, entry.completed_at) == (
        "2026-04-01T10:00:00.000Z",
        "2026-04-01T10:00:01Z",
        "2026-04-01T10:00:03Z",
    )
    assert entry.updated_at and entry.output == ["https://replicate.delivery/x/out-0.webp"]
    assert entry.files == [archived(0)] and entry.file_outputs == 1


def test_secret_never_reaches_the_database_file(tmp_path: Path):
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.record(
            prediction("p1"),
            model="m/n",
            input={"hf_token": "hf_verysecretvalue"},
            secret_fields=["hf_token"],
        )
    assert b"verysecretvalue" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_data_uris_are_stored_shortened(tmp_path: Path):
    big = "data:image/png;base64," + "A" * 100_000
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.record(prediction("p1"), model="m/n", input={"image": big})
        ledger.update(prediction("p1", "succeeded", output=[big]))
        entry = ledger.get("p1")
    assert entry.input["image"].startswith("data:image/png;base64,") and len(entry.input["image"]) < 100
    assert len(entry.output[0]) < 100 and entry.file_outputs == 1


def test_output_is_kept_after_data_removal(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.record(prediction("p1"), model="meta/llama", input={})
        ledger.update(prediction("p1", "succeeded", output=["Hello", " world"]))
        ledger.update(prediction("p1", "succeeded", output=None, data_removed=True))
        entry = ledger.get("p1")
    assert entry.output == ["Hello", " world"] and entry.data_removed


def test_pending_and_unarchived(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as ledger:
        for id in ("a", "b", "c", "d", "e", "f"):
            ledger.record(prediction(id), model="m/n", input={})
        ledger.update(prediction("b", "processing"))
        ledger.update(prediction("c", "succeeded", output=["https://replicate.delivery/c/out.png"]))
        ledger.update(prediction("d", "succeeded", output="just text"))
        ledger.update(prediction("e", "aborted"))
        ledger.update(prediction("f", "succeeded", output={"image": "https://replicate.delivery/f/o.png"}))
        ledger.add_files("f", [archived(0)])
        assert ledger.pending() == ["a", "b"]
        assert ledger.unarchived() == ["c"]


def test_list_is_newest_first_and_pages_with_before(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as ledger:
        for i in range(5):
            ledger.record(prediction(f"p{i}"), model="m/n", input={"i": i})
        assert [e.id for e in ledger.list(limit=2)] == ["p4", "p3"]
        assert [e.id for e in ledger.list(limit=10, before="p3")] == ["p2", "p1", "p0"]
        assert ledger.list(before="unknown") == []


def test_files_in_index_order_and_replaced_on_rearchive(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.record(prediction("p1"), model="m/n", input={})
        ledger.add_files("p1", [archived(1), archived(0)])
        ledger.add_files("p1", [archived(0)])
        assert [f.index for f in ledger.files("p1")] == [0, 1]
        assert ledger.files("nope") == []


def test_update_of_an_unknown_prediction_changes_nothing(tmp_path: Path):
    with Ledger(tmp_path / "l.db") as ledger:
        assert ledger.update(prediction("ghost", "succeeded")) is False
        assert ledger.get("ghost") is None


def test_accepts_api_prediction_objects(tmp_path: Path):
    p = Prediction.model_validate(prediction("p1", "processing", input={"prompt": "x"}, urls={}))
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.record(p, model="black-forest-labs/flux-schnell", input={"prompt": "x"})
        assert ledger.get("p1").status == "processing"


def test_wal_mode_and_use_from_many_threads(tmp_path: Path):
    db = tmp_path / "l.db"
    ledger = Ledger(db)

    def work(n: int) -> None:
        for i in range(20):
            ledger.record(prediction(f"t{n}-{i}"), model="m/n", input={})
            ledger.update(prediction(f"t{n}-{i}", "succeeded"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.list(limit=1000)) == 80 and ledger.pending() == []
    ledger.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
