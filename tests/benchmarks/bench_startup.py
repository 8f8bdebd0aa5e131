"""P7: process start to tools/list answered, over stdio."""

from __future__ import annotations

import time

from mcp import Client

from .common import Figure, median, sandbox, stdio_params, workdir


async def run(quick: bool) -> list[Figure]:
    repetitions = 2 if quick else 5
    samples = []
    with sandbox(time_scale=0.01) as running, workdir() as root:
        for _ in range(repetitions):
            started = time.perf_counter()
            async with Client(stdio_params(running, root)) as client:
                tools = (await client.list_tools()).tools
                samples.append((time.perf_counter() - started) * 1e3)
    value = median(samples)
    return [
        Figure(
            "P7",
            "stdio: process start -> tools/list answered (median)",
            f"{value:.0f} ms",
            "",
            None,
            f"{len(tools)} tools; min {min(samples):.0f} ms, max {max(samples):.0f} ms",
            repetitions,
            {"samples_ms": [round(s, 1) for s in samples]},
        )
    ]
