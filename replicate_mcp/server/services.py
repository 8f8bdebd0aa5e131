"""Everything a tool call needs, built once per process in the server's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2

from replicate_mcp.api import ReplicateClient
from replicate_mcp.config import SANDBOX_TOKEN, Settings
from replicate_mcp.files import (
    ArchivedFile,
    InputFiles,
    Ledger,
    OutputArchive,
    OutputKeeper,
    PathPolicy,
    default_data_dir,
)
from replicate_mcp.runs import ModelResolver, Supervisor

log = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    settings: Settings
    client: ReplicateClient
    resolver: ModelResolver
    supervisor: Supervisor
    policy: PathPolicy
    inputs: InputFiles
    keeper: OutputKeeper
    ledger: Ledger
    output_dir: Path

    def output_kind(self, prediction_id: str) -> str:
        entry = self.ledger.get(prediction_id)
        return entry.output_kind if entry is not None else ""

    def saved_files(self, prediction_id: str) -> list[ArchivedFile]:
        return self.ledger.files(prediction_id)


@asynccontextmanager
async def open_services(settings: Settings, *, base_url: str | None = None) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        if settings.sandbox and base_url is None:
            from replicate_mcp.sandbox import SandboxConfig, start_sandbox

            sandbox = start_sandbox(SandboxConfig(time_scale=settings.sandbox_time_scale, cold_boot=0.5,
                                                  **_insecure_webhooks(settings)))
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
        keeper = OutputKeeper(ledger, archive)
        supervisor = Supervisor(client, ledger, keeper, rate=settings.poll_rate, webhook_url=settings.webhook_url,
                                min_interval=settings.min_poll_interval)
        services = Services(
            settings=settings,
            client=client,
            resolver=ModelResolver(client),
            supervisor=supervisor,
            policy=policy,
            inputs=InputFiles(client, policy, cache_db=data_dir / "ledger.sqlite3"),
            keeper=keeper,
            ledger=ledger,
            output_dir=output_dir,
        )
        async with anyio.create_task_group() as background:
            await background.start(supervisor.serve)
            yield services
            background.cancel_scope.cancel()


def _insecure_webhooks(settings: Settings) -> dict[str, bool]:
    """The embedded sandbox may deliver to this server's own http:// receiver, and only with a public URL set."""
    from replicate_mcp.sandbox import SandboxConfig

    wanted = settings.webhook_url is not None and settings.webhook_url.startswith("http://")
    return {"allow_insecure_webhooks": True} if wanted and "allow_insecure_webhooks" in SandboxConfig.__dataclass_fields__ else {}
