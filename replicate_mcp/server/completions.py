"""`completion/complete`: argument suggestions for the prompt and the resource templates.

A model argument (the prompt's `model`, `replicate://models/{owner}/{name}`) is completed with the models this
server has run for the caller (the ledger, newest first), then Replicate's search for what was typed; a
prediction id (`replicate://predictions/{id}`, `.../files/{n}`) with the caller's own predictions, and a
file number with the files saved for that prediction. Everything comes through `Services`, so with --auth
a caller sees only its own runs. A failed search leaves the local suggestions; an argument this server
does not know gets no suggestions.

The one door is `register_completions(server)`, called by `create_server`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.context import ServerRequestContext
from mcp.types import CompleteRequestParams, CompleteResult, Completion, PromptReference

from replicate_mcp.api import ReplicateError
from replicate_mcp.server.services import Services

log = logging.getLogger(__name__)

MAX_VALUES = 100  # the spec's cap on one answer
LEDGER_SCAN = 200  # recent ledger entries looked at
SEARCH_LIMIT = 20
SEARCH_SECONDS = 3.0  # completions are typed interactively: a slow search is dropped, not waited for
MODEL_TEMPLATE = "replicate://models/{owner}/{name}"
PREDICTION_TEMPLATES = ("replicate://predictions/{id}", "replicate://predictions/{id}/files/{n}")


def register_completions(server: MCPServer) -> None:
    # SDK private state (checked by tests/server/test_sdk_seams.py): the public @server.completion() passes
    # the handler no request context, and a completion needs the caller's services and identity.
    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, _complete)


async def _complete(ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams) -> CompleteResult:
    svc: Services = ctx.lifespan_context
    ref, name, typed = params.ref, params.argument.name, params.argument.value
    given = dict(params.context.arguments or {}) if params.context is not None else {}
    if isinstance(ref, PromptReference):
        values = await models(svc, typed) if name == "model" else []
    elif ref.uri == MODEL_TEMPLATE and name == "owner":
        values = _unique(slug.split("/")[0] for slug in await models(svc, typed))
        values = [owner for owner in values if owner.lower().startswith(typed.lower())]
    elif ref.uri == MODEL_TEMPLATE and name == "name":
        owner = given.get("owner", "")
        values = [
            slug.split("/")[1]
            for slug in await models(svc, f"{owner}/{typed}" if owner else typed)
            if not owner or slug.split("/")[0].lower() == owner.lower()
        ]
        values = _unique(v for v in values if v.lower().startswith(typed.lower()))
    elif ref.uri in PREDICTION_TEMPLATES and name == "id":
        values = [e.id for e in svc.ledger.list(LEDGER_SCAN) if e.id.startswith(typed)]
    elif ref.uri == PREDICTION_TEMPLATES[1] and name == "n":
        values = [
            str(f.index) for f in svc.ledger.files(given.get("id", "")) if str(f.index).startswith(typed)
        ]
    else:
        values = []
    return CompleteResult(
        completion=Completion(
            values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES
        )
    )


async def models(svc: Services, typed: str) -> list[str]:
    """`owner/name` suggestions for what was typed: models run here first, then Replicate's search."""
    needle = typed.strip().lower()
    seen = [slug for slug in _unique(_slug(e.model) for e in svc.ledger.list(LEDGER_SCAN)) if slug]
    local = [slug for slug in seen if needle in slug.lower()]
    found: list[str] = []
    if len(needle) >= 2:
        with anyio.move_on_after(SEARCH_SECONDS):
            try:
                response = await svc.client.search(typed.strip(), limit=SEARCH_LIMIT)
                found = [f"{r.model.owner}/{r.model.name}" for r in response.models]
            except ReplicateError as exc:
                log.info("completion search for %r failed: %s", typed, type(exc).__name__)
    starts = [slug for slug in found if slug.lower().startswith(needle)]
    return _unique([*local, *starts, *found])


def _slug(model: str) -> str:
    """`owner/name` of a ledger entry's model (`owner/name:version` too);
    deployments and bare versions: none."""
    slug = model.split(":")[0]
    return slug if slug.count("/") == 1 and not slug.startswith("deployments/") else ""


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
