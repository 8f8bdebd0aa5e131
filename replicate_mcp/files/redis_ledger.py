"""The ledger on Redis, for several replicas behind one endpoint: the same contract as the SQLite `Ledger`.

Each prediction is one JSON document under `<prefix>p:<id>`; sorted sets keep the order of recording, the
unfinished ones, and the unresolved intents, so a replica that starts (or takes over) finds its work with one
range query. Read-modify-write of a document runs under WATCH, so two replicas updating one prediction never
lose a field. The clients decode every reply (`decode_responses=True`), which redis-py's types cannot express
(they say `bytes | str`): the casts below name what a decoded reply is.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

import redis

from .ledger import (
    TERMINAL_STATUSES,
    UNRESOLVED,
    Intent,
    LedgerEntry,
    _field,
    _now,
    _text,
    mask_secrets,
    new_intent,
)
from .records import ArchivedFile, UploadedFile, abbreviate_data_uris, count_file_outputs

# KEYS[1] the total; ARGV[1] the amount, ARGV[2] the cap. Added only if it stays within the cap;
# kept two days.
_ADD_SPEND = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, tostring(spent)} end
redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 172800)
return {1, tostring(spent)}
"""


class RedisUploadCache:
    """Live uploads shared by replicas: `<prefix>upload:<key>` expires with the file on Replicate."""

    def __init__(self, client: redis.Redis, *, prefix: str = "rmcp:") -> None:
        self.redis = client
        self.prefix = prefix

    def get(self, key: str, alive_until: float) -> tuple[str, str, float] | None:
        raw = self.redis.get(f"{self.prefix}upload:{key}")
        if not raw:
            return None
        found = json.loads(raw)
        return (found["id"], found["url"], found["expires_at"]) if found["expires_at"] > alive_until else None

    def put(self, key: str, file: UploadedFile, expires_at: float) -> None:
        pipe = self.redis.pipeline()
        pipe.set(
            f"{self.prefix}upload:{key}",
            json.dumps({"id": file.id, "url": file.url, "expires_at": expires_at}),
            exat=int(expires_at) + 1,
        )
        pipe.set(f"{self.prefix}upload-id:{file.id}", key, exat=int(expires_at) + 1)
        pipe.execute()

    def forget(self, file_id: str) -> None:
        key = cast(str | None, self.redis.get(f"{self.prefix}upload-id:{file_id}"))
        if key:
            self.redis.delete(f"{self.prefix}upload:{key}", f"{self.prefix}upload-id:{file_id}")

    def close(self) -> None:
        return None


class RedisLedger:
    def __init__(self, client: redis.Redis, *, prefix: str = "rmcp:") -> None:
        self.redis = client
        self.prefix = prefix
        self._add_spend = client.register_script(_ADD_SPEND)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "rmcp:") -> RedisLedger:
        return cls(redis.Redis.from_url(url, decode_responses=True), prefix=prefix)

    def close(self) -> None:
        self.redis.close()

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- predictions ---------------------------------------------------------------------------------------

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
        prediction_id = _field(prediction, "id")
        seq = self.redis.incr(self._k("seq"))
        entry = LedgerEntry(
            id=prediction_id,
            model=model,
            version=_field(prediction, "version"),
            input=abbreviate_data_uris(mask_secrets(input, secret_fields)),
            status=_field(prediction, "status") or "starting",
            updated_at=_now(),
            keep_running=keep_running,
            output_kind=output_kind,
            origin=origin,
            kind=kind,
            deadline=deadline,
            tenant=tenant,
        )
        document = {**entry.model_dump(mode="json", exclude={"files"}), "seq": seq, "intent": intent}
        if not self.redis.set(self._k("p", prediction_id), json.dumps(document), nx=True):
            self.update(prediction)
            return False
        pipe = self.redis.pipeline()
        pipe.zadd(self._k("order"), {prediction_id: seq})
        pipe.zadd(self._k("pending"), {prediction_id: seq})
        if intent is not None:
            pipe.set(self._k("created-by", intent), prediction_id)
        pipe.execute()
        self.update(prediction)
        return True

    def _change(self, prediction_id: str, change) -> dict[str, Any] | None:
        """Apply `change(document)` atomically; None if the prediction is unknown."""
        key = self._k("p", prediction_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        pipe.unwatch()
                        return None
                    document = change(json.loads(raw))
                    pipe.multi()
                    pipe.set(key, json.dumps(document))
                    seq = document["seq"]
                    if document["status"] in TERMINAL_STATUSES:
                        pipe.zrem(self._k("pending"), prediction_id)
                    else:
                        pipe.zadd(self._k("pending"), {prediction_id: seq})
                    if (
                        document["status"] == "succeeded"
                        and document["file_outputs"] > 0
                        and not self.redis.exists(self._k("f", prediction_id))
                    ):
                        pipe.zadd(self._k("unarchived"), {prediction_id: seq})
                    pipe.execute()
                    return document
                except redis.WatchError:
                    continue

    def update(self, prediction: Any) -> bool:
        output = _field(prediction, "output")
        data_removed = bool(_field(prediction, "data_removed"))

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            doc["status"] = _field(prediction, "status")
            for name in ("version", "created_at", "started_at", "completed_at"):
                value = _text(_field(prediction, name))
                if value is not None:
                    doc[name] = value
            doc["updated_at"] = _now()
            doc["error"] = _text(_field(prediction, "error"))
            doc["data_removed"] = data_removed
            if not (data_removed and output is None):  # after data removal the API answers output=null
                doc["output"] = abbreviate_data_uris(output)
                doc["file_outputs"] = count_file_outputs(output)
            return doc

        return self._change(_field(prediction, "id"), change) is not None

    def keep(self, prediction_id: str) -> None:
        self._change(prediction_id, lambda doc: {**doc, "keep_running": True})

    def add_spend(self, key: str, amount: float, cap: float | None) -> tuple[bool, float]:
        added = self._add_spend(
            keys=[self._k("spend", key)], args=[repr(amount), "inf" if cap is None else repr(cap)]
        )
        return bool(int(added[0])), float(added[1])

    def get_spend(self, key: str) -> float:
        return float(self.redis.get(self._k("spend", key)) or 0.0)

    def put_secret(self, name: str, sealed: str) -> None:
        self.redis.hset(self._k("secrets"), name, sealed)

    def get_secret(self, name: str) -> str | None:
        return cast(str | None, self.redis.hget(self._k("secrets"), name))

    def set_deadline(self, job_id: str, deadline: str) -> None:
        self._change(job_id, lambda doc: {**doc, "deadline": deadline})

    def add_files(self, prediction_id: str, files: Iterable[ArchivedFile]) -> None:
        given = {f.index: f for f in self.files(prediction_id)} | {f.index: f for f in files}
        pipe = self.redis.pipeline()
        pipe.set(self._k("f", prediction_id), json.dumps([given[i].model_dump() for i in sorted(given)]))
        pipe.zrem(self._k("unarchived"), prediction_id)
        pipe.execute()

    def files(self, prediction_id: str) -> list[ArchivedFile]:
        raw = self.redis.get(self._k("f", prediction_id))
        return [ArchivedFile.model_validate(f) for f in json.loads(raw)] if raw else []

    def get(self, prediction_id: str) -> LedgerEntry | None:
        raw = self.redis.get(self._k("p", prediction_id))
        return self._entry(json.loads(raw)) if raw else None

    def list(
        self, limit: int = 20, before: str | None = None, *, tenant: str | None = None
    ) -> list[LedgerEntry]:
        """Newest first; `before` is an id (entries recorded before it); `tenant` keeps only that tenant's."""
        top = "+inf"
        if before is not None:
            seq = self.redis.zscore(self._k("order"), before)
            if seq is None:
                return []
            top = f"({int(seq)}"
        found: list[LedgerEntry] = []
        while len(found) < limit:
            ranked = cast(
                builtins.list[tuple[str, float]],
                self.redis.zrevrangebyscore(
                    self._k("order"), top, "-inf", start=0, num=max(limit * 2, 50), withscores=True
                ),
            )
            if not ranked:
                break
            for entry in self._entries([prediction_id for prediction_id, _ in ranked]):
                if tenant is None or entry.tenant == tenant:
                    found.append(entry)
            top = f"({int(ranked[-1][1])}"
        return found[:limit]

    def running(self, tenant: str) -> int:
        ids = self.pending()
        return (
            sum(1 for e in self._entries(ids) if e.tenant == tenant and e.origin == "created") if ids else 0
        )

    def pending(self) -> builtins.list[str]:
        return cast(builtins.list[str], self.redis.zrange(self._k("pending"), 0, -1))

    def unarchived(self) -> builtins.list[str]:
        return cast(builtins.list[str], self.redis.zrange(self._k("unarchived"), 0, -1))

    def claimed(self, prediction_ids: Iterable[str]) -> set[str]:
        ids = list(prediction_ids)
        if not ids:
            return set()
        exists = self.redis.pipeline()
        for prediction_id in ids:
            exists.exists(self._k("p", prediction_id))
        return {i for i, there in zip(ids, exists.execute(), strict=True) if there}

    def _entries(self, ids: builtins.list[str]) -> builtins.list[LedgerEntry]:
        raws = self.redis.mget([self._k("p", i) for i in ids])
        return [self._entry(json.loads(raw)) for raw in raws if raw]

    def _entry(self, document: dict[str, Any]) -> LedgerEntry:
        fields = {k: v for k, v in document.items() if k in LedgerEntry.model_fields}
        return LedgerEntry(**fields, files=self.files(document["id"]))

    # --- intents -------------------------------------------------------------------------------------------

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
        pipe = self.redis.pipeline()
        pipe.set(self._k("i", intent.key), intent.model_dump_json())
        pipe.zadd(self._k("unresolved"), {intent.key: self.redis.incr(self._k("seq"))})
        pipe.execute()
        return intent

    def complete_intent(self, intent: Intent, prediction: Any, *, deadline: str | None = None) -> None:
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
        self._settle(intent.key, "created", None, prediction_id=_field(prediction, "id"))

    def created_by(self, key: str) -> str | None:
        return cast(str | None, self.redis.get(self._k("created-by", key)))

    def settle_intent(self, key: str, state: str, error: str | None = None) -> None:
        self._settle(key, state, error)

    def _settle(self, key: str, state: str, error: str | None, prediction_id: str | None = None) -> None:
        found = self.intent(key)
        if found is None:
            return
        update: dict[str, Any] = {"state": state, "error": error, "updated_at": _now()}
        if prediction_id is not None:
            update["prediction_id"] = prediction_id
        pipe = self.redis.pipeline()
        pipe.set(self._k("i", key), found.model_copy(update=update).model_dump_json())
        if state in UNRESOLVED:
            pipe.zadd(self._k("unresolved"), {key: self.redis.zscore(self._k("unresolved"), key) or 0})
        else:
            pipe.zrem(self._k("unresolved"), key)
        pipe.execute()

    def intent(self, key: str) -> Intent | None:
        raw = self.redis.get(self._k("i", key))
        return Intent.model_validate_json(raw) if raw else None

    def unresolved_intents(self) -> builtins.list[Intent]:
        keys = cast(builtins.list[str], self.redis.zrange(self._k("unresolved"), 0, -1))
        raws = self.redis.mget([self._k("i", k) for k in keys]) if keys else []
        return [Intent.model_validate_json(raw) for raw in raws if raw]
