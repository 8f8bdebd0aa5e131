"""P10: from a prediction's end to its file on disk when no tool call asks again,
at real speed (time scale 1.0).

create_prediction of black-forest-labs/flux-dev (about 5 s), then nobody calls: the server's follower
notices the end and archives the image. Measured from the sandbox's `completed_at` to the file appearing
in the output folder, once with polling (in-memory server, the real 2 s minimum between polls) and once
with webhooks (the HTTP transport under uvicorn with `public_url` set, so the sandbox delivers to the
server's `/webhooks/replicate`).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.server import create_server, http_app

from .common import Figure, free_port, median, sandbox, server, settings, workdir

MODEL = "black-forest-labs/flux-dev"
RUNS, QUICK_RUNS = 4, 2
STAGGER = 0.7  # seconds between the creates, so their ends fall at different points of the poll cycle
POLLING_GOAL, WEBHOOK_GOAL = 3.0, 0.5
WATCH_EVERY = 0.005


def _saved(folder: Path) -> bool:
    return folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())


async def _time_to_disk(client: Client, running, output_dir: Path, runs: int) -> list[dict[str, Any]]:
    """Start `runs` predictions a little apart;
    for each, seconds from its completed_at to its file on disk."""
    measured: list[dict[str, Any]] = []

    async def one(n: int) -> None:
        await anyio.sleep(n * STAGGER)
        made = await client.call_tool(
            "create_prediction", {"model": MODEL, "input": {"prompt": f"a harbour at dawn {n}"}}
        )
        if made.is_error:
            raise RuntimeError(made.content[0].text[:300])
        prediction_id = made.structured_content["id"]
        folder = output_dir / prediction_id
        with anyio.fail_after(60):
            while not _saved(folder):
                await anyio.sleep(WATCH_EVERY)
        on_disk = time.time()
        async with httpx2.AsyncClient(timeout=30) as http:
            record = (await http.get(f"{running.url}/_sandbox/predictions/{prediction_id}/events")).json()
        measured.append(
            {
                "id": prediction_id,
                "seconds": on_disk - record["completed_at"],
                "run_seconds": record["completed_at"] - record["created_at"],
            }
        )

    async with anyio.create_task_group() as group:
        for n in range(runs):
            group.start_soon(one, n)
    return measured


async def polling(runs: int, time_scale: float, poll_interval: float | None) -> list[dict[str, Any]]:
    with sandbox(time_scale=time_scale) as running, workdir() as root:
        overrides = {"inline_images": False, "poll_interval": poll_interval}
        async with Client(server(running, root, **overrides), mode="auto") as client:
            return await _time_to_disk(client, running, root / "outputs", runs)


@contextmanager
def _http_server(app: Any, port: int):
    """The MCP server's ASGI app under uvicorn on its own thread and event loop,
    as `replicate-mcp --transport http`."""
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=served.run, name=f"mcp-http:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not served.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the MCP HTTP server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        served.should_exit = True
        thread.join(10)


async def webhooks(runs: int, time_scale: float, poll_interval: float | None) -> list[dict[str, Any]]:
    with sandbox(time_scale=time_scale, allow_insecure_webhooks=True) as running, workdir() as root:
        port = free_port()
        config = settings(
            root,
            transport="http",
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            inline_images=False,
            base_url=running.base_url,
            poll_interval=poll_interval,
        )
        with _http_server(http_app(create_server(config, base_url=running.base_url), config), port) as url:
            async with (
                httpx2.AsyncClient(timeout=60) as http,
                Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="auto") as client,
            ):
                return await _time_to_disk(client, running, root / "outputs", runs)


async def run(
    quick: bool, *, runs: int | None = None, time_scale: float = 1.0, poll_interval: float | None = None
) -> list[Figure]:
    """Real speed by default; the smoke test runs it small and fast (time_scale, poll_interval)."""
    runs = runs or (QUICK_RUNS if quick else RUNS)
    polled = await polling(runs, time_scale, poll_interval)
    hooked = await webhooks(runs, time_scale, poll_interval)
    figures = []
    for label, measured, goal in (("polling", polled, POLLING_GOAL), ("webhooks", hooked, WEBHOOK_GOAL)):
        seconds = [m["seconds"] for m in measured]
        mid = median(seconds)
        figures.append(
            Figure(
                "P10",
                f"{'completed_at to file on disk, no call asking' if label == 'polling' else ' same'} "
                f"({label})",
                f"{mid:.2f} s",
                f"<= {goal:g} s",
                mid <= goal,
                f"median; max {max(seconds):.2f} s; "
                f"flux-dev runs of {median([m['run_seconds'] for m in measured]):.1f} s at time "
                f"scale {time_scale:g}"
                + (
                    " (in-memory server, 2 s minimum between polls)"
                    if label == "polling"
                    else " (HTTP transport under uvicorn, sandbox delivers to /webhooks/replicate)"
                ),
                len(seconds),
                {"runs": measured},
            )
        )
    return figures
