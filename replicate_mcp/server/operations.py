"""Endpoints for operators beside /mcp, outside any bearer or OAuth check:
liveness, readiness, the server card.

- `GET /healthz`: 200 while the process serves requests (liveness: restart it when this fails).
- `GET /readyz`: 200 when every readiness check passes, else 503 with what failed (route traffic elsewhere).
  `standard_checks()` makes the embedded ones (the server's state is open, the ledger answers, the
  output folder is writable); a server's `readiness_checks` list is the hook for more (a shared
  state store, an object store).
- `GET /mcp/server-card`: the SEP-2127 server card (`application/mcp-server-card+json`), describing the remote
  endpoint: its URL, its transport, the protocol versions it speaks and the header a client must send.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.streamable_http_manager import HANDSHAKE_PROTOCOL_VERSIONS  # the SDK's own (from mcp-types)
from mcp.shared.inbound import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp, Receive, Scope, Send

from replicate_mcp import __version__
from replicate_mcp.config import Settings

if TYPE_CHECKING:
    from replicate_mcp.server.services import Services

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when ready, else what is wrong and what to do

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
CARD_SUFFIX = "/server-card"
CARD_TYPE = "application/mcp-server-card+json"
CARD_SCHEMA = "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json"
SERVER_NAME = "io.github.replicate-mcp/replicate-mcp"  # as in manifests/server.json
TITLE = "Replicate"
DESCRIPTION = (
    "Run Replicate models from any agent: schema-checked inputs, waits with progress, saved outputs."
)
REPOSITORY = "https://github.com/replicate-mcp/replicate-mcp"
AUTHORIZATION_HEADERS = {
    "replicate-token": "Bearer <your Replicate API token (r8_...)>: your runs use your own Replicate account",
    "oauth": "Bearer <an access token from the team's identity provider>: see the endpoint's "
    "/.well-known/oauth-protected-resource metadata",
    "shared": "Bearer <the server's shared token, REPLICATE_MCP_HTTP_TOKEN>",
}


def standard_checks(services: Callable[[], Services | None]) -> list[ReadinessCheck]:
    """The embedded state's checks: `services()` is the running server's Services,
    or None before its lifespan."""

    async def state_open() -> str | None:
        if services() is None:
            return "the server's state is not open yet (starting or stopping): wait and ask again"
        return None

    async def ledger() -> str | None:
        svc = services()
        if svc is None:
            return None
        try:
            svc.ledger.list(limit=1)
        except Exception as exc:  # sqlite3.Error, OSError, redis' errors
            where = "is Redis up at --state?" if svc.settings.state else "check the data folder's disk"
            return f"the ledger does not answer ({type(exc).__name__}): {where}"
        return None

    async def object_store() -> str | None:
        svc = services()
        if svc is None or svc.objects is None:
            return None
        problem = await svc.objects.check()
        return f"{problem}: check --archive-to and the AWS_* credentials" if problem else None

    async def output_dir() -> str | None:
        svc = services()
        if svc is None or not svc.settings.archive:
            return None
        try:
            svc.output_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=svc.output_dir):
                pass
        except OSError as exc:
            return (
                f"the output folder {svc.output_dir} is not writable ({exc.strerror or exc}): fix its "
                "permissions or free disk space, or set --output-dir"
            )
        return None

    return [state_open, ledger, output_dir, object_store]


def server_card(settings: Settings) -> dict[str, Any]:
    """The SEP-2127 card of this deployment."""
    remote: dict[str, Any] = {
        "type": "streamable-http",
        "url": settings.resource_url,
        "supportedProtocolVersions": [*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS],
    }
    mode = settings.auth if settings.auth != "none" else "shared" if settings.http_token is not None else None
    if mode is not None:
        remote["headers"] = [
            {
                "name": "Authorization",
                "description": AUTHORIZATION_HEADERS[mode],
                "isRequired": True,
                "isSecret": True,
                "value": "Bearer {token}",
                "variables": {
                    "token": {
                        "description": AUTHORIZATION_HEADERS[mode].split(": ")[0],
                        "isRequired": True,
                        "isSecret": True,
                    }
                },
            }
        ]
    return {
        "$schema": CARD_SCHEMA,
        "name": SERVER_NAME,
        "version": __version__,
        "description": DESCRIPTION,
        "title": TITLE,
        "websiteUrl": REPOSITORY,
        "repository": {"url": REPOSITORY, "source": "github"},
        "remotes": [remote],
    }


def with_operations(
    app: ASGIApp, settings: Settings, readiness_checks: list[ReadinessCheck], mcp_path: str = "/mcp"
) -> ASGIApp:
    """`app` with the operations endpoints answered before it (and before any credential check)."""
    card = json.dumps(server_card(settings), separators=(",", ":")).encode()
    card_path = mcp_path.rstrip("/") + CARD_SUFFIX

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path not in (HEALTH_PATH, READY_PATH, card_path):
            await app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, {"error": f"{path} answers GET only"}, extra=[(b"allow", b"GET, HEAD")])
        elif path == HEALTH_PATH:
            await _answer(send, 200, {"status": "ok"})
        elif path == READY_PATH:
            problems = await _run_checks(readiness_checks)
            status = 503 if problems else 200
            await _answer(
                send, status, {"status": "not ready" if problems else "ready", "problems": problems}
            )
        else:
            await _send(
                send,
                200,
                card,
                CARD_TYPE,
                [(b"access-control-allow-origin", b"*"), (b"cache-control", b"public, max-age=3600")],
            )

    return route


async def _run_checks(checks: list[ReadinessCheck]) -> list[str]:
    problems = []
    for check in checks:
        try:
            problem = await check()
        except Exception as exc:  # a check that breaks is itself a reason not to take traffic
            log.warning("readiness check %s failed", getattr(check, "__qualname__", check), exc_info=True)
            problem = f"{getattr(check, '__name__', 'a readiness check')} failed: {type(exc).__name__}"
        if problem:
            problems.append(problem)
    return problems


async def _answer(
    send: Send, status: int, body: dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    await _send(
        send, status, json.dumps(body).encode(), "application/json", [(b"cache-control", b"no-store"), *extra]
    )


async def _send(
    send: Send, status: int, body: bytes, media_type: str, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
