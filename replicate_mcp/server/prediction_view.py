"""A followed prediction as a tool result: one rendering shared by the tools and the Tasks extension."""

from __future__ import annotations

from collections.abc import Sequence

from mcp.types import CallToolResult

from replicate_mcp.runs import Tracked
from replicate_mcp.server.content import prediction_content
from replicate_mcp.server.costs import cost_note
from replicate_mcp.server.render import prediction_result
from replicate_mcp.server.services import Services


def output_budget(svc: Services) -> int:
    """Room for the output text, leaving the rest of the cap to ids, file lists, logs and notes."""
    return svc.settings.max_response_chars * 3 // 5


async def render_prediction(
    svc: Services,
    tracked: Tracked,
    *,
    logs: int = 0,
    hint: str | None = None,
    notes: Sequence[str] = (),
    images: bool = True,
) -> CallToolResult:
    prediction = tracked.latest
    files = await svc.local_files(tracked.files or svc.saved_files(prediction.id))
    result = prediction_result(
        prediction,
        kind=svc.output_kind(prediction.id),
        files=files,
        logs_limit=logs,
        next_hint=hint,
        output_limit=output_budget(svc),
    )
    cost = cost_note(prediction, len(files))  # a price on every finished run, from the shipped table
    notes = [*notes, *([tracked.problem] if tracked.problem else []), *([cost] if cost else [])]
    if notes:
        result.notes = [*notes, *(result.notes or [])]
    return await prediction_content(
        result,
        files,
        inline_images=svc.settings.inline_images and images,
        limit=svc.settings.max_response_chars,
    )
