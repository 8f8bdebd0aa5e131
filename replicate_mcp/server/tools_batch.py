"""Many runs in one call: up to 50 inputs for one model, every one validated (and its local files read) before
any is created, then started concurrently through the supervisor and collected like wait_for_prediction."""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from replicate_mcp.api import ReplicateError
from replicate_mcp.files import FileAccessError
from replicate_mcp.runs import ProgressTracker, StartRequest, Tracked
from replicate_mcp.server import results
from replicate_mcp.server.costs import CostConfirmation, confirm_runs, estimate, require_approval, reserve
from replicate_mcp.server.errors import explain, tool_errors
from replicate_mcp.server.tools import (
    CREATE,
    LifetimeArg,
    ModelArg,
    WaitArg,
    _budget,
    _call,
    _check,
    _lifetime,
    _target,
    _wait_result,
    services,
)

MAX_RUNS = 50


def register_batch_tools(server: MCPServer) -> None:
    @server.tool(annotations=CREATE)
    @tool_errors
    async def run_batch(
        model: ModelArg,
        inputs: Annotated[
            list[dict[str, Any]], Field(description="1 to 50 inputs; all are checked before any runs")
        ],
        ctx: Context,
        approval: Annotated[ElicitationResult[CostConfirmation], Resolve(confirm_runs)],
        wait_seconds: WaitArg = None,
        cancel_after: LifetimeArg = None,
    ) -> Annotated[CallToolResult, results.WaitResult]:
        """Run one model on many inputs at once; returns outputs of those finished and ids of the rest."""
        svc = services(ctx)
        if not isinstance(inputs, list) or not 1 <= len(inputs) <= MAX_RUNS:
            raise ToolError(
                f"inputs: give a list of 1 to {MAX_RUNS} input objects (got "
                f"{len(inputs) if isinstance(inputs, list) else type(inputs).__name__})"
            )
        budget = _budget(svc, wait_seconds)
        lifetime = _lifetime(svc, cancel_after)
        require_approval(approval)  # a decline sends nothing, not even a file
        target = await _target(svc, model)
        verdicts = [_check(target, given) for given in inputs]
        invalid = [f"inputs[{i}]: {v.message()}" for i, v in enumerate(verdicts) if not v.valid]
        if invalid:
            raise ToolError(
                f"{len(invalid)} of {len(inputs)} inputs for {target.slug} are invalid; nothing was "
                "created.\n" + "\n".join(invalid)
            )
        prepared: list[dict[str, Any]] = []
        for i, verdict in enumerate(verdicts):
            try:
                sent, _ = await svc.inputs.resolve(verdict.normalized, target.schema.file_fields)
            except FileAccessError as exc:
                raise ToolError(f"inputs[{i}]: {exc}; nothing was created") from None
            prepared.append(sent)
        reserve(svc, [await estimate(svc, target, v.normalized) for v in verdicts])

        deadline = anyio.current_time() + budget
        tracker = ProgressTracker(_report(ctx))
        ids: list[str] = [f"inputs[{i}]" for i in range(len(inputs))]
        found: dict[int, Tracked | str] = {}
        finished = 0

        async def one(i: int) -> None:
            nonlocal finished
            request = StartRequest(
                target,
                prepared[i],
                verdicts[i].normalized,
                call=_call(ctx, f"run_batch[{i}]"),
                keep_running=True,
                lifetime=lifetime,
            )
            try:
                started = await svc.supervisor.start(request)
                ids[i] = started.prediction.id
                found[i] = await svc.supervisor.wait(ids[i], deadline=deadline)
            except (ReplicateError, ToolError) as exc:
                found[i] = f"not started: {explain(exc) if isinstance(exc, ReplicateError) else exc}"
            except Exception as exc:  # noqa: BLE001 - one failed create must not hide the others' ids
                found[i] = f"not started: {exc}"
            finished += 1
            await tracker.emit(
                100.0 * finished / len(inputs) - (0 if finished == len(inputs) else 0.5),
                f"{finished}/{len(inputs)} finished",
            )

        async with anyio.create_task_group() as group:
            for i in range(len(inputs)):
                group.start_soon(one, i)
        return await _wait_result(svc, [found[i] for i in range(len(inputs))], ids)


def _report(ctx: Context):
    async def report(value: float, message: str) -> None:
        await ctx.report_progress(value, 100, message)

    return report
