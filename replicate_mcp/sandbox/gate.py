"""ASGI middleware in front of every route: request counters, injected faults, auth and rate limits."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .http_errors import PROBLEM, ApiError, not_found, throttled, unauthenticated
from .state import SandboxState

log = logging.getLogger(__name__)

NO_AUTH = {"/v1/search", "/v1/predictions/{id}/stream"}
CREATE_ROUTES = {
    "POST /v1/predictions",
    "POST /v1/models/{owner}/{name}/predictions",
    "POST /v1/deployments/{owner}/{name}/predictions",
    "POST /v1/models/{owner}/{name}/versions/{version_id}/trainings",
}
POLL_ROUTE = "GET /v1/predictions/{id}"
FAULT_BODIES = {
    "402": (
        402,
        {
            "title": "Insufficient credit",
            "detail": "You have insufficient credit to run this model. "
            "Go to https://replicate.com/account/billing#billing to purchase credit.",
            "status": 402,
        },
    ),
    "500": (
        500,
        {"title": "Internal Server Error", "detail": "Something went wrong on our end.", "status": 500},
    ),
    "503": (
        503,
        {"title": "Service Unavailable", "detail": "The service is temporarily unavailable.", "status": 503},
    ),
}


class Gate:
    def __init__(self, app: ASGIApp, state: SandboxState, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.routes = routes

    def route_template(self, scope: Scope) -> str:
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                path = getattr(route, "path", None)
                return path if isinstance(path, str) else scope["path"]
            if match == Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial or scope["path"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        template = self.route_template(scope)
        route_key = f"{method} {template}"
        self.state.requests[route_key] += 1
        fault = self.state.faults.pick(method, path)
        if fault == "slow":
            await asyncio.sleep(self.state.config.slow_seconds)
        elif fault == "drop":
            _drop_connection(receive)
            return
        elif fault == "429":
            await _send_error(send, throttled(1), {})
            return
        elif fault == "404":
            await _send_error(send, not_found(), {})
            return
        elif fault in FAULT_BODIES:
            status, body = FAULT_BODIES[fault]
            await _send_json(send, status, body, {})
            return

        if path.startswith("/v1/"):
            token = _token(scope)
            bucket = (
                "create" if route_key in CREATE_ROUTES else "poll" if route_key == POLL_ROUTE else "other"
            )
            allowed, remaining, reset = self.state.limiter.hit(token or _client_host(scope), bucket)
            extra = {"ratelimit-remaining": str(remaining), "ratelimit-reset": str(reset)}
            if not allowed:
                await _send_error(send, throttled(reset), extra)
                return
            if template not in NO_AUTH and not self._valid(token):
                await _send_error(send, unauthenticated(), extra)
                return
            send = _adding_headers(send, extra)

        if fault in ("drop_after", "500_after"):

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            if fault == "drop_after":
                _drop_connection(receive)
            else:
                status, body = FAULT_BODIES["500"]
                await _send_json(send, status, body, {})
            return
        if fault == "slow_after":
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(self.state.config.slow_seconds)
            for message in held:
                await send(message)
            return
        await self.app(scope, receive, send)

    def _valid(self, token: str | None) -> bool:
        if not token:
            return False
        if self.state.config.token is not None:
            return token == self.state.config.token
        return token.startswith("r8_")


def _token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() in ("bearer", "token") and token.strip():
                return token.strip()
    return None


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return f"anonymous@{client[0]}" if client else "anonymous"


def _adding_headers(send: Send, extra: dict[str, str]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers += [(k.encode(), v.encode()) for k, v in extra.items()]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


async def _send_json(
    send: Send, status: int, body: dict, extra: dict[str, str], media: str = PROBLEM
) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(payload)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _send_error(send: Send, error: ApiError, extra: dict[str, str]) -> None:
    await _send_json(send, error.status, error.body(), {**extra, **error.headers})


def _drop_connection(receive: Receive) -> None:
    """Close the TCP connection without answering (uvicorn's h11 protocol exposes its transport)."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        raise ConnectionAbortedError("sandbox fault: drop")
    cycle.disconnected = True
    transport.close()
