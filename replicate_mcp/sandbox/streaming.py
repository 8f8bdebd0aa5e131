"""Server-sent events at a prediction's urls.stream (the wire format of Replicate's streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .config import SandboxConfig
from .records import SandboxRun

IDLE_MODEL_SECONDS = 30.0


def format_event(event: str, data: str, event_id: str) -> str:
    lines = [f"event: {event}", f"id: {event_id}"]
    lines += [f"data: {line}" for line in data.split("\n")]
    return "\n".join(lines) + "\n\n"


async def sse_events(
    run: SandboxRun, config: SandboxConfig, last_event_id: str | None = None
) -> AsyncIterator[str]:
    """`: hi`, then every event of the run (replayed from the start, or after Last-Event-ID), until `done`."""
    yield ": hi\n\n"
    index = _resume_index(run, last_event_id)
    idle = config.wall(IDLE_MODEL_SECONDS)
    while True:
        while index < len(run.sse):
            event, data = run.sse[index]
            yield format_event(event, data, f"{int(run.created_at)}:{index}")
            index += 1
            if event == "done":
                return
        if run.data_removed or not await run.wait_change(idle):
            yield ":408: 408 Request Timeout\n\n"
            return


def _resume_index(run: SandboxRun, last_event_id: str | None) -> int:
    if not last_event_id:
        return 0
    try:
        return int(last_event_id.rsplit(":", 1)[1]) + 1
    except (IndexError, ValueError):
        return 0
