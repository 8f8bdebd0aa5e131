"""Shared value types and helpers for finding files in a prediction's output."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

DATA_URI_HEADER = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,]*)*)(;base64)?,", re.IGNORECASE)


class ArchivedFile(BaseModel):
    index: int  # position among the output's files, in output order
    url: str  # where it came from; a data: URI is shortened to its header ("data:image/png;base64,…")
    path: str  # absolute path of the local copy
    mime_type: str
    size: int
    sha256: str
    stored: str | None = None  # its address in a shared object store (s3://…), when there is one


class ArchiveFailure(BaseModel):
    index: int
    url: str
    reason: str


class ArchiveResult(list[ArchivedFile]):
    """The archived files in output order; `failures` lists the files that could not be archived, and why."""

    def __init__(self, files: Iterable[ArchivedFile] = (), failures: Iterable[ArchiveFailure] = ()) -> None:
        super().__init__(files)
        self.failures: list[ArchiveFailure] = list(failures)


class UploadedFile(BaseModel):
    url: str  # the file's urls.get: pass it as a model input
    id: str
    name: str
    size: int
    sha256: str
    mime_type: str
    reused: bool  # True when an earlier upload of the same content was still alive and is used again
    expires_at: str | None = None


def is_data_uri(value: str) -> bool:
    return value[:5].lower() == "data:" and DATA_URI_HEADER.match(value[:512]) is not None


def is_file_url(value: str) -> bool:
    if not value[:8].lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.hostname) and bool(parts.path.rsplit("/", 1)[-1])


def iter_file_values(output: Any) -> Iterator[str]:
    """File URLs and data: URIs anywhere in an output (str, list, dict, nested), in output order."""
    if isinstance(output, str):
        if is_file_url(output) or is_data_uri(output):
            yield output
    elif isinstance(output, list | tuple):
        for item in output:
            yield from iter_file_values(item)
    elif isinstance(output, dict):
        for item in output.values():
            yield from iter_file_values(item)


def count_file_outputs(output: Any) -> int:
    return sum(1 for _ in iter_file_values(output))


def shorten_data_uri(value: str) -> str:
    header = value.split(",", 1)[0]
    return f"{header},… ({len(value) - len(header) - 1} characters)"


def abbreviate_data_uris(value: Any) -> Any:
    """A copy with every data: URI shortened to its header, so records stay small."""
    if isinstance(value, str):
        return shorten_data_uri(value) if is_data_uri(value) else value
    if isinstance(value, list | tuple):
        return [abbreviate_data_uris(v) for v in value]
    if isinstance(value, dict):
        return {k: abbreviate_data_uris(v) for k, v in value.items()}
    return value
