"""create_server(): the MCP server, its lifespan, resources and prompt; run_server(): the transports."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import MCPServer
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.request_state import AESGCMRequestStateCodec, RequestStateSecurity
from mcp.types import (
    Resource,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from starlette.types import ASGIApp

from replicate_mcp import __version__
from replicate_mcp.api import Prediction
from replicate_mcp.api.webhooks import DEFAULT_TOLERANCE
from replicate_mcp.config import ConfigError, Settings
from replicate_mcp.runs.coordination import RedisReplayCache, shared_secret
from replicate_mcp.schema import compact_summary
from replicate_mcp.server.auth import auth_parts
from replicate_mcp.server.client_logging import ClientLogging
from replicate_mcp.server.compact import compact_schema
from replicate_mcp.server.completions import register_completions
from replicate_mcp.server.http_security import explain_unauthorized, require_bearer, transport_security
from replicate_mcp.server.operations import ReadinessCheck, standard_checks, with_operations
from replicate_mcp.server.prediction_resources import FILE_URI, PredictionUpdates, listed_resources
from replicate_mcp.server.services import Services, open_services, services
from replicate_mcp.server.tasks import PredictionTasks
from replicate_mcp.server.toolsets import register_toolsets
from replicate_mcp.server.webhook_receiver import WebhookReceiver

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
Run AI models on Replicate.
1. search_models (or list_collections) to find a model; 2. get_model for its inputs and output;
3. run_model: it validates the input first (nothing invalid is sent or billed), waits with progress,
and returns text, saved file paths and image previews. validate_input is a free dry run.
Runs that outlast the wait return a prediction id: continue with wait_for_prediction.
Replicate deletes outputs after 1 hour; this server saves output files locally first."""

WORKFLOW_PROMPT = """\
Use the Replicate tools to do this: {task}
Steps: search_models to find a suitable model (prefer official, much-run ones); get_model to read its inputs;
build the input from the task and the model's example; run_model (it validates first, so fix any \
field it names
and call again); if it returns a running prediction id, call wait_for_prediction. Report the output, and the
local paths of any files."""

WEBHOOK_PATH = "/webhooks/replicate"


class ReplicateMCPServer(MCPServer):
    """Archived files are served with their own MIME type, which a resource template cannot vary; the caller's
    recent predictions and files are listed, and their changes notified (`prediction_resources`).

    `services` is the lifespan's state, for the HTTP routes beside MCP (the webhook receiver)."""

    services: Services | None = None
    readiness_checks: list[ReadinessCheck]  # /readyz asks each; more engines, more checks
    updates: PredictionUpdates

    def serve_prediction_updates(self) -> None:
        """subscriptions/listen (2026-07-28) and resources/subscribe (2025) for prediction resources."""
        # SDK private state (checked by tests/server/test_sdk_seams.py): the bus behind ctx.notify_* is
        # reachable only as _subscriptions, and a handler for a method MCPServer does not route can
        # only be added on its low-level server, as MCPServer's own completion() does (an Extension
        # would advertise a capability).
        self.updates = PredictionUpdates(self._subscriptions)
        lowlevel = self._lowlevel_server
        lowlevel.add_request_handler(
            "subscriptions/listen", SubscriptionsListenRequestParams, self.updates.listen
        )
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, self.updates.subscribe)
        lowlevel.add_request_handler(
            "resources/unsubscribe", UnsubscribeRequestParams, self.updates.unsubscribe
        )

    async def list_resources(self) -> list[Resource]:
        static = await super().list_resources()
        if self.services is None:
            return static
        return [*static, *listed_resources(self.services.ledger)]  # the ledger as the current caller sees it

    def live_services(self) -> Services:
        if self.services is None:
            raise RuntimeError("the server is not running yet")
        return self.services

    async def read_resource(self, uri: Any, context: Any = None):
        parts = str(uri).removeprefix("replicate://").split("/")
        if len(parts) == 4 and parts[0] == "predictions" and parts[2] == "files" and context is not None:
            svc: Services = context.request_context.lifespan_context
            for f in await svc.local_files(svc.ledger.files(parts[1])):
                if str(f.index) == parts[3]:
                    with open(f.path, "rb") as handle:
                        return [ReadResourceContents(content=handle.read(), mime_type=f.mime_type)]
            raise ResourceError(f"no saved file {parts[3]} for prediction {parts[1]}")
        return await super().read_resource(uri, context)


def create_server(
    settings: Settings, *, base_url: str | None = None, tasks: PredictionTasks | None = None
) -> MCPServer:
    """`base_url` points the server at a given API (tests use a running sandbox);
    `tasks` which tools run as MCP Tasks."""

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Services]:
        async with open_services(settings, base_url=base_url) as services, server.updates.running():
            server.services = services
            try:
                yield services
            finally:
                server.services = None

    def api_base() -> str:  # the Replicate API this server uses: with --sandbox, known once running
        return server.services.client.base_url if server.services else base_url or settings.base_url

    token_verifier, auth = auth_parts(settings, api_base)
    server = ReplicateMCPServer(
        "replicate",
        token_verifier=token_verifier,
        auth=auth,
        instructions=INSTRUCTIONS,
        version=__version__,
        website_url="https://replicate.com",
        lifespan=lifespan,
        log_level=settings.log_level,
        extensions=[tasks := tasks or PredictionTasks()],
        request_state_security=_request_state(settings),
    )
    tasks.mount(server)
    ClientLogging().mount(server)
    register_completions(server)
    server.serve_prediction_updates()
    server.readiness_checks = standard_checks(lambda: server.services)
    register_toolsets(server, settings)
    _register_resources(server)
    _compact_tool_schemas(server)
    return server


def _request_state(settings: Settings) -> RequestStateSecurity | None:
    """Replicas seal a request's state (elicitation round trips) with one key, so it opens on any of them:
    one derived from REPLICATE_MCP_STATE_KEY, or else one kept in the shared Redis (fetched when first needed,
    so a replica starts, and says it is not ready, while Redis is away). One process alone keeps the SDK's own
    key."""
    if settings.state_key is not None:
        return RequestStateSecurity(keys=[_request_state_key(settings.state_key.get_secret_value().encode())])
    if settings.state is not None:
        return RequestStateSecurity(codec=_SharedKeyCodec(settings.state))
    return None


def _request_state_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"replicate-mcp request state:" + secret).digest()


class _SharedKeyCodec:
    """The SDK's AES-GCM codec under the key all replicas of one Redis share, made on first use."""

    def __init__(self, state_url: str) -> None:
        self._state_url = state_url
        self._codec: AESGCMRequestStateCodec | None = None

    def _ready(self) -> AESGCMRequestStateCodec:
        if self._codec is None:
            secret = shared_secret(self._state_url, "request-state-key")
            self._codec = AESGCMRequestStateCodec([_request_state_key(secret)])
        return self._codec

    def seal(self, payload: bytes) -> str:
        return self._ready().seal(payload)

    def unseal(self, token: str) -> bytes:
        return self._ready().unseal(token)


def _compact_tool_schemas(server: MCPServer) -> None:
    # SDK private state (checked by tests/server/test_sdk_seams.py): MCPServer.list_tools() returns copies for
    # the wire, and no public API replaces a registered tool's input or output schema.
    for tool in server._tool_manager.list_tools():
        tool.parameters = compact_schema(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = compact_schema(tool.fn_metadata.output_schema)


def _register_resources(server: MCPServer) -> None:
    @server.resource("replicate://predictions/{id}", mime_type="application/json")
    async def prediction_resource(id: str, ctx: Context) -> str:
        """A prediction as JSON (output untruncated), from Replicate or, if gone, the local ledger."""
        svc = services(ctx)
        try:
            tracked = await svc.supervisor.refresh(id)
        except Exception:
            entry = svc.ledger.get(id)
            if entry is None:
                raise ResourceError(f"unknown prediction {id}") from None
            return json.dumps(entry.model_dump(mode="json"), separators=(",", ":"))
        data = tracked.latest.model_dump(mode="json", exclude_none=True)
        data["saved_files"] = [f.model_dump(mode="json") for f in tracked.files or svc.saved_files(id)]
        return json.dumps(data, separators=(",", ":"))

    @server.resource(FILE_URI, mime_type="application/octet-stream")
    async def prediction_file(id: str, n: str) -> bytes:
        """An output file saved by this server (bytes, with its own MIME type)."""
        raise ResourceError("served by ReplicateMCPServer.read_resource")

    @server.resource("replicate://models/{owner}/{name}", mime_type="application/json")
    async def model_resource(owner: str, name: str, ctx: Context) -> str:
        """A model's card and compact input schema."""
        svc = services(ctx)
        target = await svc.resolver.resolve(f"{owner}/{name}")
        model = await svc.resolver.model(owner, name)
        card = {
            "model": target.slug,
            "description": model.description,
            "official": target.official,
            "version": target.version_id,
            "inputs": compact_summary(target.schema),
            "output": target.schema.output_kind,
            "input_schema": target.schema.input_schema,
            "example_input": target.default_input,
        }
        return json.dumps(card, separators=(",", ":"))

    @server.prompt(name="run_a_model", description="Find, check and run a Replicate model for a task")
    def run_a_model(task: str, model: str = "") -> str:
        """`model` (optional, `owner/name`, completed by completion/complete) skips the search."""
        chosen = f"\nUse the model {model}: skip search_models." if model.strip() else ""
        return WORKFLOW_PROMPT.format(task=task) + chosen


def http_app(server: MCPServer, settings: Settings):
    """The streamable-HTTP ASGI app: explicit Host/Origin allow-lists, the --auth mode or the shared
    bearer token; operations endpoints (/healthz, /readyz, /mcp/server-card) and webhooks beside it,
    outside the credential check."""
    problem = settings.auth_problem() or settings.exposure_problem()
    if problem:
        raise ConfigError(problem)
    app: ASGIApp = server.streamable_http_app(
        transport_security=transport_security(settings), json_response=False
    )
    if settings.auth != "none":
        app = explain_unauthorized(app, settings.auth)
    elif settings.http_token is not None:
        app = require_bearer(app, settings.http_token.get_secret_value())
    elif not settings.loopback_host:
        log.warning(
            "replicate-mcp: --allow-unauthenticated: http://%s:%d/mcp answers ANYONE who can reach it, "
            "with no token; they can run models billed to this account. "
            "Set REPLICATE_MCP_HTTP_TOKEN to stop this.",
            settings.host,
            settings.port,
        )
    if settings.webhook_url is not None and isinstance(server, ReplicateMCPServer):
        app = _with_webhooks(app, server, settings)
    return with_operations(app, settings, getattr(server, "readiness_checks", []))


def _with_webhooks(app: Any, server: ReplicateMCPServer, settings: Settings) -> Any:
    """Replicate's deliveries reach WEBHOOK_PATH beside /mcp: signed, so they need no bearer token."""

    async def fetch_secret() -> str:
        return await server.live_services().client.get_webhook_secret()

    async def delivered(body: dict[str, Any]) -> None:
        await server.live_services().supervisor.observe(Prediction.model_validate(body))

    # With replicas, a delivery replayed to another replica must be refused there too.
    replays = RedisReplayCache(settings.state, window=2 * DEFAULT_TOLERANCE) if settings.state else None
    receiver = WebhookReceiver(fetch_secret=fetch_secret, on_prediction=delivered, replays=replays)

    async def route(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH:
            await receiver(scope, receive, send)
        else:
            await app(scope, receive, send)

    return route


def run_server(settings: Settings) -> None:
    server = create_server(settings)
    if settings.transport == "stdio":
        server.run()
        return
    import socket

    import uvicorn

    app = http_app(server, settings)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: otherwise each response (head and body written apart)
    # waits ~40 ms for a delayed ACK.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((settings.host.strip("[]"), settings.port))
    log.warning("replicate-mcp: streamable HTTP on http://%s:%d/mcp", settings.host, settings.port)
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])
