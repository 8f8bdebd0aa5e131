"""MCP Tasks (`io.modelcontextprotocol/tasks`, SEP-2663) for runs:
the task is the prediction (or the training).

On a 2026-07-28 request whose client declares the extension, a call to `run_model` or `create_prediction`
starts its prediction exactly as `create_prediction` does (validated, ledger first, bounded by its lifetime,
followed by the supervisor) and answers at once with a `CreateTaskResult` whose task id is the prediction id;
`train_model` already answers at once, so its own result names the training and the task id is the training
id. Input that is refused starts nothing, so it stays a plain tool error. `tasks/get` is a view on the
supervisor (after a restart: the ledger, then one GET) and inlines a finished run rendered as its tools render
it (`get_prediction`, `get_training`); a model failure is a `completed` task with an `isError` result.
`tasks/cancel` cancels upstream. `task_state` is also what each `notifications/tasks/status` carries
(`prediction_resources`). Every other client, and every other tool, gets the synchronous tools unchanged: the
tools never know they ran as a task.

The one door is `PredictionTasks`, an SDK `Extension` that `create_server` mounts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.server import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.types import (
    HEADER_MISMATCH,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    RequestParams,
    TextContent,
)
from pydantic import Field

from replicate_mcp.api import NotFoundError, ReplicateError
from replicate_mcp.runs import Tracked
from replicate_mcp.runs.progress import describe
from replicate_mcp.server.errors import explain
from replicate_mcp.server.prediction_view import render_prediction
from replicate_mcp.server.services import Services
from replicate_mcp.server.tools_training import render_training

log = logging.getLogger(__name__)

TASKS = "io.modelcontextprotocol/tasks"
TASK_VERSIONS = frozenset({"2026-07-28"})
TASK_TOOLS = ("run_model", "create_prediction")
SELF_STARTING = ("train_model",)  # tools that start their run and answer at once with its id
STARTER = "create_prediction"  # starts a prediction and answers with its id at once
START_ARGUMENTS = ("model", "input", "cancel_after", "webhook", "webhook_events_filter")
TTL_MS = 3_600_000  # Replicate keeps a prediction's input and output for one hour
TRAINING_TTL_MS = 5 * TTL_MS  # a training's default 4 h lifetime, and the hour after it
FAILED_LOGS = 1_000  # a failed run shows the end of its logs, as run_model does
TRAINING_LOGS = 1_000  # get_training's default logs_chars
STATUS = {
    "starting": "working",
    "processing": "working",
    "succeeded": "completed",
    "failed": "completed",
    "canceled": "cancelled",
    "aborted": "cancelled",
}


Start = Callable[[dict[str, Any]], dict[str, Any]]  # a tool's arguments -> create_prediction's


def same_run(arguments: dict[str, Any]) -> dict[str, Any]:
    """`run_model` and `create_prediction` start the same prediction
    (waiting and keep_running do not apply)."""
    return {name: value for name, value in arguments.items() if name in START_ARGUMENTS}


class TaskParams(RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


class PredictionTasks(Extension):
    """Predictions and trainings as MCP Tasks, mounted by `create_server`.

    `starts` names the tools a task-declaring client gets as tasks, each with how its arguments become
    `create_prediction`'s (by default `run_model` and `create_prediction`, as they are); `self_starting` those
    that start their run themselves and answer at once with its id (by default `train_model`). A tool in
    `required` runs only as a task: other clients get -32021."""

    identifier = TASKS

    def __init__(
        self,
        starts: Mapping[str, Start] | None = None,
        *,
        required: Collection[str] = (),
        self_starting: Collection[str] = SELF_STARTING,
    ) -> None:
        self.starts = dict(starts) if starts is not None else dict.fromkeys(TASK_TOOLS, same_run)
        self.self_starting = frozenset(self_starting)
        self.required = frozenset(required)
        self.server: MCPServer | None = None

    def mount(self, server: MCPServer) -> None:
        """The server this extension is passed to
        (it starts runs through that server's `create_prediction`)."""
        self.server = server

    def methods(self) -> list[MethodBinding]:
        return [
            MethodBinding("tasks/get", TaskParams, self._get, protocol_versions=TASK_VERSIONS),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, protocol_versions=TASK_VERSIONS),
            MethodBinding("tasks/update", UpdateParams, self._update, protocol_versions=TASK_VERSIONS),
        ]

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        server = self.server
        start = self.starts.get(params.name)
        itself = params.name in self.self_starting
        # SDK private state (checked by tests/server/test_sdk_seams.py): MCPServer's public list_tools() would
        # build every tool's wire form on each call only to tell whether this one exists.
        if (
            (start is None and not itself)
            or server is None
            or server._tool_manager.get_tool(params.name) is None
        ):
            return await call_next(ctx)
        if ctx.protocol_version not in TASK_VERSIONS or not declared(ctx):
            if params.name in self.required:
                require_tasks(
                    ctx,
                    f"{params.name} runs only as a task: declare the {TASKS} extension in the "
                    "client's capabilities (a 2026-07-28 connection)",
                )
            return await call_next(ctx)
        arguments = dict(params.arguments or {})
        starter, arguments = (params.name, arguments) if start is None else (STARTER, start(arguments))
        try:
            started = await server.call_tool(
                starter, arguments, Context(request_context=ctx, mcp_server=server)
            )
        except ToolError as exc:  # refused before anything was sent: no task, the agent fixes the call
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        if not isinstance(started, CallToolResult) or started.is_error or not started.structured_content:
            return started
        svc: Services = ctx.lifespan_context
        tracked = svc.supervisor.known(started.structured_content["id"])
        if tracked is None:  # the supervisor tracks every run it starts; this is only a guard
            return started
        return {"resultType": "task", **_task(svc, tracked)}

    # --- tasks/* ------------------------------------------------------------------------------------------

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        svc = self._checked(ctx, params)
        tracked = await self._tracked(svc, params.task_id)
        if isinstance(tracked, str):
            return {**_stale(svc, params.task_id), "status": "working", "statusMessage": tracked}
        return await task_state(svc, tracked)

    async def _cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> dict[str, Any]:
        svc = self._checked(ctx, params)
        tracked = svc.supervisor.known(params.task_id)
        if tracked is not None and tracked.latest.is_terminal:
            return {}  # idempotent: it has ended already
        try:
            await svc.supervisor.cancel(params.task_id, kind=run_kind(svc, params.task_id))
        except NotFoundError:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown task {params.task_id}") from None
        except ReplicateError as exc:
            raise MCPError(code=INTERNAL_ERROR, message=f"Could not cancel: {explain(exc)}") from None
        return {}

    async def _update(self, ctx: ServerRequestContext[Any, Any], params: UpdateParams) -> dict[str, Any]:
        self._checked(ctx, params)
        return {}  # a prediction never asks the client for input: any response is ignored, as the spec allows

    # --- helpers ------------------------------------------------------------------------------------------

    def _checked(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Services:
        """The client declared Tasks (-32021 if not), the routing header agrees,
        and the task is known here."""
        require_tasks(
            ctx,
            f"tasks/* need the {TASKS} extension declared in the client's capabilities; without "
            f"it, follow the run with get_prediction or wait_for_prediction and its id ({params.task_id})",
        )
        headers = getattr(ctx.request, "headers", None)
        named = headers.get("mcp-name") if headers is not None else None
        if named is not None and named != params.task_id:
            raise MCPError(code=HEADER_MISMATCH, message="Mcp-Name header does not match params.taskId")
        svc: Services = ctx.lifespan_context
        if svc.supervisor.known(params.task_id) is None and svc.ledger.get(params.task_id) is None:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown task {params.task_id}: no prediction with this id "
                "was started or seen by this server",
            )
        return svc

    async def _tracked(self, svc: Services, task_id: str) -> Tracked | str:
        """What the supervisor follows; after a restart,
        Replicate is asked once and the supervisor follows it."""
        tracked = svc.supervisor.known(task_id)
        if tracked is not None and tracked.latest.created_at is not None:
            return tracked
        try:
            return await svc.supervisor.refresh(task_id, kind=run_kind(svc, task_id))
        except NotFoundError:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Unknown task {task_id}: Replicate has no prediction with this id",
            ) from None
        except ReplicateError as exc:
            return f"Replicate could not be asked just now ({explain(exc)}); the server keeps following it"


async def task_state(svc: Services, tracked: Tracked) -> dict[str, Any]:
    """What tasks/get answers for a followed run, its result inlined once it is over
    (a failed model: isError)."""
    task = _task(svc, tracked)
    if task["status"] == "failed":
        task["error"] = {
            "code": INTERNAL_ERROR,
            "message": tracked.problem or "the run could not be followed",
        }
    elif task["status"] == "completed":
        failed = tracked.latest.status == "failed"
        if tracked.kind == "training":
            result = render_training(svc, tracked, TRAINING_LOGS)
        else:
            result = await render_prediction(svc, tracked, logs=FAILED_LOGS if failed else 0)
        result.is_error = failed
        task["result"] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        if not failed:
            del task["result"]["isError"]  # as tools/call answers a success
    return task


def _task(svc: Services, tracked: Tracked) -> dict[str, Any]:
    prediction = tracked.latest
    done = tracked.done.is_set()
    if done and tracked.problem and not prediction.is_terminal:
        status = "failed"
    elif done and prediction.is_terminal:
        status = STATUS.get(prediction.status, "completed")
    else:
        status = "working"
    _, message = describe(prediction)
    if status == "working" and prediction.is_terminal:
        message = "saving the outputs"
    elif status == "failed":
        message = tracked.problem or message
    task = _stale(svc, tracked.id, prediction, tracked)
    task.update(status=status, statusMessage=message)
    return task


def _stale(
    svc: Services, task_id: str, prediction: Any = None, tracked: Tracked | None = None
) -> dict[str, Any]:
    """The fields every task carries; times from the prediction, else from the ledger."""
    entry = svc.ledger.get(task_id)
    created = _time(getattr(prediction, "created_at", None)) or _time(entry and entry.created_at) or _now()
    updated = (
        _time(getattr(prediction, "completed_at", None))
        or _time(getattr(prediction, "started_at", None))
        or _time(entry and (entry.completed_at or entry.started_at))
        or created
    )
    return {
        "taskId": task_id,
        "createdAt": created,
        "lastUpdatedAt": max(created, updated),
        "ttlMs": _ttl_ms(tracked, created) if run_kind(svc, task_id, tracked) == "training" else TTL_MS,
        "pollIntervalMs": 1000 if svc.settings.min_poll_interval < 2 else 2000,
    }


def run_kind(svc: Services, task_id: str, tracked: Tracked | None = None) -> str:
    """Whether the task is a prediction or a training, from what the supervisor follows or the ledger has."""
    if tracked is not None:
        return tracked.kind
    entry = svc.ledger.get(task_id)
    return entry.kind if entry is not None else "prediction"


def _ttl_ms(tracked: Tracked | None, created: str) -> int:
    """A training's task lives as long as the training may run, and an hour more;
    5 h when that is not known."""
    deadline = tracked.deadline if tracked is not None else None
    try:
        began = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return TRAINING_TTL_MS
    if deadline is None:
        return TRAINING_TTL_MS
    return max(TTL_MS, round((deadline - began).total_seconds()) * 1000 + TTL_MS)


def require_tasks(ctx: ServerRequestContext[Any, Any], message: str) -> None:
    """-32021 (HTTP 400) naming the extension in `requiredCapabilities`, with what to do instead."""
    try:
        require_client_extension(ctx, TASKS)
    except MCPError as exc:
        raise MCPError(code=exc.error.code, message=message, data=exc.error.data) from None


def declared(ctx: ServerRequestContext[Any, Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    extensions: Mapping[str, Any] | None = capabilities.extensions if capabilities is not None else None
    return extensions is not None and TASKS in extensions


def _time(value: Any) -> str | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
