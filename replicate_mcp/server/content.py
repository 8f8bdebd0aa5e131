"""Tool results on the wire: compact JSON text, the structured part, image thumbnails, resource links.

One bound for all: the text of a result never exceeds the configured cap, and thumbnails together stay far
below the 1 MB that Claude Desktop accepts.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel

from replicate_mcp.files import make_thumbnail

log = logging.getLogger(__name__)
IMAGE_BUDGET = 600_000  # base64 characters of thumbnails in one result
MAX_THUMBNAILS = 4


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def bounded_result(model: BaseModel, limit: int, extra: Sequence[Any] = ()) -> CallToolResult:
    data = model.model_dump(mode="json", exclude_none=True)
    text = _text(data)
    if len(text) > limit:
        data = _shrink(data, limit)
        text = _text(data)
    return CallToolResult(content=[TextContent(type="text", text=text), *extra], structured_content=data)


def _shrink(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """Trim the longest list or string until the result fits, and say so."""
    data = json.loads(json.dumps(data, default=str))
    notes = data.setdefault("notes", [])
    for _ in range(200):
        if len(_text(data)) <= limit:
            break
        key, value = max(((k, v) for k, v in data.items() if k != "notes"), key=lambda kv: len(_text({"v": kv[1]})))
        if isinstance(value, list) and len(value) > 1:
            data[key] = value[: max(1, len(value) * 3 // 4)]
            message = f"{key}: list shortened to fit the response cap"
        elif isinstance(value, str):
            data[key] = value[: max(0, len(value) - (len(_text(data)) - limit) - 200)] + "…"
            message = f"{key}: text cut to fit the response cap"
        else:
            data[key] = _text({"v": value})[: limit // 2] + "…"
            message = f"{key}: cut to fit the response cap"
        if message not in notes:
            notes.append(message)
    return data


async def _file_blocks(prediction_id: str, files: Iterable[Any], inline_images: bool) -> list[Any]:
    blocks: list[Any] = []
    images: list[ImageContent] = []
    budget = IMAGE_BUDGET
    for f in files:
        blocks.append(
            ResourceLink(
                type="resource_link",
                uri=f"replicate://predictions/{prediction_id}/files/{f.index}",
                name=Path(f.path).name,
                mime_type=f.mime_type,
                size=f.size,
            )
        )
        if not inline_images or len(images) >= MAX_THUMBNAILS or not str(f.mime_type).startswith("image/"):
            continue
        thumbnail = await anyio.to_thread.run_sync(make_thumbnail, Path(f.path))
        if thumbnail is None:
            continue
        data = base64.b64encode(thumbnail[0]).decode()
        if len(data) <= budget:
            budget -= len(data)
            images.append(ImageContent(type="image", data=data, mime_type=thumbnail[1]))
    return images + blocks


async def prediction_content(result: BaseModel, files: Sequence[Any], *, inline_images: bool, limit: int) -> CallToolResult:
    return bounded_result(result, limit, await _file_blocks(result.id, files, inline_images))


async def wait_content(result: BaseModel, files: Mapping[str, Sequence[Any]], *, inline_images: bool, limit: int) -> CallToolResult:
    extra: list[Any] = []
    for prediction_id, saved in files.items():
        extra.extend(await _file_blocks(prediction_id, saved, inline_images))
    images = [b for b in extra if isinstance(b, ImageContent)][:MAX_THUMBNAILS]
    links = [b for b in extra if not isinstance(b, ImageContent)]
    return bounded_result(result, limit, images + links)
