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

from replicate_mcp.files.thumbnails import stored_preview
from replicate_mcp.server.results import PredictionResult

log = logging.getLogger(__name__)
IMAGE_BUDGET = 600_000  # base64 characters of thumbnails in one result
MAX_THUMBNAILS = 4


def _text(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def bounded_result(model: BaseModel, limit: int, extra: Sequence[Any] = ()) -> CallToolResult:
    data = model.model_dump(mode="json", exclude_none=True)
    text = _text(data)
    if len(text) > limit:
        data = _shrink(data, limit, model)
        text = _text(data)
    return CallToolResult(content=[TextContent(type="text", text=text), *extra], structured_content=data)


def _where_all_is(model: BaseModel) -> str:
    prediction_id, slug = getattr(model, "id", None), str(getattr(model, "model", ""))
    if isinstance(prediction_id, str):
        return f"; read resource replicate://predictions/{prediction_id} for all"
    if type(model).__name__ == "ModelCard" and slug.count("/") == 1:
        return f"; read resource replicate://models/{slug} for all"
    return ""


def _shrink(data: dict[str, Any], limit: int, model: BaseModel) -> dict[str, Any]:
    """Trim the largest member until the result fits, and say so; every value keeps its type.

    The result still validates against the tool's output schema: strings are cut, lists shortened, objects
    trimmed inside, and an optional member that cannot be trimmed is left out (named in `notes`).
    """
    fields = type(model).model_fields
    data = json.loads(json.dumps(data, default=str))
    notes = data.setdefault("notes", [])
    where = _where_all_is(model)
    for _ in range(400):
        excess = len(_text(data)) - limit
        if excess <= 0:
            break
        key = max((k for k in data if k != "notes"), key=lambda k: len(_text({"v": data[k]})), default=None)
        if key is None:
            break
        value = data[key]
        optional = key in fields and not fields[key].is_required()
        trimmed = _trim(value, excess)
        if optional and (trimmed == value or isinstance(value, dict)):
            del data[key]
            message = f"{key}: left out to fit the response cap{where}"
        elif trimmed == value:
            break
        else:
            data[key] = trimmed
            message = f"{key}: shortened to fit the response cap{where}"
        if message not in notes:
            notes.append(message)
    if len(_text(data)) > limit and isinstance(data.get("notes"), list):
        data["notes"] = [n if len(n) <= 300 else n[:299] + "…" for n in data["notes"]][:5]
    return data


def _trim(value: Any, excess: int) -> Any:
    """`value` made smaller by about `excess` characters (or a step towards it), of the same JSON type."""
    if isinstance(value, str):
        return value[: max(0, len(value) - excess - 40)] + "…" if len(value) > 1 else value
    if isinstance(value, list):
        if len(value) > 1:
            return value[: len(value) * 3 // 4]
        return [_trim(value[0], excess)] if value else value
    if isinstance(value, dict) and value:
        key = max(value, key=lambda k: len(_text({"v": value[k]})))
        return {**value, key: _trim(value[key], excess)}
    return value


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
        thumbnail = await anyio.to_thread.run_sync(stored_preview, Path(f.path), f.mime_type)
        if thumbnail is None:
            continue
        data = base64.b64encode(thumbnail[0]).decode()
        if len(data) <= budget:
            budget -= len(data)
            images.append(ImageContent(type="image", data=data, mime_type=thumbnail[1]))
    return images + blocks


async def prediction_content(
    result: PredictionResult, files: Sequence[Any], *, inline_images: bool, limit: int
) -> CallToolResult:
    return bounded_result(result, limit, await _file_blocks(result.id, files, inline_images))


async def wait_content(
    result: BaseModel, files: Mapping[str, Sequence[Any]], *, inline_images: bool, limit: int
) -> CallToolResult:
    extra: list[Any] = []
    for prediction_id, saved in files.items():
        extra.extend(await _file_blocks(prediction_id, saved, inline_images))
    images = [b for b in extra if isinstance(b, ImageContent)][:MAX_THUMBNAILS]
    links = [b for b in extra if not isinstance(b, ImageContent)]
    return bounded_result(result, limit, images + links)
