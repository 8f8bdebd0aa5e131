"""Turn local paths in file inputs into something Replicate can fetch: a data: URI or an uploaded file's URL.

Chains of models: an output this server saved can be the next model's input, named by its resource URI
(`replicate://predictions/{id}/files/{n}`) or by its local path in the output folder. Its original URL is
sent while Replicate still serves it (the prediction is on this account and its data not yet removed); after
that, the saved copy is uploaded.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import mimetypes
import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from .paths import FileAccessError, PathPolicy, local_path_from
from .records import ArchivedFile, UploadedFile

if TYPE_CHECKING:
    from replicate_mcp.api import ReplicateClient

FILE_LIFETIME = 24 * 3600.0  # the Files API deletes uploads 24 hours after upload
REUSE_MARGIN = 3600.0  # reuse an upload only while it has at least this long left to live
MAX_UPLOAD_BYTES = 100 * 2**20  # the Files API's limit
UPLOAD_METADATA = {"uploaded_by": "replicate-mcp"}  # marks this server's uploads in the Files API's list
OUTPUT_URI = re.compile(r"^replicate://predictions/([a-z0-9]+)/files/(\d+)$")

UPLOADS_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT PRIMARY KEY, file_id TEXT NOT NULL, url TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, mime_type TEXT NOT NULL, expires_at REAL NOT NULL
)
"""


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def mime_type_of(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _epoch(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None
    except ValueError:
        return None


class UploadCache(Protocol):
    """Live uploads by key (a content hash, prefixed by the tenant):
    SQLite here, Redis when replicas share it."""

    def get(self, key: str, alive_until: float) -> tuple[str, str, float] | None: ...
    def put(self, key: str, file: UploadedFile, expires_at: float) -> None: ...
    def forget(self, file_id: str) -> None: ...
    def close(self) -> None: ...


class _UploadCache:
    """Uploads by content sha256, in a small SQLite table (or in memory without a db path)."""

    def __init__(self, db_path: Path | None) -> None:
        self._lock = threading.Lock()
        if db_path is not None:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            db_path or ":memory:", check_same_thread=False, isolation_level=None, timeout=10
        )
        with self._lock:
            if db_path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(UPLOADS_SCHEMA)

    def get(self, sha256: str, alive_until: float) -> tuple[str, str, float] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT file_id, url, expires_at FROM uploads WHERE sha256=? AND expires_at > ?",
                (sha256, alive_until),
            ).fetchone()
        return tuple(row) if row else None

    def put(self, key: str, file: UploadedFile, expires_at: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?,?,?,?,?,?,?)",
                (key, file.id, file.url, file.name, file.size, file.mime_type, expires_at),
            )
            self._db.execute("DELETE FROM uploads WHERE expires_at < ?", (time.time(),))

    def forget(self, file_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM uploads WHERE file_id=?", (file_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SavedFiles(Protocol):
    """Where the outputs a `replicate://predictions/<id>/files/<n>` input names are found: a ledger, or one
    tenant's view of it."""

    def files(self, prediction_id: str) -> list[ArchivedFile]: ...


class InputFiles:
    """Resolves file inputs: URLs and data: URIs pass through; allowed local files are inlined or uploaded."""

    def __init__(
        self,
        client: ReplicateClient,
        policy: PathPolicy,
        *,
        cache_db: Path | None = None,
        inline_limit: int = 256 * 1024,
        ledger: SavedFiles | None = None,
        cache: UploadCache | None = None,
    ) -> None:
        self.client = client
        self.ledger = ledger  # the saved outputs an input may name (chains)
        self.policy = policy
        self.inline_limit = inline_limit
        self._cache: UploadCache = cache or _UploadCache(cache_db)
        self._locks: dict[str, anyio.Lock] = {}
        self.tenant = "local"

    def for_tenant(
        self, tenant: str, client: ReplicateClient, ledger: SavedFiles | None = None
    ) -> InputFiles:
        """The same folders and cache, uploading with the tenant's client; a tenant reuses only its own
        uploads and chains only its own saved outputs (`ledger`: the tenant's view)."""
        view = copy.copy(self)
        view.client, view.tenant = client, tenant
        if ledger is not None:
            view.ledger = ledger
        return view

    def _key(self, sha256: str) -> str:
        return sha256 if self.tenant == "local" else f"{self.tenant}/{sha256}"

    def close(self) -> None:
        self._cache.close()

    def forget_upload(self, file_id: str) -> None:
        """Call after deleting a file through the Files API, so that it is not offered for reuse."""
        self._cache.forget(file_id)

    async def resolve(
        self, input: dict[str, Any], file_fields: Iterable[str]
    ) -> tuple[dict[str, Any], list[str]]:
        """A copy of `input` with local paths replaced, and one note per local file
        ("image: uploaded x.png ...")."""
        resolved = dict(input)
        notes: list[str] = []
        for field in file_fields:
            value = input.get(field)
            if isinstance(value, str):
                resolved[field] = await self._resolve_one(field, value, notes)
            elif isinstance(value, list):
                resolved[field] = [
                    await self._resolve_one(f"{field}[{i}]", item, notes) if isinstance(item, str) else item
                    for i, item in enumerate(value)
                ]
        return resolved, notes

    async def upload(self, path: str) -> UploadedFile:
        """Upload one allowed local file through the Files API
        (or reuse a live upload of the same content)."""
        resolved, content = await anyio.to_thread.run_sync(self._read, path)
        return await self._upload(resolved, content, path)

    def _read(self, raw: str) -> tuple[Path, bytes]:
        """The path and content of an allowed file, read from the one descriptor the policy opened."""
        with self.policy.open(raw) as local:
            content = local.read(MAX_UPLOAD_BYTES + 1) if local.size <= MAX_UPLOAD_BYTES else None
        if content is None or len(content) > MAX_UPLOAD_BYTES:
            raise FileAccessError(
                f"{raw!r} is {human_size(max(local.size, MAX_UPLOAD_BYTES + 1))}: the "
                "Files API takes at most 100 MB; pass an https URL to the file instead"
            )
        return local.path, content

    async def _resolve_one(self, field: str, value: str, notes: list[str]) -> str:
        head = value[:8].lower()
        if head.startswith(("http://", "https://", "data:")):
            return value
        chained = await self._saved_output(field, value, notes)
        if chained is not None:
            return chained
        try:
            path, content = await anyio.to_thread.run_sync(self._read, value)
        except FileAccessError as exc:
            raise FileAccessError(f"input {field!r}: {exc}") from None
        size = len(content)
        if size <= self.inline_limit:
            notes.append(f"{field}: {path.name} ({human_size(size)}) sent inline as a data: URI")
            return f"data:{mime_type_of(path)};base64,{base64.b64encode(content).decode()}"
        try:
            uploaded = await self._upload(path, content, value)
        except FileAccessError as exc:
            raise FileAccessError(f"input {field!r}: {exc}") from None
        except Exception as exc:
            exc.add_note(f"while uploading {path} for input {field!r}")
            raise
        how = "reused the earlier upload of" if uploaded.reused else "uploaded"
        notes.append(f"{field}: {how} {path.name} ({human_size(size)}) -> {uploaded.url}")
        return uploaded.url

    def names_saved_output(self, field: str, value: str) -> bool:
        """Whether `value` names an output this server saved, checked as `resolve` checks it (without asking
        Replicate): a dry run's view of a chain.
        A malformed URI or a file the prediction lacks raises FileAccessError."""
        return self._saved_file(field, value) is not None

    def _saved_file(self, field: str, value: str) -> tuple[str, ArchivedFile] | None:
        """The saved output `value` names (its URI, or its path in the output folder),
        or None if it names none."""
        match = OUTPUT_URI.match(value.strip())
        if match is None and value.strip().startswith("replicate://"):
            raise FileAccessError(
                f"input {field!r}: {value[:120]!r} is not an output file's URI; use "
                "replicate://predictions/<id>/files/<n> as get_prediction lists them"
            )
        if match is None:
            output_dir = self.policy.output_dir
            if output_dir is None:
                return None
            try:
                path = local_path_from(value).resolve(strict=False)
            except FileAccessError:
                return None
            root = output_dir.resolve()
            if not path.is_relative_to(root) or len(path.relative_to(root).parts) != 2:
                return None
            prediction_id = path.relative_to(root).parts[0]
            wanted = lambda f: Path(f.path).resolve(strict=False) == path  # noqa: E731
        else:
            prediction_id, index = match.group(1), int(match.group(2))
            wanted = lambda f: f.index == index  # noqa: E731
        if self.ledger is None:
            return None
        saved = next((f for f in self.ledger.files(prediction_id) if wanted(f)), None)
        if saved is None:
            if match is None:
                return None  # a file someone put in the output folder: an ordinary local file
            raise FileAccessError(
                f"input {field!r}: prediction {prediction_id} has no saved file {match.group(2)}; "
                "get_prediction lists its files"
            )
        return prediction_id, saved

    async def _saved_output(self, field: str, value: str, notes: list[str]) -> str | None:
        found = self._saved_file(field, value)
        if found is None:
            return None
        prediction_id, saved = found
        from replicate_mcp.api import NotFoundError

        try:  # with this caller's token: an output of another account's prediction is refused
            prediction = await self.client.get_prediction(prediction_id)
        except NotFoundError:
            raise FileAccessError(
                f"input {field!r}: prediction {prediction_id} is not on this account"
            ) from None
        name = f"{prediction_id} file {saved.index}"
        if saved.url.startswith(("http://", "https://")) and not prediction.data_removed:
            notes.append(f"{field}: the output of {name}, sent by its original URL")
            return saved.url
        path, content = await anyio.to_thread.run_sync(self._read, saved.path)
        uploaded = await self._upload(path, content, saved.path)
        notes.append(
            f"{field}: the output of {name} is no longer served by Replicate; uploaded the saved copy "
            f"-> {uploaded.url}"
        )
        return uploaded.url

    async def _upload(self, path: Path, content: bytes, shown: str) -> UploadedFile:
        sha256 = hashlib.sha256(content).hexdigest()
        mime = mime_type_of(path)
        key = self._key(sha256)
        async with self._locks.setdefault(key, anyio.Lock()):
            cached = self._cache.get(key, time.time() + REUSE_MARGIN)
            if cached is not None:
                file_id, url, expires = cached
                return UploadedFile(
                    url=url,
                    id=file_id,
                    name=path.name,
                    size=len(content),
                    sha256=sha256,
                    mime_type=mime,
                    reused=True,
                    expires_at=_iso(expires),
                )
            created = await self.client.create_file(
                content, filename=path.name, content_type=mime, metadata=UPLOAD_METADATA
            )
            url = (created.urls or {}).get("get") or ""
            if not url:
                raise FileAccessError(f"upload of {shown!r} succeeded but the API gave no urls.get for it")
            expires = _epoch(getattr(created, "expires_at", None)) or time.time() + FILE_LIFETIME
            uploaded = UploadedFile(
                url=url,
                id=created.id,
                name=path.name,
                size=len(content),
                sha256=sha256,
                mime_type=mime,
                reused=False,
                expires_at=_iso(expires),
            )
            self._cache.put(key, uploaded, expires)
            return uploaded


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
