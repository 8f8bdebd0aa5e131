"""A small SQLite record of every prediction this server started or followed,
and the files archived from each.

The ledger is written first: an intent (what is about to be created, with a hash of the input) is stored
durably before a create is sent, and the create's answer completes it. An intent left `sending` or
`unknown` (the process died, or the answer was lost) is reconciled against Replicate's list of
predictions before anything is retried.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from .records import ArchivedFile, abbreviate_data_uris, count_file_outputs

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled", "aborted"})
SECRET_MASK = "***"
UNRESOLVED = ("sending", "unknown")  # intents whose create may or may not have made a prediction
# Columns added after the first release; older ledgers get them on open.
ADDED_COLUMNS = {
    "keep_running": "INTEGER NOT NULL DEFAULT 1",
    "output_kind": "TEXT NOT NULL DEFAULT ''",
    "intent": "TEXT",
    "origin": "TEXT NOT NULL DEFAULT 'created'",
    "kind": "TEXT NOT NULL DEFAULT 'prediction'",  # or "training": followed the same way
    "deadline": "TEXT",  # trainings: when the server cancels it (no Cancel-After)
    "tenant": "TEXT NOT NULL DEFAULT 'local'",  # whose it is, when the server serves several people
}
ADDED_FILE_COLUMNS = {"stored": "TEXT"}
ADDED_INTENT_COLUMNS = {
    "kind": "TEXT NOT NULL DEFAULT 'prediction'",
    "tenant": "TEXT NOT NULL DEFAULT 'local'",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    version TEXT,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT,
    started_at TEXT,
    completed_at TEXT,
    updated_at TEXT NOT NULL,
    error TEXT,
    output TEXT,
    file_outputs INTEGER NOT NULL DEFAULT 0,
    data_removed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS intents (
    key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    target TEXT NOT NULL,
    model TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    input TEXT NOT NULL,
    call TEXT,
    keep_running INTEGER NOT NULL DEFAULT 0,
    output_kind TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    prediction_id TEXT,
    error TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_state ON intents (state);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, sealed TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend (key TEXT PRIMARY KEY, spent REAL NOT NULL);
CREATE TABLE IF NOT EXISTS archived_files (
    prediction_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (prediction_id, idx)
);
"""


class LedgerEntry(BaseModel):
    id: str
    model: str
    version: str | None = None
    input: dict[str, Any]
    status: str
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    updated_at: str
    error: str | None = None
    output: Any = None  # last output seen, data: URIs abbreviated (the files themselves are archived)
    file_outputs: int = 0  # how many file URLs / data URIs that output held
    data_removed: bool = False
    keep_running: bool = True
    output_kind: str = ""
    origin: str = "created"  # created by this server, or "observed": another's that an agent asked about
    kind: str = "prediction"  # or "training"
    deadline: str | None = None
    tenant: str = "local"
    files: list[ArchivedFile] = []


class Intent(BaseModel):
    """A create about to be sent, or sent: `state` is sending, created, not_created or unknown."""

    key: str
    created_at: str
    target: dict[str, str]
    model: str
    input_hash: str
    input: dict[str, Any]
    call: str | None = None
    keep_running: bool = False
    output_kind: str = ""
    kind: str = "prediction"
    tenant: str = "local"
    state: str
    prediction_id: str | None = None
    error: str | None = None
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _field(prediction: Any, name: str) -> Any:
    if isinstance(prediction, Mapping):
        return prediction.get(name)
    return getattr(prediction, name, None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def new_intent(
    *,
    target: Mapping[str, str],
    model: str,
    input_hash: str,
    input: Mapping[str, Any],
    secret_fields: Iterable[str],
    call: str | None,
    keep_running: bool,
    output_kind: str,
    kind: str,
    tenant: str,
) -> Intent:
    """A create about to be sent, as both ledgers write it down (the input as given, secrets masked)."""
    now = _now()
    return Intent(
        key=uuid.uuid4().hex,
        created_at=now,
        target=dict(target),
        model=model,
        input_hash=input_hash,
        input=abbreviate_data_uris(mask_secrets(input, secret_fields)),
        call=call,
        keep_running=keep_running,
        output_kind=output_kind,
        kind=kind,
        state="sending",
        updated_at=now,
        tenant=tenant,
    )


def mask_secrets(input: Mapping[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    secrets = set(secret_fields)
    return {k: (SECRET_MASK if k in secrets and v is not None else v) for k, v in input.items()}


class LedgerStore(Protocol):
    """What the server asks of a ledger: the SQLite `Ledger` and the Redis `RedisLedger` are each one
    (tests/files/test_ledger_contract.py runs the same tests on both)."""

    def record(
        self,
        prediction: Any,
        *,
        model: str,
        input: Mapping[str, Any],
        secret_fields: Iterable[str] = ...,
        keep_running: bool = ...,
        output_kind: str = ...,
        intent: str | None = ...,
        origin: str = ...,
        kind: str = ...,
        deadline: str | None = ...,
        tenant: str = ...,
    ) -> bool: ...
    def update(self, prediction: Any) -> bool: ...
    def keep(self, prediction_id: str) -> None: ...
    def set_deadline(self, job_id: str, deadline: str) -> None: ...
    def get(self, prediction_id: str) -> LedgerEntry | None: ...
    def running(self, tenant: str) -> int: ...
    def pending(self) -> list[str]: ...
    def unarchived(self) -> list[str]: ...
    def claimed(self, prediction_ids: Iterable[str]) -> set[str]: ...
    def files(self, prediction_id: str) -> list[ArchivedFile]: ...
    def add_files(self, prediction_id: str, files: Iterable[ArchivedFile]) -> None: ...
    def open_intent(
        self,
        *,
        target: Mapping[str, str],
        model: str,
        input_hash: str,
        input: Mapping[str, Any],
        secret_fields: Iterable[str] = ...,
        call: str | None = ...,
        keep_running: bool = ...,
        output_kind: str = ...,
        kind: str = ...,
        tenant: str = ...,
    ) -> Intent: ...
    def complete_intent(self, intent: Intent, prediction: Any, *, deadline: str | None = ...) -> None: ...
    def settle_intent(self, key: str, state: str, error: str | None = ...) -> None: ...
    def created_by(self, key: str) -> str | None: ...
    def intent(self, key: str) -> Intent | None: ...
    def unresolved_intents(self) -> list[Intent]: ...
    def add_spend(self, key: str, amount: float, cap: float | None) -> tuple[bool, float]: ...
    def get_spend(self, key: str) -> float: ...
    def put_secret(self, name: str, sealed: str) -> None: ...
    def get_secret(self, name: str) -> str | None: ...
    def close(self) -> None: ...
    # last: below it, `list` in this class body names the method
    def list(
        self, limit: int = ..., before: str | None = ..., *, tenant: str | None = ...
    ) -> list[LedgerEntry]: ...


class Ledger:
    """Thread-safe for one process: one connection guarded by a lock.
    Reopening the same file gives the same data."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            have = {row["name"] for row in self._db.execute("PRAGMA table_info(predictions)")}
            for name, declaration in ADDED_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE predictions ADD COLUMN {name} {declaration}")
            have = {row["name"] for row in self._db.execute("PRAGMA table_info(archived_files)")}
            for name, declaration in ADDED_FILE_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE archived_files ADD COLUMN {name} {declaration}")
            have = {row["name"] for row in self._db.execute("PRAGMA table_info(intents)")}
            for name, declaration in ADDED_INTENT_COLUMNS.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE intents ADD COLUMN {name} {declaration}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def record(
        self,
        prediction: Any,
        *,
        model: str,
        input: Mapping[str, Any],
        secret_fields: Iterable[str] = (),
        keep_running: bool = True,
        output_kind: str = "",
        intent: str | None = None,
        origin: str = "created",
        kind: str = "prediction",
        deadline: str | None = None,
        tenant: str = "local",
    ) -> bool:
        """Remember a prediction (or training). Pass the input as the agent gave it; secrets are masked.

        False if known before."""
        stored_input = abbreviate_data_uris(mask_secrets(input, secret_fields))
        rows = self._run(
            "INSERT OR IGNORE INTO predictions (id, model, version, input, status, updated_at, keep_running,"
            " output_kind, intent, origin, kind, deadline, tenant) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " RETURNING id",
            (
                _field(prediction, "id"),
                model,
                _field(prediction, "version"),
                json.dumps(stored_input),
                _field(prediction, "status") or "starting",
                _now(),
                int(keep_running),
                output_kind,
                intent,
                origin,
                kind,
                deadline,
                tenant,
            ),
        )
        self.update(prediction)
        return bool(rows)

    def add_spend(self, key: str, amount: float, cap: float | None) -> tuple[bool, float]:
        """Add `amount` to the total under `key` unless that would pass `cap`: (added, the total before)."""
        with self._lock, self._db:
            row = self._db.execute("SELECT spent FROM spend WHERE key=?", (key,)).fetchone()
            spent = row["spent"] if row else 0.0
            if cap is not None and spent + amount > cap:
                return False, spent
            self._db.execute("INSERT OR REPLACE INTO spend VALUES (?,?)", (key, spent + amount))
            return True, spent

    def get_spend(self, key: str) -> float:
        rows = self._run("SELECT spent FROM spend WHERE key=?", (key,))
        return rows[0]["spent"] if rows else 0.0

    def put_secret(self, name: str, sealed: str) -> None:
        """A value sealed by the caller (never a secret in clear)."""
        self._run("INSERT OR REPLACE INTO secrets VALUES (?,?)", (name, sealed))

    def get_secret(self, name: str) -> str | None:
        rows = self._run("SELECT sealed FROM secrets WHERE name=?", (name,))
        return rows[0]["sealed"] if rows else None

    def set_deadline(self, job_id: str, deadline: str) -> None:
        """When the server cancels this training (ISO 8601, UTC)."""
        self._run("UPDATE predictions SET deadline=? WHERE id=?", (deadline, job_id))

    def keep(self, prediction_id: str) -> None:
        """The agent has the id now: the prediction is no longer canceled when its call goes away."""
        self._run("UPDATE predictions SET keep_running=1 WHERE id=?", (prediction_id,))

    # --- intents -----------------------------------------------------------------------------------------

    def open_intent(
        self,
        *,
        target: Mapping[str, str],
        model: str,
        input_hash: str,
        input: Mapping[str, Any],
        secret_fields: Iterable[str] = (),
        call: str | None = None,
        keep_running: bool = False,
        output_kind: str = "",
        kind: str = "prediction",
        tenant: str = "local",
    ) -> Intent:
        """Write down a create before it is sent (committed before this returns)."""
        intent = new_intent(
            target=target,
            model=model,
            input_hash=input_hash,
            input=input,
            secret_fields=secret_fields,
            call=call,
            keep_running=keep_running,
            output_kind=output_kind,
            kind=kind,
            tenant=tenant,
        )
        now = intent.created_at
        self._run(
            "INSERT INTO intents (key, created_at, target, model, input_hash, input, call, keep_running,"
            " output_kind, state, updated_at, kind, tenant) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                intent.key,
                now,
                json.dumps(intent.target),
                model,
                input_hash,
                json.dumps(intent.input),
                call,
                int(keep_running),
                output_kind,
                "sending",
                now,
                kind,
                tenant,
            ),
        )
        return intent

    def complete_intent(self, intent: Intent, prediction: Any, *, deadline: str | None = None) -> None:
        """The create's answer (or reconciliation) named the prediction.

        The prediction row comes first and carries the intent's key, so a crash between the two writes leaves
        an intent that `created_by()` resolves on restart."""
        self.record(
            prediction,
            model=intent.model,
            input=intent.input,
            keep_running=intent.keep_running,
            output_kind=intent.output_kind,
            intent=intent.key,
            kind=intent.kind,
            deadline=deadline,
            tenant=intent.tenant,
        )
        self._run(
            "UPDATE intents SET state='created', prediction_id=?, error=NULL, updated_at=? WHERE key=?",
            (_field(prediction, "id"), _now(), intent.key),
        )

    def created_by(self, key: str) -> str | None:
        """The prediction recorded for an intent, if its row was written."""
        rows = self._run("SELECT id FROM predictions WHERE intent=?", (key,))
        return rows[0]["id"] if rows else None

    def settle_intent(self, key: str, state: str, error: str | None = None) -> None:
        """not_created (proved), or unknown (could not tell yet: reconciled again later)."""
        self._run(
            "UPDATE intents SET state=?, error=?, updated_at=? WHERE key=?", (state, error, _now(), key)
        )

    def intent(self, key: str) -> Intent | None:
        rows = self._run("SELECT * FROM intents WHERE key=?", (key,))
        return _intent(rows[0]) if rows else None

    def unresolved_intents(self) -> list[Intent]:
        """Creates whose outcome is not known (sending when the process died, or unknown), oldest first."""
        rows = self._run("SELECT * FROM intents WHERE state IN (?,?) ORDER BY created_at", UNRESOLVED)
        return [_intent(r) for r in rows]

    def claimed(self, prediction_ids: Iterable[str]) -> set[str]:
        """Which of these ids this ledger already knows (so reconciliation never adopts one twice)."""
        ids = list(prediction_ids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self._run(f"SELECT id FROM predictions WHERE id IN ({marks})", ids)
        return {r["id"] for r in rows}

    def update(self, prediction: Any) -> bool:
        """Store the latest status/timestamps/error/output. False if the prediction was never recorded."""
        output = _field(prediction, "output")
        data_removed = bool(_field(prediction, "data_removed"))
        rows = self._run(
            "UPDATE predictions SET status=?, version=COALESCE(?, version),"
            " created_at=COALESCE(?, created_at), started_at=COALESCE(?, started_at),"
            " completed_at=COALESCE(?, completed_at), updated_at=?,"
            " error=?, data_removed=?,"
            " output=CASE WHEN ? THEN output ELSE ? END,"
            " file_outputs=CASE WHEN ? THEN file_outputs ELSE ? END"
            " WHERE id=? RETURNING id",
            (
                _field(prediction, "status"),
                _field(prediction, "version"),
                _text(_field(prediction, "created_at")),
                _text(_field(prediction, "started_at")),
                _text(_field(prediction, "completed_at")),
                _now(),
                _text(_field(prediction, "error")),
                int(data_removed),
                # after data removal the API answers output=null: keep what was seen before
                data_removed and output is None,
                json.dumps(abbreviate_data_uris(output)),
                data_removed and output is None,
                count_file_outputs(output),
                _field(prediction, "id"),
            ),
        )
        return bool(rows)

    def add_files(self, prediction_id: str, files: Iterable[ArchivedFile]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO archived_files (prediction_id, idx, url, path, mime_type, size,"
                " sha256, stored) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (prediction_id, f.index, f.url, f.path, f.mime_type, f.size, f.sha256, f.stored)
                    for f in files
                ],
            )

    def files(self, prediction_id: str) -> list[ArchivedFile]:
        rows = self._run("SELECT * FROM archived_files WHERE prediction_id=? ORDER BY idx", (prediction_id,))
        return [
            ArchivedFile(
                index=r["idx"],
                url=r["url"],
                path=r["path"],
                mime_type=r["mime_type"],
                size=r["size"],
                sha256=r["sha256"],
                stored=r["stored"],
            )
            for r in rows
        ]

    def get(self, prediction_id: str) -> LedgerEntry | None:
        rows = self._run("SELECT * FROM predictions WHERE id=?", (prediction_id,))
        return self._entry(rows[0]) if rows else None

    def list(
        self, limit: int = 20, before: str | None = None, *, tenant: str | None = None
    ) -> list[LedgerEntry]:
        """Newest first. `before` is a prediction id: entries recorded before it (for paging);
        `tenant` filters."""
        where, params = "1", []
        if before is not None:
            where += " AND seq < COALESCE((SELECT seq FROM predictions WHERE id=?), -1)"
            params.append(before)
        if tenant is not None:
            where += " AND tenant=?"
            params.append(tenant)
        rows = self._run(
            f"SELECT * FROM predictions WHERE {where} ORDER BY seq DESC LIMIT ?", (*params, limit)
        )
        return [self._entry(r) for r in rows]

    def running(self, tenant: str) -> int:
        """How many of the tenant's predictions and trainings have not ended."""
        marks = ",".join("?" * len(TERMINAL_STATUSES))
        rows = self._run(
            f"SELECT count(*) AS n FROM predictions WHERE tenant=? AND origin='created'"
            f" AND status NOT IN ({marks})",
            (tenant, *TERMINAL_STATUSES),
        )
        return rows[0]["n"]

    def pending(self) -> builtins.list[str]:
        """Ids of predictions not yet in a terminal state (to refresh after a restart), oldest first."""
        marks = ",".join("?" * len(TERMINAL_STATUSES))
        rows = self._run(
            f"SELECT id FROM predictions WHERE status NOT IN ({marks}) ORDER BY seq", TERMINAL_STATUSES
        )
        return [r["id"] for r in rows]

    def unarchived(self) -> builtins.list[str]:
        """Ids of succeeded predictions whose output had files but none archived yet, oldest first."""
        rows = self._run(
            "SELECT id FROM predictions p WHERE status='succeeded' AND file_outputs > 0 AND kind='prediction'"
            " AND NOT EXISTS (SELECT 1 FROM archived_files f WHERE f.prediction_id = p.id) ORDER BY seq"
        )
        return [r["id"] for r in rows]

    def _entry(self, row: sqlite3.Row) -> LedgerEntry:
        return LedgerEntry(
            id=row["id"],
            model=row["model"],
            version=row["version"],
            input=json.loads(row["input"]),
            status=row["status"],
            created_at=row["created_at"],
            started_at=row["started_at"],
            completed_at=row["completed_at"],
            updated_at=row["updated_at"],
            error=row["error"],
            output=json.loads(row["output"]) if row["output"] is not None else None,
            file_outputs=row["file_outputs"],
            data_removed=bool(row["data_removed"]),
            keep_running=bool(row["keep_running"]),
            output_kind=row["output_kind"],
            origin=row["origin"],
            kind=row["kind"],
            deadline=row["deadline"],
            tenant=row["tenant"],
            files=self.files(row["id"]),
        )


def _intent(row: sqlite3.Row) -> Intent:
    return Intent(
        key=row["key"],
        created_at=row["created_at"],
        target=json.loads(row["target"]),
        model=row["model"],
        input_hash=row["input_hash"],
        input=json.loads(row["input"]),
        call=row["call"],
        keep_running=bool(row["keep_running"]),
        output_kind=row["output_kind"],
        kind=row["kind"],
        tenant=row["tenant"],
        state=row["state"],
        prediction_id=row["prediction_id"],
        error=row["error"],
        updated_at=row["updated_at"],
    )
