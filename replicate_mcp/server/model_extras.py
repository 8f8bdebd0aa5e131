"""What get_model adds to a model's card beyond its inputs: how it is billed, whether it may
cold-boot, a trainer's training inputs, its docs (llms.txt, else README; bounded, headings kept) and
its recent versions with dates."""

from __future__ import annotations

from typing import Any

from replicate_mcp.api import NotFoundError, ReplicateError
from replicate_mcp.pricing import price_table
from replicate_mcp.runs import Target
from replicate_mcp.schema import compact_summary
from replicate_mcp.server.docs import bounded_markdown
from replicate_mcp.server.services import Services

DOCS_CHARS = 6_000
MAX_VERSIONS = 20
COLD_BOOT = (
    "may cold-boot: a community model with no deployment starts on demand, so a run can spend seconds to "
    "minutes 'starting' first (more when it has not run lately); expect the wait"
)


def billing(target: Target, hardware: str | None = None) -> str:
    return price_table().billing(target.model or target.slug, official=target.official, hardware=hardware)


def cold_boot(target: Target) -> str | None:
    """Official models and deployments stay warm; other models boot when a run needs them."""
    if target.official or target.slug.startswith("deployments/"):
        return None
    return COLD_BOOT


def training_inputs(target: Target) -> str | None:
    return compact_summary(target.schema.training) if target.schema.training is not None else None


async def docs(svc: Services, docs_reader: Any, target: Target) -> str | None:
    owner, name = (target.model or target.slug).split("/", 1)
    try:
        found = await docs_reader.model(svc.client, owner, name)
    except ReplicateError:
        return None
    if found is None:
        return None
    where, text = found
    return f"(from {where})\n" + bounded_markdown(text, DOCS_CHARS)


async def versions(svc: Services, target: Target, count: int) -> list[dict[str, str | None]] | None:
    """The model's newest `count` versions: id and date. Official models list none (they run their latest)."""
    if count <= 0 or target.official:
        return None
    owner, name = (target.model or target.slug).split("/", 1)
    try:
        page = await svc.client.list_model_versions(owner, name)
    except NotFoundError:
        return None
    return [{"id": v.id, "created_at": v.created_at} for v in page.results[: min(count, MAX_VERSIONS)]]
