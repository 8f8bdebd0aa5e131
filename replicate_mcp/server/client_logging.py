"""MCP logging on the 2025 protocol versions: a prediction's log lines, sent to a client that asked for them.

The server declares `logging` and answers `logging/setLevel`; once a connection set a level of `info` or
lower, every tool call on it that waits on a prediction sends that prediction's new log lines as
`notifications/message` (logger `replicate`, level `info`) on the call's own stream. Lines are sent once per
connection, at most one message a second per call (the rest follow with the next, and the last lines when the
run ends), each message at most `MAX_CHARS` (the newest lines kept). The 2026-07-28 revision removed logging
(SEP-2577): there `logging/setLevel` is not served, nothing is sent here, and log lines reach the client as
progress messages and task status only.

The tools stay unaware: a tools/call on such a connection sees its services through a view whose supervisor
hands every state it waits on to the forwarder first. The one door is `ClientLogging.mount(server)`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, get_args
from weakref import WeakKeyDictionary

import anyio
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.types import (
    EmptyResult,
    LoggingLevel,
    LoggingMessageNotification,
    LoggingMessageNotificationParams,
    SetLevelRequestParams,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

log = logging.getLogger(__name__)

LOGGER = "replicate"
LEVEL: LoggingLevel = "info"
LEVELS: tuple[str, ...] = get_args(LoggingLevel)  # least severe first
MAX_CHARS = 2_000  # one message; longer news keeps its newest lines
MIN_GAP = 1.0  # seconds between two messages of one call (the last lines of a run are never held back)
KEEP_PREDICTIONS = 256  # per connection: how far into each prediction's logs it has been sent


@dataclass
class _Listener:
    level: str
    sent: OrderedDict[str, int] = field(default_factory=OrderedDict)  # prediction id -> log characters sent


class ClientLogging:
    """`logging/setLevel` and the log lines of the predictions a 2025-era client's calls wait on."""

    def __init__(self) -> None:
        self._listeners: WeakKeyDictionary[Any, _Listener] = WeakKeyDictionary()

    def mount(self, server: MCPServer) -> None:
        server.middleware.append(self._around_call)
        # SDK private state (checked by tests/server/test_sdk_seams.py): MCPServer has no public way to handle
        # a method it does not route (logging/setLevel) or to wrap one it does (server/discover).
        lowlevel = server._lowlevel_server
        lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, self._set_level)
        discover = lowlevel.get_request_handler("server/discover")
        if discover is not None:
            lowlevel.add_request_handler(
                "server/discover", discover.params_type, _without_logging(discover.handler)
            )

    async def _set_level(
        self, ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        listener = self._listeners.get(_connection(ctx))
        if listener is None:
            self._listeners[_connection(ctx)] = _Listener(params.level)
        else:
            listener.level = params.level
        return EmptyResult()

    async def _around_call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if (
            ctx.method != "tools/call"
            or ctx.request_id is None
            or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        ):
            return await call_next(ctx)
        listener = self._listeners.get(_connection(ctx))
        if listener is None or LEVELS.index(listener.level) > LEVELS.index(LEVEL):
            return await call_next(ctx)
        forward = _Forwarder(ctx, listener)
        return await call_next(replace(ctx, lifespan_context=_LoggedServices(ctx.lifespan_context, forward)))


class _Forwarder:
    """Sends one call's share of new log lines."""

    def __init__(self, ctx: ServerRequestContext[Any, Any], listener: _Listener) -> None:
        self.ctx = ctx
        self.listener = listener
        self.last_sent = -float("inf")

    async def __call__(self, prediction: Any) -> None:
        logs = getattr(prediction, "logs", None) or ""  # a prediction's, or a training's
        if not isinstance(logs, str) or not logs:
            return
        sent = self.listener.sent.get(prediction.id, 0)
        if sent > len(logs):  # the logs were cut or restarted
            sent = 0
        end = (
            len(logs) if prediction.is_terminal else logs.rfind("\n", sent) + 1
        )  # whole lines only while running
        if end <= sent or (not prediction.is_terminal and anyio.current_time() - self.last_sent < MIN_GAP):
            return
        text = logs[sent:end].rstrip("\n")
        if len(text) > MAX_CHARS:
            kept = text[-MAX_CHARS:].partition("\n")[2] or text[-MAX_CHARS:]
            text = (
                f"[{len(text) - len(kept)} earlier characters left out: get_prediction has the logs]\n{kept}"
            )
        self.listener.sent[prediction.id] = end
        self.listener.sent.move_to_end(prediction.id)
        while len(self.listener.sent) > KEEP_PREDICTIONS:
            self.listener.sent.popitem(last=False)
        self.last_sent = anyio.current_time()
        if not text.strip():
            return
        message = LoggingMessageNotification(
            params=LoggingMessageNotificationParams(
                level=LEVEL,
                logger=LOGGER,
                data={"prediction": prediction.id, "status": prediction.status, "logs": text},
            )
        )
        try:
            await self.ctx.session.send_notification(message, related_request_id=self.ctx.request_id)
        except Exception as exc:  # a client that went away must not fail the call
            log.debug("could not send log lines of %s: %s", prediction.id, type(exc).__name__)


class _LoggedServices:
    """The call's services, with a supervisor whose waits pass each state to the forwarder."""

    def __init__(self, services: Any, forward: _Forwarder) -> None:
        self._services = services
        self._forward = forward

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)

    @property
    def supervisor(self) -> Any:
        return _LoggedSupervisor(self._services.supervisor, self._forward)


class _LoggedSupervisor:
    def __init__(self, supervisor: Any, forward: _Forwarder) -> None:
        self._supervisor = supervisor
        self._forward = forward

    def __getattr__(self, name: str) -> Any:
        return getattr(self._supervisor, name)

    async def wait(self, prediction_id: str, *, on_state: Any = None, **options: Any) -> Any:
        async def both(prediction: Any) -> None:
            await self._forward(prediction)
            if on_state is not None:
                await on_state(prediction)

        return await self._supervisor.wait(prediction_id, on_state=both, **options)


def _without_logging(discover: Any) -> Any:
    """server/discover is 2026-07-28 only, where logging is gone: it is not declared there."""

    async def handler(ctx: ServerRequestContext[Any, Any], params: Any) -> Any:
        result = await discover(ctx, params)
        result.capabilities.logging = None
        return result

    return handler


def _connection(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The client's connection: a level set on it holds for its later calls
    (the session keeps no such state)."""
    # SDK private state (checked by tests/server/test_sdk_seams.py): ServerSession is a per-request proxy and
    # names its connection nowhere publicly; nothing else lives as long as the client's connection.
    return ctx.session._connection
