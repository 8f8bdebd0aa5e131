"""Everything a tool call needs, built once per process in the server's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from replicate_mcp.api import Prediction, ReplicateClient
from replicate_mcp.config import SANDBOX_TOKEN, Settings
from replicate_mcp.files import (
    ArchivedFile,
    InputFiles,
    Ledger,
    OutputArchive,
    PathPolicy,
    default_data_dir,
    iter_file_values,
)
from replicate_mcp.runs import Lifecycle, ModelResolver, Target

log = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    settings: Settings
    client: ReplicateClient
    resolver: ModelResolver
    lifecycle: Lifecycle
    policy: PathPolicy
    inputs: InputFiles
    archive: OutputArchive | None
    ledger: Ledger
    output_dir: Path
    kinds: dict[str, str] = field(default_factory=dict)  # prediction id -> output kind, for rendering

    async def record_created(self, prediction: Prediction, target: Target, input: dict[str, Any]) -> None:
        self.kinds[prediction.id] = target.schema.output_kind
        self.ledger.record(prediction, model=target.label, input=input, secret_fields=target.schema.secret_fields)

    async def seen(self, prediction: Prediction) -> None:
        self.ledger.update(prediction)

    async def catch_up(self, limit: int = 50) -> None:
        """After a restart: refresh predictions left running, and save outputs of those that finished meanwhile."""
        for prediction_id in [*self.ledger.pending(), *self.ledger.unarchived()][:limit]:
            try:
                await self.saved_files(await self.lifecycle.refresh(prediction_id))
            except Exception as exc:  # best effort; the next get_prediction tries again
                log.info("catch-up of %s failed: %s", prediction_id, type(exc).__name__)

    async def saved_files(self, prediction: Prediction) -> list[ArchivedFile]:
        """Archive a succeeded prediction's files (once), or return what was archived before."""
        known = self.ledger.files(prediction.id)
        if known or self.archive is None or prediction.status != "succeeded" or prediction.data_removed:
            return known
        if not any(True for _ in iter_file_values(prediction.output)):
            return []
        files = await self.archive.archive(prediction.id, prediction.output)
        if files:
            self.ledger.add_files(prediction.id, files)
        return files


@asynccontextmanager
async def open_services(settings: Settings, *, base_url: str | None = None) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        if settings.sandbox and base_url is None:
            from replicate_mcp.sandbox import SandboxConfig, start_sandbox

            sandbox = start_sandbox(SandboxConfig(time_scale=settings.sandbox_time_scale, cold_boot=0.5))
            stack.callback(sandbox.stop)
            base_url = sandbox.base_url
        base_url = base_url or settings.base_url
        token = SANDBOX_TOKEN if settings.sandbox else (settings.token.get_secret_value() if settings.token else None)
        client = await stack.enter_async_context(ReplicateClient(token, base_url=base_url))
        downloads = await stack.enter_async_context(httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, connect=10.0)))
        data_dir = settings.data_dir or default_data_dir()
        output_dir = settings.output_dir or data_dir / "outputs"
        data_dir.mkdir(parents=True, exist_ok=True)
        ledger = Ledger(data_dir / "ledger.sqlite3")
        stack.callback(ledger.close)
        policy = PathPolicy(list(settings.allow_dirs), output_dir)
        api = urlsplit(base_url)
        archive = None
        if settings.archive:
            archive = OutputArchive(
                output_dir, http_client=downloads, api_host=api.netloc, allow_loopback=api.hostname in LOOPBACK_HOSTS
            )
        services: Services
        lifecycle = Lifecycle(client, on_seen=lambda p: services.seen(p))
        services = Services(
            settings=settings,
            client=client,
            resolver=ModelResolver(client),
            lifecycle=lifecycle,
            policy=policy,
            inputs=InputFiles(client, policy, cache_db=data_dir / "ledger.sqlite3"),
            archive=archive,
            ledger=ledger,
            output_dir=output_dir,
        )
        async with anyio.create_task_group() as background:
            background.start_soon(services.catch_up)
            yield services
            background.cancel_scope.cancel()
