"""Everything a tool call needs, built once per process in the server's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio
import httpx2
from mcp.server.mcpserver import Context

from replicate_mcp.api import ReplicateClient
from replicate_mcp.config import SANDBOX_TOKEN, Settings
from replicate_mcp.files import (
    ArchivedFile,
    InputFiles,
    Ledger,
    LedgerEntry,
    LedgerStore,
    OutputArchive,
    OutputKeeper,
    PathPolicy,
    default_data_dir,
)
from replicate_mcp.runs import ModelResolver, Started, StartRequest, Supervisor, Tracked
from replicate_mcp.runs.coordination import LocalCoordination, RedisCoordination
from replicate_mcp.runs.supervisor import LOCAL_TENANT, TrainingRequest
from replicate_mcp.runs.tenant_clients import TenantClients
from replicate_mcp.server.auth import current_principal

if TYPE_CHECKING:  # obstore is loaded only by a server that keeps files in an object store
    from replicate_mcp.files.object_store import ObjectArchive

log = logging.getLogger(__name__)
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Services:
    """The process's services. `client`, `supervisor`, `ledger` and `inputs` are seen through the current
    caller: with --auth, each tenant gets its own client and sees only its own runs, entries and uploads,
    whatever tool, resource or extension asks."""

    settings: Settings
    base_client: ReplicateClient
    base_resolver: ModelResolver
    base_supervisor: Supervisor
    policy: PathPolicy
    base_inputs: InputFiles
    keeper: OutputKeeper
    base_ledger: LedgerStore
    output_dir: Path
    tenants: TenantClients | None = None
    objects: ObjectArchive | None = None
    _views: dict[str, _TenantView] = field(default_factory=dict, repr=False)

    @property
    def tenant(self) -> str:
        return current_principal().tenant

    def _view(self) -> _TenantView | None:
        principal = current_principal()
        if principal.tenant == LOCAL_TENANT:
            return None
        client = self.base_client
        if principal.replicate_token is not None and self.tenants is not None:
            client = self.tenants.remember(principal.tenant, principal.replicate_token.get_secret_value())
        view = self._views.get(principal.tenant)
        if view is None or view.client is not client:
            view = _TenantView(
                client,
                TenantSupervisor(self.base_supervisor, principal.tenant),
                TenantLedger(self.base_ledger, principal.tenant),
                self.base_inputs.for_tenant(
                    principal.tenant, client, TenantLedger(self.base_ledger, principal.tenant)
                ),
                ModelResolver(client) if client is not self.base_client else self.base_resolver,
            )
            self._views[principal.tenant] = view
        return view

    @property
    def client(self) -> ReplicateClient:
        view = self._view()
        return view.client if view else self.base_client

    @property
    def resolver(self) -> ModelResolver:
        """Models as the caller's account sees them (its private models too), cached per account."""
        view = self._view()
        return view.resolver if view else self.base_resolver

    @property
    def supervisor(self) -> Supervisor | TenantSupervisor:
        view = self._view()
        return view.supervisor if view else self.base_supervisor

    @property
    def ledger(self) -> LedgerStore | TenantLedger:
        view = self._view()
        return view.ledger if view else self.base_ledger

    @property
    def inputs(self) -> InputFiles:
        view = self._view()
        return view.inputs if view else self.base_inputs

    async def local_files(self, files: list[ArchivedFile]) -> list[ArchivedFile]:
        """The files with a local path that exists: one archived by another replica is fetched from the object
        store into this replica's output folder first."""
        local = []
        for f in files:
            if f.stored and self.objects is not None and not await anyio.Path(f.path).is_file():
                key = self.objects.key_of(f.stored) or f"{f.sha256}/{Path(f.path).name}"
                target = anyio.Path(self.output_dir / "from-store" / key)
                if not await target.is_file():
                    await target.parent.mkdir(parents=True, exist_ok=True)
                    await target.write_bytes(await self.objects.read(f.stored))
                f = f.model_copy(update={"path": str(target)})
            local.append(f)
        return local

    def output_kind(self, prediction_id: str) -> str:
        entry = self.ledger.get(prediction_id)
        return entry.output_kind if entry is not None else ""

    def saved_files(self, prediction_id: str) -> list[ArchivedFile]:
        return self.ledger.files(prediction_id)


@dataclass
class _TenantView:
    client: ReplicateClient
    supervisor: TenantSupervisor
    ledger: TenantLedger
    inputs: InputFiles
    resolver: ModelResolver


class TenantSupervisor:
    """The supervisor as one tenant sees it: runs it starts are its own; ids of others are unknown to it."""

    def __init__(self, supervisor: Supervisor, tenant: str) -> None:
        self._supervisor = supervisor
        self.tenant = tenant

    def __getattr__(self, name: str):
        return getattr(self._supervisor, name)

    async def start(self, request: StartRequest) -> Started:
        return await self._supervisor.start(replace(request, tenant=self.tenant))

    async def start_training(self, request: TrainingRequest) -> Started:
        return await self._supervisor.start_training(replace(request, tenant=self.tenant))

    def known(self, prediction_id: str) -> Tracked | None:
        return self._supervisor.known(prediction_id, self.tenant)

    async def wait(self, prediction_id: str, **options) -> Tracked:
        return await self._supervisor.wait(prediction_id, tenant=self.tenant, **options)

    async def refresh(self, prediction_id: str, **options) -> Tracked:
        return await self._supervisor.refresh(prediction_id, tenant=self.tenant, **options)

    async def cancel(self, prediction_id: str, **options) -> Tracked:
        return await self._supervisor.cancel(prediction_id, tenant=self.tenant, **options)

    async def abandon(self, prediction_id: str) -> None:
        await self._supervisor.abandon(prediction_id, tenant=self.tenant)


class TenantLedger:
    """The ledger as one tenant sees it: another tenant's entries and files do not exist."""

    def __init__(self, ledger: LedgerStore, tenant: str) -> None:
        self._ledger = ledger
        self.tenant = tenant

    def __getattr__(self, name: str):
        return getattr(self._ledger, name)

    def get(self, prediction_id: str) -> LedgerEntry | None:
        entry = self._ledger.get(prediction_id)
        return entry if entry is not None and entry.tenant == self.tenant else None

    def files(self, prediction_id: str) -> list[ArchivedFile]:
        return self._ledger.files(prediction_id) if self.get(prediction_id) is not None else []

    def list(self, limit: int = 20, before: str | None = None) -> list[LedgerEntry]:
        return self._ledger.list(limit, before, tenant=self.tenant)


def services(ctx: Context[Any, Any]) -> Services:
    """What the server's lifespan yielded (open_services): the SDK types it only as its default, a dict."""
    return ctx.request_context.lifespan_context


@asynccontextmanager
async def open_services(settings: Settings, *, base_url: str | None = None) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        if settings.sandbox and base_url is None:
            from replicate_mcp.sandbox import SandboxConfig, start_sandbox

            sandbox = start_sandbox(
                SandboxConfig(
                    time_scale=settings.sandbox_time_scale,
                    cold_boot=0.5,
                    allow_insecure_webhooks=_insecure_webhooks(settings),
                )
            )
            stack.callback(sandbox.stop)
            base_url = sandbox.base_url
        base_url = base_url or settings.base_url
        token = (
            SANDBOX_TOKEN
            if settings.sandbox
            else (settings.token.get_secret_value() if settings.token else None)
        )
        client = await stack.enter_async_context(ReplicateClient(token, base_url=base_url))
        downloads = await stack.enter_async_context(
            httpx2.AsyncClient(timeout=httpx2.Timeout(60.0, connect=10.0))
        )
        data_dir = settings.data_dir or default_data_dir()
        output_dir = settings.output_dir or data_dir / "outputs"
        data_dir.mkdir(parents=True, exist_ok=True)
        uploads = None
        if (
            settings.state
        ):  # the team engines are imported only when used: one person's server never loads them
            from replicate_mcp.files.redis_ledger import RedisLedger, RedisUploadCache

            shared = RedisLedger.from_url(settings.state)
            ledger: LedgerStore = shared
            uploads = RedisUploadCache(shared.redis)
        else:
            ledger = Ledger(data_dir / "ledger.sqlite3")
        stack.callback(ledger.close)
        coordination = (
            RedisCoordination(settings.state, lease_seconds=settings.lease_seconds)
            if settings.state
            else LocalCoordination()
        )
        if isinstance(coordination, RedisCoordination):
            stack.callback(coordination.close)
        policy = PathPolicy(list(settings.allow_dirs), output_dir)
        api = urlsplit(base_url)
        archive = None
        if settings.archive:
            archive = OutputArchive(
                output_dir,
                http_client=downloads,
                api_host=api.netloc,
                allow_loopback=api.hostname in LOOPBACK_HOSTS,
            )
        objects = None
        if settings.archive_to:
            from replicate_mcp.files.object_store import ObjectArchive

            objects = ObjectArchive(settings.archive_to)
        keeper = OutputKeeper(ledger, archive, objects=objects)
        tenants = TenantClients(
            client,
            store=ledger,
            state_key=settings.state_key.get_secret_value() if settings.state_key else None,
        )
        supervisor = Supervisor(
            client,
            ledger,
            keeper,
            rate=settings.poll_rate,
            webhook_url=settings.webhook_url,
            min_interval=settings.min_poll_interval,
            coordination=coordination,
            clients=tenants,
            strict_tenancy=settings.auth == "oauth",
            max_runs_per_tenant=settings.max_runs_per_tenant,
        )
        services = Services(
            settings=settings,
            base_client=client,
            base_resolver=ModelResolver(client),
            base_supervisor=supervisor,
            policy=policy,
            base_inputs=InputFiles(
                client, policy, cache_db=data_dir / "ledger.sqlite3", ledger=ledger, cache=uploads
            ),
            keeper=keeper,
            base_ledger=ledger,
            output_dir=output_dir,
            tenants=tenants,
            objects=objects,
        )
        async with anyio.create_task_group() as background:
            await background.start(supervisor.serve)
            yield services
            background.cancel_scope.cancel()


def _insecure_webhooks(settings: Settings) -> bool:
    """The embedded sandbox may deliver to this server's own http:// receiver,
    and only with a public URL set."""
    return settings.webhook_url is not None and settings.webhook_url.startswith("http://")
