"""P3: Replicate API requests per completed prediction through run_model, counted at the sandbox."""

from __future__ import annotations

from typing import Any

from mcp import Client

from .common import HELLO, Figure, median, sandbox, server, workdir

SLOW = "sandbox/text-to-video"
# 27 denoising steps of 2.4 model s (duration 2) + 20 s load + 6 s decode: about 91 model seconds.
SLOW_INPUT = {"prompt": "a paper boat on a rainy street", "duration": 2, "num_inference_steps": 27}
SLOW_TIME_SCALE = 0.03  # 90 model seconds take about 2.7 wall seconds


async def requests_for(client: Client, running, model: str, input: dict[str, Any]) -> dict[str, Any]:
    await client.call_tool("get_model", {"model": model})  # as an agent does; the model lookup is now cached
    running.reset_stats()
    result = await client.call_tool("run_model", {"model": model, "input": input})
    stats = running.stats()
    data = result.structured_content or {}
    return {
        "status": data.get("status"),
        "requests": stats["total"],
        "by_route": stats["requests"],
        "predict_time": (data.get("metrics") or {}).get("predict_time"),
    }


async def _series(running, model: str, input: dict[str, Any], repetitions: int) -> list[dict[str, Any]]:
    runs = []
    with workdir() as root:
        async with Client(server(running, root, archive=False), mode="auto") as client:
            for _ in range(repetitions):
                runs.append(await requests_for(client, running, model, input))
    return runs


async def run(quick: bool) -> list[Figure]:
    with sandbox(time_scale=0.01) as running:
        fast = await _series(running, HELLO, {"text": "bench"}, 2 if quick else 5)
    with sandbox(time_scale=SLOW_TIME_SCALE) as running:
        slow = await _series(running, SLOW, SLOW_INPUT, 1 if quick else 3)
    fast_n = median([r["requests"] for r in fast])
    slow_n = median([r["requests"] for r in slow])
    fast_ok = all(r["status"] == "succeeded" for r in fast)
    slow_ok = all(r["status"] == "succeeded" for r in slow)
    model_s = median([r["predict_time"] or 0 for r in slow])
    return [
        Figure(
            "P3",
            "API requests / prediction, inside wait window (hello-world)",
            fast_n,
            "1",
            fast_ok and fast_n <= 1,
            "run_model default wait (45 s)",
            len(fast),
            {"runs": fast},
        ),
        Figure(
            "P3",
            f"API requests / prediction, {model_s:.0f} model-s run (text-to-video)",
            slow_n,
            "",
            None if slow_ok else False,
            f"1 create + polls; default wait 45 s wall; time_scale {SLOW_TIME_SCALE} (polls are wall-clock)"
            + ("" if slow_ok else "; NOT COMPLETED in the call"),
            len(slow),
            {"runs": slow, "input": SLOW_INPUT},
        ),
    ]
