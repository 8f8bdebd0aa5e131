"""Copy a prediction's output files to local disk before Replicate removes them
(one hour after completion)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import mimetypes
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urljoin, urlsplit

import anyio
import httpx2

from .net import DownloadRefusedError, URLPolicy, host_of, pinned
from .records import (
    DATA_URI_HEADER,
    ArchivedFile,
    ArchiveFailure,
    ArchiveResult,
    is_data_uri,
    iter_file_values,
    shorten_data_uri,
)

logger = logging.getLogger(__name__)

MANIFEST = ".archive.json"  # hidden, so PathPolicy never hands it out as an input
PREDICTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 16


class ArchiveError(Exception):
    """One output file could not be archived."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _source_key(value: str) -> str:
    return "data:sha256:" + hashlib.sha256(value.encode()).hexdigest() if is_data_uri(value) else value


def _mime_of(content_type: str | None, name: str) -> str:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if not mime or mime == "application/octet-stream":
        mime = mimetypes.guess_type(name)[0] or mime or "application/octet-stream"
    return mime


def _safe_name(raw: str, fallback: str) -> str:
    name = UNSAFE_NAME_CHARS.sub("_", raw).lstrip(".-_")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:110] + dot + ext[:9]) if dot and len(ext) < 10 else name[:120]
    return name or fallback


def decode_data_uri(value: str) -> tuple[bytes, str]:
    """(content, mime) of a data: URI; mime defaults to text/plain as RFC 2397 says."""
    header = DATA_URI_HEADER.match(value[:512])
    if header is None:
        raise ArchiveError("malformed data: URI")
    payload = value[header.end() :]
    mime = (header.group(1) or "text/plain").lower()
    if header.group(3):
        try:
            return base64.b64decode(unquote(payload) + "=" * (-len(payload) % 4)), mime
        except (binascii.Error, ValueError) as exc:
            raise ArchiveError(f"data: URI is not valid base64 ({exc})") from None
    return unquote_to_bytes(payload), mime


class OutputArchive:
    """Downloads output files into `<output_dir>/<prediction_id>/`. Idempotent, per file failures reported.

    `http_client` should not follow redirects by itself (each hop is checked here anyway); an Authorization
    header it carries is only sent to `api_host`.
    """

    def __init__(
        self,
        output_dir: Path,
        *,
        http_client: httpx2.AsyncClient,
        api_host: str,
        allow_loopback: bool = False,
        max_bytes: int = 500 * 2**20,
        max_redirects: int = 5,
        concurrency: int = 8,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.http = http_client
        self.policy = URLPolicy(api_host, allow_loopback=allow_loopback)
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._locks: dict[str, anyio.Lock] = {}

    def folder(self, prediction_id: str) -> Path:
        if not PREDICTION_ID.match(prediction_id):
            raise ValueError(f"not a prediction id: {prediction_id!r}")
        return self.output_dir / prediction_id

    async def archive(self, prediction_id: str, output: Any) -> ArchiveResult:
        """Archive every file URL / data: URI in `output`;
        files archived before are returned, not downloaded."""
        folder = self.folder(prediction_id)
        values = list(iter_file_values(output))
        if not values:
            return ArchiveResult()
        lock = self._locks.setdefault(prediction_id, anyio.Lock())
        try:
            async with lock:
                return await self._archive_locked(folder, prediction_id, values)
        finally:
            if not lock.locked() and not lock.statistics().tasks_waiting:
                self._locks.pop(prediction_id, None)

    async def _archive_locked(self, folder: Path, prediction_id: str, values: list[str]) -> ArchiveResult:
        folder.mkdir(parents=True, exist_ok=True)
        job = _Job(self, folder)
        first_index: dict[str, int] = {}
        for index, value in enumerate(values):
            first_index.setdefault(_source_key(value), index)
        async with anyio.create_task_group() as tg:
            for index in first_index.values():
                tg.start_soon(job.run, index, values[index])
        # the same URL twice in one output is one file
        firsts = [first_index[_source_key(value)] for value in values]
        files = [job.files[f].model_copy(update={"index": i}) for i, f in enumerate(firsts) if f in job.files]
        failures = [
            job.failures[f].model_copy(update={"index": i}) for i, f in enumerate(firsts) if f in job.failures
        ]
        for failure in failures:
            logger.warning(
                "prediction %s: output %d not archived: %s", prediction_id, failure.index, failure.reason
            )
        return ArchiveResult(files, failures)


class _Job:
    """One archive() call for one prediction folder (run under that prediction's lock)."""

    def __init__(self, archive: OutputArchive, folder: Path) -> None:
        self.a = archive
        self.folder = folder
        self.manifest_path = folder / MANIFEST
        try:
            self.manifest: dict[str, dict[str, Any]] = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            self.manifest = {}
        self.taken = {entry["name"] for entry in self.manifest.values()} | {p.name for p in folder.iterdir()}
        self.files: dict[int, ArchivedFile] = {}
        self.failures: dict[int, ArchiveFailure] = {}

    async def run(self, index: int, value: str) -> None:
        shown = shorten_data_uri(value) if is_data_uri(value) else value
        try:
            async with self.a._limiter:
                self.files[index] = await self._archive_one(index, value, shown)
        except (
            ArchiveError,
            DownloadRefusedError,
            httpx2.HTTPError,
            httpx2.InvalidURL,
            OSError,
            ValueError,
        ) as exc:
            self.failures[index] = ArchiveFailure(
                index=index, url=shown, reason=str(exc) or type(exc).__name__
            )

    async def _archive_one(self, index: int, value: str, shown: str) -> ArchivedFile:
        key = _source_key(value)
        known = await self._existing(key)
        if known is not None:
            return ArchivedFile(index=index, url=shown, **known)
        previous_name = self.manifest.get(key, {}).get("name")
        if (
            previous_name
        ):  # archived before but the copy is gone or changed: download again under the same name
            self.taken.discard(previous_name)
        if is_data_uri(value):
            content, mime = decode_data_uri(value)
            if len(content) > self.a.max_bytes:
                raise ArchiveError(
                    f"data: URI holds {len(content)} bytes, more than the {self.a.max_bytes} byte limit"
                )
            name = self._reserve(
                previous_name or f"output_{index}{mimetypes.guess_extension(mime) or '.bin'}"
            )
            tmp = self._temp(name)
            try:
                tmp.write_bytes(content)
                os.replace(tmp, self.folder / name)
            finally:
                tmp.unlink(missing_ok=True)
            entry: dict[str, Any] = dict(
                path=str(self.folder / name),
                mime_type=mime,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
            )
        else:
            url_name = unquote(urlsplit(value).path.rsplit("/", 1)[-1])
            name = self._reserve(previous_name or _safe_name(url_name, f"output_{index}"))
            entry = await self._download(value, name)
        self._remember(key, value, entry)
        return ArchivedFile(index=index, url=shown, **entry)

    async def _existing(self, key: str) -> dict[str, Any] | None:
        entry = self.manifest.get(key)
        if entry is None:
            return None
        path = self.folder / entry["name"]
        if not path.is_file() or path.stat().st_size != entry["size"]:
            return None
        if await anyio.to_thread.run_sync(_sha256_file, path) != entry["sha256"]:
            return None
        return dict(path=str(path), mime_type=entry["mime_type"], size=entry["size"], sha256=entry["sha256"])

    def _reserve(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        stem, ext = (stem, dot + ext) if dot and stem else (name, "")
        candidate, n = name, 1
        while candidate in self.taken or candidate == MANIFEST:
            candidate, n = f"{stem}-{n}{ext}", n + 1
        self.taken.add(candidate)
        return candidate

    def _temp(self, name: str) -> Path:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".part")
        os.close(fd)
        return Path(tmp)

    def _remember(self, key: str, url: str, entry: dict[str, Any]) -> None:
        self.manifest[key] = {
            "name": Path(entry["path"]).name,
            "url": url if key == url else key,
            **{k: entry[k] for k in ("mime_type", "size", "sha256")},
        }
        tmp = self._temp(MANIFEST)
        tmp.write_text(json.dumps(self.manifest, indent=1))
        os.replace(tmp, self.manifest_path)

    async def _download(self, url: str, name: str) -> dict[str, Any]:
        current = url
        for _ in range(self.a.max_redirects + 1):
            address = await self.a.policy.check(current)  # before connecting, on every hop
            target_url, headers, extensions = pinned(current, address)  # connect to the address just checked
            request = self.a.http.build_request("GET", target_url, headers=headers, extensions=extensions)
            if host_of(current) != self.a.policy.api_host:
                request.headers.pop("Authorization", None)
            response = await self.a.http.send(request, stream=True, follow_redirects=False)
            try:
                if response.is_redirect:
                    target = urljoin(current, response.headers.get("location", ""))
                    if host_of(target) != host_of(current):
                        raise DownloadRefusedError(
                            f"redirect from {host_of(current)!r} to another host ({target[:200]}) refused"
                        )
                    current = target
                    continue
                if response.status_code != 200:
                    reason = (
                        "gone (data removed?)"
                        if response.status_code in (404, 410)
                        else response.reason_phrase
                    )
                    raise ArchiveError(f"HTTP {response.status_code} {reason} for {current[:200]}")
                return await self._save_stream(response, name)
            finally:
                await response.aclose()
        raise ArchiveError(f"more than {self.a.max_redirects} redirects")

    async def _save_stream(self, response: httpx2.Response, name: str) -> dict[str, Any]:
        limit = self.a.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ArchiveError(f"file is {declared} bytes, more than the {limit} byte limit; not downloaded")
        mime = _mime_of(response.headers.get("content-type"), name)
        if "." not in name.lstrip("."):
            self.taken.discard(name)
            name = self._reserve(name + (mimetypes.guess_extension(mime) or ""))
        digest, size = hashlib.sha256(), 0
        tmp = self._temp(name)
        try:
            async with await anyio.open_file(tmp, "wb") as f:
                async for chunk in response.aiter_bytes(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise ArchiveError(f"file is larger than the {limit} byte limit; download stopped")
                    digest.update(chunk)
                    await f.write(chunk)
            os.replace(tmp, self.folder / name)
        finally:
            tmp.unlink(missing_ok=True)
        return dict(path=str(self.folder / name), mime_type=mime, size=size, sha256=digest.hexdigest())
