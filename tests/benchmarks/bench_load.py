"""P5: many predictions started and collected concurrently through one stdio server process."""

from __future__ import annotations

import time
import uuid
from typing import Any

import anyio
from mcp import Client

from .common import HELLO, Figure, find_marked_process, peak_rss_mb, sandbox, stdio_params, workdir

PREDICTIONS = 500
IN_FLIGHT = 50
BATCH = 100
TIME_SCALE = 0.1
RSS_TARGET_MB = 150
# The sandbox's per-token limits (600 creates, 3000 other requests a minute) are raised here: 500 creates plus
# their polls inside a few seconds would otherwise meet 429s that measure the limit, not the server.
LIMITS = {"create_limit": 100_000, "other_limit": 1_000_000}


async def load(client: Client, count: int) -> dict[str, Any]:
    errors: list[str] = []
    ids: list[str] = []
    limiter = anyio.CapacityLimiter(IN_FLIGHT)

    async def create(n: int) -> None:
        async with limiter:
            try:
                result = await client.call_tool(
                    "create_prediction", {"model": HELLO, "input": {"text": f"load {n}"}}
                )
            except Exception as exc:  # a transport or protocol failure counts as an error
                errors.append(f"create: {type(exc).__name__}: {exc}")
                return
        if result.is_error:
            errors.append("create: " + result.content[0].text[:200])
        else:
            ids.append(result.structured_content["id"])

    finished: list[dict[str, Any]] = []
    running: list[str] = []
    notes: list[str] = []
    text_sizes: list[int] = []

    async def collect(batch: list[str]) -> None:
        try:
            result = await client.call_tool("wait_for_prediction", {"ids": batch})
        except Exception as exc:
            errors.append(f"wait: {type(exc).__name__}: {exc}")
            return
        if result.is_error:
            errors.append("wait: " + result.content[0].text[:200])
            return
        data = result.structured_content
        finished.extend(data["finished"])
        running.extend(p["id"] for p in data["running"])
        notes.extend(data.get("notes") or [])
        text_sizes.append(sum(len(b.text) for b in result.content if b.type == "text"))
        if data.get("unshown"):  # finished but over the response cap: an agent asks again for those
            await collect(data["unshown"])

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for n in range(count):
            group.start_soon(create, n)
    created_at = time.perf_counter()
    async with anyio.create_task_group() as group:
        for i in range(0, len(ids), BATCH):
            group.start_soon(collect, ids[i : i + BATCH])
    ended = time.perf_counter()
    failed = [p for p in finished if p.get("status") != "succeeded"]
    missing = set(ids) - {p["id"] for p in finished} - set(running)
    predict = [float((p.get("metrics") or {}).get("predict_time") or 0) for p in finished]
    return {
        "created": len(ids),
        "succeeded": len(finished) - len(failed),
        "failed": len(failed),
        "still_running": len(running),
        "missing_from_results": len(missing),
        "errors": errors,
        "wait_result_notes": sorted(set(notes)),
        "wait_result_text_chars": text_sizes,
        "create_seconds": round(created_at - started, 2),
        "wall_seconds": round(ended - started, 2),
        "predict_time_sum_model_s": round(sum(predict), 2),
        "predict_time_max_model_s": round(max(predict, default=0), 3),
    }


async def run(quick: bool) -> list[Figure]:
    marker = uuid.uuid4().hex
    with sandbox(time_scale=TIME_SCALE, **LIMITS) as running, workdir() as root:
        async with Client(stdio_params(running, root, marker=marker)) as client:
            await client.list_tools()
            pid = find_marked_process(marker)
            result = await load(client, PREDICTIONS)
            rss = peak_rss_mb(pid) if pid else None
            stats = running.stats()
    result["server_pid_found"] = pid is not None
    result["api_requests"] = stats["total"]
    result["api_requests_by_route"] = stats["requests"]
    errors = len(result["errors"])
    collected = result["succeeded"]
    sample = f"; first: {result['errors'][0][:80]}" if result["errors"] else ""
    model_wall = result["predict_time_max_model_s"] * TIME_SCALE
    return [
        Figure(
            "P5",
            f"{PREDICTIONS} concurrent predictions: errors",
            errors,
            "0",
            errors == 0,
            "tool errors + exceptions (create_prediction and wait_for_prediction)" + sample,
            1,
            result,
        ),
        Figure(
            "P5",
            "  succeeded and returned by wait_for_prediction",
            f"{collected}/{PREDICTIONS}",
            f"{PREDICTIONS}/{PREDICTIONS}",
            collected == PREDICTIONS,
            f"{result['created']} created, {result['failed']} failed, {result['still_running']} still "
            f"running, {result['missing_from_results']} absent from the wait results",
            1,
        ),
        Figure(
            "P5",
            "  wall time (create all + wait all)",
            f"{result['wall_seconds']:.1f} s",
            "",
            None,
            f"creates {result['create_seconds']:.1f} s at {IN_FLIGHT} in flight; model's own time: max "
            f"{result['predict_time_max_model_s']:.2f} model-s = {model_wall:.3f} wall-s each "
            f"(time_scale {TIME_SCALE}), sum {result['predict_time_sum_model_s']:.0f} model-s",
            1,
        ),
        Figure(
            "P5",
            "  peak RSS of the server process (VmHWM)",
            None if rss is None else f"{rss:.0f} MB",
            f"<= {RSS_TARGET_MB} MB",
            None if rss is None else rss <= RSS_TARGET_MB,
            f"sandbox limits raised (create {LIMITS['create_limit']:,}/min, "
            f"other {LIMITS['other_limit']:,}/min); {stats['total']:,} API requests",
            1,
        ),
    ]
