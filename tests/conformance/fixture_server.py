"""The conformance suite's `tasks-*` fixture: this package's server, Tasks extension and HTTP app, against an
embedded sandbox, with the tools those scenarios name. Each task is a real prediction:

- `greet(name)`: synchronous, `Hello, {name}!`;
- `slow_compute(seconds)`: the sandbox's slow video model, sized by `seconds` (0: hello-world, at once); it
  ends `cancelled` on `tasks/cancel` because the prediction is canceled upstream;
- `failing_job`: an upscale that runs out of GPU memory, a model failure: `completed` with `isError`; it runs
  only as a task (`required`), so other clients get -32021;
- `protocol_error_job`: a prediction the sandbox then answers 404 for (its `404` fault), so the server cannot
  follow it: `failed` with an error;
- `test_missing_capability`: needs `sampling`, answers -32021 without it (the `server-stateless` probe).

Run: `python -m tests.conformance.fixture_server --port 8123 --data-dir DIR`;
it serves http://127.0.0.1:PORT/mcp.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from mcp_types import MISSING_REQUIRED_CLIENT_CAPABILITY

from replicate_mcp.config import load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server
from replicate_mcp.server.app import http_app
from replicate_mcp.server.tasks import PredictionTasks

TOKEN = "r8_conformance_fixture_0123456789"
TIME_SCALE = 0.02  # wall seconds per model second
VIDEO = "sandbox/text-to-video"
MODEL_SECONDS_PER_STEP = 12  # the video model at duration 10: 1.2 s of model time per frame-second, per step


def slow_run(arguments: dict[str, Any]) -> dict[str, Any]:
    seconds = float(arguments.get("seconds") or 0)
    if seconds <= 0:
        return {"model": "replicate/hello-world", "input": {"text": str(arguments.get("label") or "now")}}
    steps = min(50, max(1, math.ceil(seconds / TIME_SCALE / MODEL_SECONDS_PER_STEP)))
    return {
        "model": VIDEO,
        "input": {
            "prompt": str(arguments.get("label") or "slow_compute"),
            "duration": 10,
            "num_inference_steps": steps,
        },
    }


def failing_run(arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "sandbox/upscaler",
        "input": {"image": "https://replicate.delivery/sandbox/upscaler/example/input.png", "scale": 8},
    }


def lost_run(arguments: dict[str, Any]) -> dict[str, Any]:
    return {"model": VIDEO, "input": {"prompt": "a run the server loses", "num_inference_steps": 50}}


class FixtureTasks(PredictionTasks):
    """The package's extension; `protocol_error_job`'s prediction is then made unknown to the sandbox."""

    def __init__(self, sandbox_url: str) -> None:
        super().__init__(
            {"slow_compute": slow_run, "failing_job": failing_run, "protocol_error_job": lost_run},
            required={"failing_job", "protocol_error_job"},
        )
        self.sandbox_url = sandbox_url

    async def intercept_tool_call(self, params, ctx, call_next):
        result = await super().intercept_tool_call(params, ctx, call_next)
        if params.name == "protocol_error_job" and isinstance(result, dict) and "taskId" in result:
            async with httpx2.AsyncClient() as http:
                fault = {
                    "kind": "404",
                    "method": "GET",
                    "path": f"/v1/predictions/{result['taskId']}",
                    "count": 10_000,
                }
                (
                    await http.post(f"{self.sandbox_url}/_sandbox/faults", json={"queue": [fault]})
                ).raise_for_status()
        return result


def build(port: int, data_dir: Path):
    sandbox = start_sandbox(SandboxConfig(time_scale=TIME_SCALE, seed=11, cold_boot=0.2))
    settings = load_settings(
        {
            "transport": "http",
            "host": "127.0.0.1",
            "port": port,
            "data_dir": data_dir,
            "output_dir": data_dir / "outputs",
            "base_url": sandbox.base_url,
            "poll_interval": 0.1,
        },
        env={"REPLICATE_API_TOKEN": TOKEN},
    )
    server = create_server(settings, base_url=sandbox.base_url, tasks=FixtureTasks(sandbox.url))

    @server.tool(description="Says hello (synchronous).")
    def greet(name: str) -> str:
        return f"Hello, {name}!"

    @server.tool(description="Runs for about `seconds` (a task for clients that declare Tasks).")
    async def slow_compute(seconds: float, ctx: Context, label: str = "") -> CallToolResult:
        return await server.call_tool("run_model", slow_run({"seconds": seconds, "label": label}), ctx)

    @server.tool(description="A model that fails (runs only as a task).")
    async def failing_job(ctx: Context) -> CallToolResult:
        return await server.call_tool("run_model", failing_run({}), ctx)

    @server.tool(description="A run the server cannot follow (runs only as a task).")
    async def protocol_error_job(ctx: Context) -> CallToolResult:
        return await server.call_tool("run_model", lost_run({}), ctx)

    @server.tool(description="Needs the client's sampling capability.")
    def test_missing_capability(ctx: Context) -> str:
        capabilities = ctx.request_context.session.client_capabilities
        if capabilities is None or capabilities.sampling is None:
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="This tool needs sampling, which the client did not declare",
                data={"requiredCapabilities": {"sampling": {}}},
            )
        return "sampling is declared"

    return sandbox, http_app(server, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    sandbox, app = build(args.port, args.data_dir)
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
