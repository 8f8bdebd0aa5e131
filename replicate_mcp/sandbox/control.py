"""The sandbox's own control API under /_sandbox (no auth): request counters and fault injection."""

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
