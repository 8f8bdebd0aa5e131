"""The sandbox's own control API under /_sandbox (no auth): request counters, fault injection, event times."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .pages import json_body, state


async def get_stats(request: Request) -> Response:
    return JSONResponse(state(request).stats())


async def reset_stats(request: Request) -> Response:
    state(request).reset_stats()
    return JSONResponse(state(request).stats())


async def get_faults(request: Request) -> Response:
    return JSONResponse(state(request).faults.describe())


async def set_faults(request: Request) -> Response:
    body = await json_body(request)
    try:
        state(request).faults.configure(body if isinstance(body, dict) else {})
    except (ValueError, TypeError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return JSONResponse(state(request).faults.describe())


async def clear_faults(request: Request) -> Response:
    state(request).faults.clear()
    return JSONResponse(state(request).faults.describe())


async def get_events(request: Request) -> Response:
    """Every event a prediction published (logs, output, done...), each with its wall-clock time."""
    run = state(request).engine.runs.get(request.path_params["id"])
    if run is None:
        return JSONResponse({"detail": "no such prediction in this sandbox"}, status_code=404)
    events = [
        {"event": event, "data": data, "at": at}
        for (event, data), at in zip(run.sse, run.published_at, strict=False)
    ]
    return JSONResponse(
        {
            "id": run.id,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "events": events,
        }
    )
