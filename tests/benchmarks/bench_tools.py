"""P1: how much of the context window the default tool list takes."""

from __future__ import annotations

import json
from typing import Any

from mcp import Client

from .common import Figure, settings, workdir

VISIBLE_TARGET = 8_000
WHOLE_TARGET = 20_000
REPLICATE_OFFICIAL_VISIBLE = 53_246  # Replicate's own MCP server, measured the same way
UNUSED_API = "http://127.0.0.1:9/v1"  # listing tools sends no API request


def _compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def tool_list_sizes(tools: list[Any]) -> dict[str, int]:
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    visible = [{k: t[k] for k in ("name", "description", "inputSchema") if k in t} for t in dumped]
    return {
        "tools": len(tools),
        "visible_chars": _compact(visible),
        "whole_chars": _compact({"tools": dumped}),
    }


async def measure_tool_list() -> dict[str, int]:
    from replicate_mcp.server import create_server

    with workdir() as root:
        async with Client(create_server(settings(root), base_url=UNUSED_API), mode="auto") as client:
            tools = (await client.list_tools()).tools
    return tool_list_sizes(tools)


async def run(quick: bool) -> list[Figure]:
    sizes = await measure_tool_list()
    ratio = REPLICATE_OFFICIAL_VISIBLE / sizes["visible_chars"]
    return [
        Figure(
            "P1",
            "tools/list visible chars (name+description+inputSchema)",
            sizes["visible_chars"],
            f"<= {VISIBLE_TARGET:,}",
            sizes["visible_chars"] <= VISIBLE_TARGET,
            f"{sizes['tools']} tools; Replicate's server 53,246 ({ratio:.0f}x more)",
            1,
            sizes,
        ),
        Figure(
            "P1",
            "tools/list whole chars (model_dump, by_alias, exclude_none)",
            sizes["whole_chars"],
            f"<= {WHOLE_TARGET:,}",
            sizes["whole_chars"] <= WHOLE_TARGET,
            f"{sizes['tools']} tools",
            1,
        ),
    ]
