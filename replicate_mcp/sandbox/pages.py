"""Request helpers shared by the routes: absolute URLs, cursor pages, JSON bodies."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request

from .http_errors import ApiError, bad_request
from .state import SandboxState


def state(request: Request) -> SandboxState:
    return request.app.state.sandbox


def root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def page(
    request: Request,
    items: Sequence[Any],
    size: int,
    key: Callable[[Any], Any] | None = None,
    render: Callable[[Any], Any] = lambda item: item,
) -> dict:
    """One cursor page of `items` (already in order); `next` is an absolute URL with an opaque cursor."""
    keys = [key(item) if key else index for index, item in enumerate(items)]
    start = 0
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            after = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
            start = keys.index(after) + 1
        except (ValueError, json.JSONDecodeError) as exc:
            raise bad_request("The cursor is invalid or has expired.", "Invalid cursor") from exc
    chunk = items[start : start + size]
    next_url = None
    if start + size < len(items):
        token = base64.urlsafe_b64encode(json.dumps(keys[start + size - 1]).encode()).decode()
        next_url = str(request.url.include_query_params(cursor=token))
    return {"next": next_url, "previous": None, "results": [render(item) for item in chunk]}


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}", "Invalid JSON") from exc


def invalid(field: str, kind: str, description: str) -> dict:
    return {"type": kind, "field": field, "description": description}
