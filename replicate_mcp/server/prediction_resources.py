"""Predictions as MCP resources: the caller's recent ones listed, and their changes notified,
in both protocol eras.

`resources/list` shows the caller's most recent predictions (`replicate://predictions/{id}`) and their saved
files (`replicate://predictions/{id}/files/{n}`), read from the ledger view of the current caller (with
--auth, each person sees only their own).

Subscriptions name one of those URIs. While the prediction runs, each change the supervisor records
(`Tracked.changed`) becomes a `notifications/resources/updated` for the prediction's URI, at most one per
COALESCE seconds; when it has ended and its files are kept, a last one for it and one for each subscribed
file. A finished prediction does not change any more: subscribing to it is accepted and never fires.

- 2026-07-28, `subscriptions/listen`: each stream is served by the SDK's ListenHandler over a bus of its own
  that also carries the server's shared events, so a prediction's news reaches only the streams that asked for
  it. URIs that are not the caller's predictions are left out of the acknowledged filter.
- 2025-11-25 and older, `resources/subscribe` / `resources/unsubscribe`: news goes out on the session's own
  channel; a session's followers stop when it closes. Another person's prediction is refused as unknown.

Task status (the Tasks extension, 2026-07-28): a `subscriptions/listen` whose filter names task ids in
`tasksStatus` (from a client that declared the extension; -32021 otherwise) gets `notifications/tasks/status`
on its stream for the caller's own runs among them, each carrying what `tasks/get` would answer at that
moment: the current state at once, then each change of status or status message, a working task's at most one
per TASK_STATUS_INTERVAL seconds, and the last one, with the result inlined, when the run is over. The
acknowledgement names the honored task ids.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, cast

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    SUBSCRIPTION_ID_META_KEY,
    ListenHandler,
    ResourceUpdated,
    ServerEvent,
    SubscriptionBus,
)
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    Annotations,
    EmptyResult,
    Notification,
    NotificationParams,
    Resource,
    SubscribeRequestParams,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)
from pydantic import ConfigDict

from replicate_mcp.files import LedgerEntry, LedgerStore
from replicate_mcp.files.ledger import TERMINAL_STATUSES
from replicate_mcp.runs import Supervisor
from replicate_mcp.server.services import Services, TenantLedger
from replicate_mcp.server.tasks import TASKS, require_tasks, run_kind, task_state

log = logging.getLogger(__name__)

PREDICTION_URI = "replicate://predictions/{id}"
FILE_URI = "replicate://predictions/{id}/files/{n}"
SUBSCRIBABLE = re.compile(r"^replicate://predictions/([A-Za-z0-9]{1,64})(/files/\d{1,6})?$")
RECENT = 50  # predictions listed (their files come with them)
COALESCE = 0.5  # seconds: a language model's output changes many times a second
MAX_STREAMS = 1024  # open subscriptions/listen streams, as the SDK's own handler allows
MAX_PER_SESSION = 256  # resources/subscribe URIs one 2025 session may hold
MAX_TASKS = 256  # task ids one listen stream may follow
TASK_STATUS_INTERVAL = 1.0  # seconds between two status notifications of a working task, per stream
TERMINAL_TASK = frozenset({"completed", "failed", "cancelled"})

Announce = Callable[[bool], Awaitable[None]]  # called with final=True once, when the prediction is over


def listed_resources(ledger: LedgerStore | TenantLedger) -> list[Resource]:
    """The ledger view's RECENT newest predictions, each followed by its saved files."""
    resources = []
    for entry in ledger.list(RECENT):
        if entry.kind != "prediction":
            continue
        changed = Annotations(last_modified=entry.updated_at)
        resources.append(
            Resource(
                uri=PREDICTION_URI.format(id=entry.id),
                name=f"prediction {entry.id}",
                title=f"{entry.model} ({entry.status})",
                description=f"{entry.model}, {entry.status}, created {entry.created_at or entry.updated_at}; "
                f"{len(entry.files)} saved file(s)",
                mime_type="application/json",
                annotations=changed,
            )
        )
        resources.extend(
            Resource(
                uri=FILE_URI.format(id=entry.id, n=f.index),
                name=Path(f.path).name,
                title=f"{entry.model} output {f.index}",
                description=f"output file {f.index} of {entry.id}",
                mime_type=f.mime_type,
                size=f.size,
                annotations=changed,
            )
            for f in entry.files
        )
    return resources


def own_prediction(ledger: LedgerStore, uri: str) -> LedgerEntry | None:
    """The caller's prediction that `uri` (a prediction's or one of its files') names,
    if the ledger view has it."""
    match = SUBSCRIBABLE.match(uri)
    entry = ledger.get(match[1]) if match else None
    return entry if entry is not None and entry.kind == "prediction" else None


async def follow(supervisor: Supervisor, entry: LedgerEntry, announce: Announce) -> None:
    """Announce each change of a running prediction until it has ended and its files are kept."""
    try:
        tracked = supervisor.known(entry.id)
        if tracked is None:
            if entry.status in TERMINAL_STATUSES:
                return
            tracked = await supervisor.refresh(entry.id)
        changed, final = tracked.changed, tracked.done.is_set()
        while not final:
            await changed.wait()
            changed = tracked.changed  # taken before announcing, so a change meanwhile wakes the next wait
            final = tracked.done.is_set()
            await announce(final)
            if not final:
                await anyio.sleep(COALESCE)
    except Exception as exc:  # a subscription's follower never takes its stream or the server down
        log.info("stopped announcing changes of %s: %s", entry.id, type(exc).__name__)


def announcer(send: Callable[[str], Awaitable[Any]], uris: list[str]) -> Announce:
    """The prediction's URI on every change;
    a file's URI once, when the prediction is over (its file is saved)."""

    async def announce(final: bool) -> None:
        for uri in uris:
            if final or "/files/" not in uri:
                await send(uri)

    return announce


class TaskStatusParams(NotificationParams):
    model_config = ConfigDict(extra="allow")  # the task, as tasks/get answers it


class TaskStatusNotification(Notification[TaskStatusParams, Literal["notifications/tasks/status"]]):
    method: Literal["notifications/tasks/status"] = "notifications/tasks/status"


def asked_tasks(notifications: SubscriptionFilter) -> list[str]:
    """The task ids a listen filter names in `tasksStatus` (an extension field, kept as an extra)."""
    asked = (notifications.model_extra or {}).get("tasksStatus") or []
    if not isinstance(asked, list) or not all(isinstance(t, str) for t in asked) or len(asked) > MAX_TASKS:
        raise MCPError(
            INVALID_PARAMS,
            f"tasksStatus must be a list of at most {MAX_TASKS} task ids (as tools/call "
            "answered them in CreateTaskResult.taskId)",
        )
    return list(dict.fromkeys(asked))


async def follow_task(svc: Services, task_id: str, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """Send a task's state now, then on each change of its status or message,
    until it is over (result inlined).

    A working task's news goes out at most once per TASK_STATUS_INTERVAL:
    after a pause the newest state is sent."""
    try:
        tracked = svc.supervisor.known(task_id) or await svc.supervisor.refresh(
            task_id, kind=run_kind(svc, task_id)
        )
        last: tuple[str, Any] | None = None
        sent_at = -math.inf
        while True:
            changed = (
                tracked.changed
            )  # taken first, so a change while the state is rendered wakes the next wait
            state = await task_state(svc, tracked)
            shown = (state["status"], state.get("statusMessage"))
            if shown != last:
                pause = sent_at + TASK_STATUS_INTERVAL - anyio.current_time()
                if state["status"] not in TERMINAL_TASK and pause > 0:
                    await anyio.sleep(pause)
                    continue
                await send(state)
                last, sent_at = shown, anyio.current_time()
            if state["status"] in TERMINAL_TASK:
                return
            await changed.wait()
    except Exception as exc:  # a stream's follower never takes the stream or the server down
        log.info("stopped sending the status of task %s: %s", task_id, type(exc).__name__)


class _TaskAck:
    """The session as the SDK's ListenHandler sees it: its acknowledgement also names the honored task ids (a
    field of the Tasks extension the SDK does not know), and `acked` is set once it is sent, since the
    acknowledgement must be the stream's first frame."""

    def __init__(self, session: Any, task_ids: list[str]) -> None:
        self._session = session
        self.task_ids = task_ids
        self.acked = anyio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def send_notification(self, notification: Any, related_request_id: Any = None) -> None:
        if isinstance(notification, SubscriptionsAcknowledgedNotification) and not self.acked.is_set():
            honored = notification.params.notifications.model_dump(by_alias=True, exclude_none=True)
            honored["tasksStatus"] = self.task_ids
            params = notification.params.model_copy(
                update={"notifications": SubscriptionFilter.model_validate(honored)}
            )
            await self._session.send_notification(
                notification.model_copy(update={"params": params}), related_request_id
            )
            self.acked.set()
            return
        await self._session.send_notification(notification, related_request_id)


class _StreamBus:
    """One listen stream's bus: the server's shared events,
    and the news of the predictions this stream asked for."""

    def __init__(self, shared: SubscriptionBus) -> None:
        self._shared = shared
        self._listeners: dict[object, Callable[[ServerEvent], None]] = {}

    async def publish(self, event: ServerEvent) -> None:
        for listener in list(self._listeners.values()):
            listener(event)
        await anyio.lowlevel.checkpoint()

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._listeners[token] = listener
        leave_shared = self._shared.subscribe(listener)

        def unsubscribe() -> None:
            self._listeners.pop(token, None)
            leave_shared()

        return unsubscribe


class PredictionUpdates:
    """The handlers of `subscriptions/listen`, `resources/subscribe` and `resources/unsubscribe`.

    `running()` (inside the server's lifespan) hosts the followers of 2025 sessions' subscriptions."""

    def __init__(self, shared: SubscriptionBus) -> None:
        self._shared = shared
        self._streams = 0
        self._sessions: dict[object, dict[str, anyio.CancelScope]] = {}
        self._tg: TaskGroup | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                yield
            finally:
                self._tg = None
                tg.cancel_scope.cancel()

    async def listen(
        self, ctx: ServerRequestContext[Any, Any], params: SubscriptionsListenRequestParams
    ) -> SubscriptionsListenResult:
        """One stream: the SDK's handler, fed by followers of the asked-for predictions the caller owns."""
        if self._streams >= MAX_STREAMS:
            raise MCPError(
                INTERNAL_ERROR, "Subscription limit reached: close a subscriptions/listen stream first"
            )
        services = ctx.lifespan_context
        tasks = asked_tasks(params.notifications)
        if tasks:
            require_tasks(
                ctx,
                f"tasksStatus needs the {TASKS} extension declared in the client's capabilities; "
                "without it, follow a run with wait_for_prediction or a subscription to its resource",
            )
        asked = dict.fromkeys(params.notifications.resource_subscriptions or ())
        own = {uri: entry for uri in asked if (entry := own_prediction(services.ledger, uri)) is not None}
        own_tasks = [
            task_id for task_id in tasks if services.ledger.get(task_id) is not None
        ]  # the caller's runs
        notifications = params.notifications.model_copy(update={"resource_subscriptions": list(own) or None})
        bus = _StreamBus(self._shared)
        ack = _TaskAck(ctx.session, own_tasks)

        async def send(uri: str) -> None:
            await bus.publish(ResourceUpdated(uri=uri))

        async def send_task(state: dict[str, Any]) -> None:
            meta = {SUBSCRIPTION_ID_META_KEY: ctx.request_id}
            # the SDK's ServerNotification union lists only the core protocol's notifications; an extension's
            # (notifications/tasks/status) is sent the same way
            await ctx.session.send_notification(
                TaskStatusNotification(params=TaskStatusParams(**state, _meta=meta)),  # type: ignore[arg-type]
                related_request_id=ctx.request_id,
            )

        async def task_statuses() -> None:
            await ack.acked.wait()
            async with anyio.create_task_group() as each:
                for task_id in own_tasks:
                    each.start_soon(follow_task, services, task_id, send_task)

        self._streams += 1
        try:
            async with anyio.create_task_group() as tg:
                for entry in {e.id: e for e in own.values()}.values():
                    uris = [uri for uri, e in own.items() if e.id == entry.id]
                    tg.start_soon(follow, services.supervisor, entry, announcer(send, uris))
                if own_tasks:
                    tg.start_soon(task_statuses)
                # the ListenHandler calls only send_notification on its session, which the proxy forwards
                stream = dataclasses.replace(ctx, session=cast(ServerSession, ack)) if tasks else ctx
                result = await ListenHandler(bus)(
                    stream, params.model_copy(update={"notifications": notifications})
                )
                tg.cancel_scope.cancel()
            return result
        finally:
            self._streams -= 1

    async def subscribe(
        self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams
    ) -> EmptyResult:
        uri = str(params.uri)
        services = ctx.lifespan_context
        entry = own_prediction(services.ledger, uri)
        if entry is None:
            raise MCPError(
                INVALID_PARAMS,
                f"No prediction of yours is known for {uri[:200]}: subscribe to a "
                "replicate://predictions/{id} URI (or one of its files) listed by resources/list.",
                data={"uri": uri[:200]},
            )
        connection = _connection_of(ctx)
        subscribed = self._sessions.get(connection)
        if subscribed is None:
            subscribed = self._sessions[connection] = {}
            connection.exit_stack.callback(self._close_session, connection)
        if uri in subscribed:
            return EmptyResult()
        if len(subscribed) >= MAX_PER_SESSION:
            raise MCPError(
                INVALID_PARAMS,
                f"This session already follows {MAX_PER_SESSION} resources: "
                "resources/unsubscribe from finished ones first.",
                data={"uri": uri[:200]},
            )
        if self._tg is None:
            raise MCPError(INTERNAL_ERROR, "The server is shutting down: subscribe again once it is back.")
        scope = subscribed[uri] = anyio.CancelScope()
        self._tg.start_soon(
            self._follow_for_session, scope, subscribed, services.supervisor, entry, ctx.session, uri
        )
        return EmptyResult()

    async def unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams
    ) -> EmptyResult:
        scope = self._sessions.get(_connection_of(ctx), {}).pop(str(params.uri), None)
        if scope is not None:
            scope.cancel()
        return EmptyResult()

    async def _follow_for_session(
        self,
        scope: anyio.CancelScope,
        subscribed: dict[str, anyio.CancelScope],
        supervisor: Supervisor,
        entry: LedgerEntry,
        session: Any,
        uri: str,
    ) -> None:
        try:
            with scope:
                await follow(supervisor, entry, announcer(session.send_resource_updated, [uri]))
        finally:
            if subscribed.get(uri) is scope:  # over: a later subscribe to it starts afresh
                del subscribed[uri]

    def _close_session(self, connection: object) -> None:
        for scope in self._sessions.pop(connection, {}).values():
            scope.cancel()


def _connection_of(ctx: ServerRequestContext[Any, Any]) -> Any:
    """The 2025 session's connection (its `exit_stack` closes with it). The SDK 2.3 hands handlers only the
    per-request ServerSession proxy, which holds its connection as `_connection`."""
    # SDK private state (checked by tests/server/test_sdk_seams.py): no public API names the connection
    return ctx.session._connection
