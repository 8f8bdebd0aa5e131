"""The in-memory objects the sandbox serves: predictions/trainings ("runs") and files."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .util import iso

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})


@dataclass
class SandboxRun:
    kind: str  # "prediction" | "training"
    id: str
    seq: int
    model: str
    version: str
    input: dict
    root: str  # "http://host:port" the run was created through; its URLs are absolute on it
    created_at: float
    streams: bool = False
    deployment: str | None = None
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None
    deadline: float | None = None
    account: str | None = None  # the username that created it: the only one who sees it
    status: str = "starting"
    output: Any = None
    logs: str = ""
    error: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    data_removed: bool = False
    metrics: dict = field(default_factory=dict)
    sse: list[tuple[str, str]] = field(default_factory=list)  # (event, data) in order
    published_at: list[float] = field(
        default_factory=list
    )  # wall clock of each sse entry, kept for /_sandbox
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None
    _pulse: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def publish(self, event: str, data: str) -> None:
        self.sse.append((event, data))
        self.published_at.append(time.time())
        self.changed()

    def changed(self) -> None:
        pulse, self._pulse = self._pulse, asyncio.Event()
        pulse.set()

    async def wait_change(self, timeout: float | None) -> bool:
        try:
            await asyncio.wait_for(self._pulse.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        collection = "predictions" if self.kind == "prediction" else "trainings"
        get = f"{self.root}/v1/{collection}/{self.id}"
        urls = {"cancel": f"{get}/cancel", "get": get}
        if self.kind == "prediction":
            urls["web"] = f"https://replicate.com/p/{self.id}"
            if self.streams:
                urls["stream"] = f"{get}/stream"
        body: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "logs": self.logs,
            "output": self.output,
            "data_removed": self.data_removed,
            "error": self.error,
            "status": self.status,
            "created_at": iso(self.created_at),
        }
        if self.started_at is not None:
            body["started_at"] = iso(self.started_at)
        if self.completed_at is not None:
            body["completed_at"] = iso(self.completed_at)
        body["urls"] = urls
        if self.metrics:
            body["metrics"] = dict(self.metrics)
        if self.deadline is not None:
            body["deadline"] = iso(self.deadline)
        if self.deployment is not None:
            body["deployment"] = self.deployment
        body["source"] = "api"
        if self.webhook is not None:
            body["webhook"] = self.webhook
            body["webhook_events_filter"] = list(self.webhook_events_filter or [])
        return body


@dataclass
class StoredFile:
    id: str
    name: str
    content_type: str
    data: bytes
    metadata: dict
    created_at: float
    checksums: dict[str, str]
    etag: str
    account: str | None = None  # the username that uploaded it: the only one who sees it

    def to_json(self, root: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": len(self.data),
            "etag": self.etag,
            "checksums": dict(self.checksums),
            "metadata": self.metadata,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.created_at + 24 * 3600),
            "urls": {"get": f"{root}/v1/files/{self.id}"},
        }
