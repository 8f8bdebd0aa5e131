"""P11: 2,000 predictions in flight in one server, all followed by its supervisor until their files are kept.

One server, in its own process over stdio as clients run it, starts 2,000 runs of sandbox/text-to-video
(about 39 model seconds each, at a time scale that keeps them all running while the creates go on), then an
agent waits for all of them: wait_for_prediction with 100 ids a call, calls in parallel, again for those still
running. The sandbox runs in its own process too, with its rate limits raised as in P5; the server's own
request rate is read from the sandbox's counters and set against Replicate's limits. The memory figure is the
server process's own peak (VmHWM), so neither the agent's side nor earlier benchmarks count in it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters

from .common import TOKEN, Figure, peak_rss_mb, sandbox_process, workdir

PREDICTIONS, QUICK_PREDICTIONS = 2000, 300
MODEL = "sandbox/text-to-video"
INPUT = {
    "duration": 2,
    "num_inference_steps": 5,
}  # 20 s load + 5 steps of 2.4 s + 7 s decode: about 39 model s
TIME_SCALE = 1.0
IN_FLIGHT = 50  # create calls at once
BATCH = 100  # ids per wait_for_prediction (the tool's maximum)
RSS_GOAL_MB = 150
LIMITS = ("--create-limit", "100000", "--other-limit", "1000000")
REPLICATE_LIMITS = "Replicate: creates 600/min, other 3000/min, GET /predictions/{id} a far larger bucket"
POLL_ROUTE = "GET /v1/predictions/{id}"


def _rss_now_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _server_pid(data_dir: Path) -> int:
    """The stdio server started with this data folder (the client does not expose its pid)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"replicate_mcp" in argv and str(data_dir).encode() in argv:
                return int(entry.name)
    raise LookupError("the server process was not found")


def _server(url: str, root: Path, poll_interval: float | None) -> StdioServerParameters:
    args = [
        "-m",
        "replicate_mcp",
        "--base-url",
        f"{url}/v1",
        "--data-dir",
        str(root / "data"),
        "--output-dir",
        str(root / "outputs"),
        "--no-inline-images",
    ]
    if poll_interval is not None:
        args += ["--poll-interval", str(poll_interval)]
    env = {"PATH": os.environ.get("PATH", ""), "REPLICATE_API_TOKEN": TOKEN}
    return StdioServerParameters(command=sys.executable, args=args, env=env)


async def in_flight(
    count: int, time_scale: float = TIME_SCALE, poll_interval: float | None = None
) -> dict[str, Any]:
    errors: list[str] = []
    ids: list[str] = []
    finished: dict[str, str] = {}
    with (
        sandbox_process("--time-scale", str(time_scale), "--cold-boot", "0.5", *LIMITS) as url,
        workdir() as root,
    ):
        async with (
            httpx2.AsyncClient(base_url=url, timeout=30) as control,
            Client(_server(url, root, poll_interval), mode="auto") as client,
        ):
            await client.call_tool("get_model", {"model": MODEL})
            pid = _server_pid(root / "data")
            baseline = _rss_now_mb(pid)
            (await control.post("/_sandbox/stats/reset")).raise_for_status()
            limiter = anyio.CapacityLimiter(IN_FLIGHT)

            async def create(n: int) -> None:
                async with limiter:
                    try:
                        result = await client.call_tool(
                            "create_prediction",
                            {"model": MODEL, "input": {"prompt": f"in flight {n}", **INPUT}},
                        )
                    except Exception as exc:
                        errors.append(f"create: {type(exc).__name__}: {exc}")
                        return
                if result.is_error:
                    errors.append("create: " + result.content[0].text[:200])
                else:
                    ids.append(result.structured_content["id"])

            async def collect(batch: list[str]) -> None:
                while batch:
                    try:
                        result = await client.call_tool("wait_for_prediction", {"ids": batch})
                    except Exception as exc:
                        errors.append(f"wait: {type(exc).__name__}: {exc}")
                        return
                    if result.is_error:
                        errors.append("wait: " + result.content[0].text[:200])
                        return
                    data = result.structured_content
                    for item in data["finished"]:
                        finished[item["id"]] = item["status"]
                    errors.extend(f"wait: {p['id']}: {p['error']}" for p in data.get("problems") or [])
                    batch = [p["id"] for p in data["running"]] + list(data.get("unshown") or [])
                    batch = [i for i in batch if i not in finished]

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for n in range(count):
                    group.start_soon(create, n)
            created = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(0, len(ids), BATCH):
                    group.start_soon(collect, ids[i : i + BATCH])
            ended = time.perf_counter()
            peak = peak_rss_mb(pid)
            stats = (await control.get("/_sandbox/stats")).raise_for_status().json()
            saved = sum(1 for folder in (root / "outputs").iterdir() if folder.is_dir())
    wall = ended - started
    requests = stats["requests"]
    creates = sum(
        n for route, n in requests.items() if route.startswith("POST ") and route.endswith("/predictions")
    )
    polls = requests.get(POLL_ROUTE, 0)
    other = (
        sum(n for route, n in requests.items() if route.startswith(("GET /v1", "POST /v1"))) - creates - polls
    )
    return {
        "count": count,
        "time_scale": time_scale,
        "created": len(ids),
        "succeeded": sum(1 for status in finished.values() if status == "succeeded"),
        "finished": len(finished),
        "errors": errors,
        "folders_saved": saved,
        "create_seconds": round(created - started, 2),
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": None if peak is None else round(peak, 1),
        "rss_before_mb": None if baseline is None else round(baseline, 1),
        "polls": polls,
        "polls_per_second": round(polls / wall, 2),
        "creates_per_minute": round(creates / max(created - started, 1e-9) * 60),
        "other_api_per_minute": round(other / wall * 60),
        "requests": requests,
    }


async def run(
    quick: bool,
    *,
    count: int | None = None,
    time_scale: float = TIME_SCALE,
    poll_interval: float | None = None,
) -> list[Figure]:
    """The smoke test runs it small and fast (count, time_scale, poll_interval)."""
    count = count or (QUICK_PREDICTIONS if quick else PREDICTIONS)
    r = await in_flight(count, time_scale, poll_interval)
    errors = len(r["errors"])
    sample = f"; first: {r['errors'][0][:90]}" if r["errors"] else ""
    rss = r["peak_rss_mb"]
    rss_note = (
        f"the server's own process (over stdio; the agent and the sandbox run in other processes); "
        f"{r['rss_before_mb']} MB before the creates"
    )
    return [
        Figure(
            "P11",
            f"{count:,} predictions in flight in one server: errors",
            errors,
            "0",
            errors == 0,
            "tool errors, exceptions and per-id problems" + sample,
            1,
            r,
        ),
        Figure(
            "P11",
            "  finished and returned by wait_for_prediction",
            f"{r['succeeded']:,}/{count:,}",
            f"{count:,}/{count:,}",
            r["succeeded"] == count,
            f"{r['created']:,} created in {r['create_seconds']:.1f} s; "
            f"{r['folders_saved']:,} output folders saved",
            1,
        ),
        Figure(
            "P11",
            "  supervisor's polls (GET /v1/predictions/{id})",
            f"{r['polls_per_second']:.1f}/s",
            "",
            None,
            f"{r['polls']:,} over the run; creates {r['creates_per_minute']:,}/min (agent-driven), other API "
            f"{r['other_api_per_minute']:,}/min; {REPLICATE_LIMITS}",
            1,
        ),
        Figure(
            "P11",
            "  peak RSS (VmHWM)",
            None if rss is None else f"{rss:.0f} MB",
            f"<= {RSS_GOAL_MB} MB",
            None if rss is None else rss <= RSS_GOAL_MB,
            rss_note,
            1,
        ),
        Figure(
            "P11",
            "  wall time (create all + wait all)",
            f"{r['wall_seconds']:.1f} s",
            "",
            None,
            f"each run about 39 model s = {39 * time_scale:.1f} s wall (time_scale {time_scale:g}); "
            f"{IN_FLIGHT} creates at once, waits of {BATCH} ids in parallel",
            1,
        ),
    ]
