"""The tools. Each is thin: resolve, check, delegate to runs/ and files/, render."""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
import difflib
import json
import math
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from mcp.server import MCPServer
from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from replicate_mcp.api import NotFoundError, ReplicateError
from replicate_mcp.config import parse_duration
from replicate_mcp.files import FileAccessError
from replicate_mcp.files.inputs import MAX_UPLOAD_BYTES, human_size
from replicate_mcp.runs import BadReference, ProgressTracker, StartRequest, Target, Tracked
from replicate_mcp.runs.refs import FORMS, check_prediction_id, check_slug, parse_ref, shown
from replicate_mcp.schema import compact_summary, validate_input
from replicate_mcp.server import costs, results
from replicate_mcp.server import model_extras as extras
from replicate_mcp.server.content import bounded_result, wait_content
from replicate_mcp.server.costs import hardware_of
from replicate_mcp.server.docs import docs_of
from replicate_mcp.server.errors import explain, tool_errors
from replicate_mcp.server.prediction_view import output_budget as _output_budget
from replicate_mcp.server.prediction_view import render_prediction as _render
from replicate_mcp.server.render import iso_time, prediction_result
from replicate_mcp.server.services import Services, services

ModelArg = Annotated[str, Field(description=f"Model: {FORMS}")]
InputArg = Annotated[
    dict[str, Any], Field(description="Model input; see get_model. Files: URL, data URI or local path")
]
IdArg = Annotated[str, Field(description="Prediction id")]
WaitArg = Annotated[float | None, Field(description="Seconds to wait before returning a handle (default 45)")]
LifetimeArg = Annotated[
    str | float | None,
    Field(description="Lifetime ('90s', '10m', '1h'); Replicate cancels it after. Default 15m"),
]
KeepArg = Annotated[
    bool, Field(description="Keep it running if this call is canceled or the client goes away")
]
# Filled by the server before the call (asks the user above --confirm-above), never by the agent.
# Filled by the SDK with the resolver's outcome; `= None` only lets it follow defaulted parameters. Written
# as the union the SDK takes for "the whole outcome" (not the ElicitationResult alias) so it may include None.
ApprovalArg = Annotated[
    AcceptedElicitation[costs.CostConfirmation] | DeclinedElicitation | CancelledElicitation | None,
    Resolve(costs.confirm_run),
]
ImagesArg = Annotated[bool, Field(description="Attach image previews (false: paths and links only)")]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
CANCEL = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
LOCAL_PLACEHOLDER = "https://local.file/placeholder"
WAIT_HINT = (
    "call wait_for_prediction with this id (Replicate keeps outputs 1 h; files are saved here when done)"
)
PREFER_WAIT = 3  # seconds a create may hold for a fast model; longer runs are followed by stream and polls
HEARTBEAT = 2.0


def _report(ctx: Context):
    async def report(value: float, message: str) -> None:
        await ctx.report_progress(value, 100, message)

    return report


async def _target(svc: Services, model: str) -> Target:
    try:
        target = await svc.resolver.resolve(model)
    except NotFoundError:
        raise ToolError(await _not_found(svc, model)) from None
    if not _allowed(svc, target):
        allowed = ", ".join(svc.settings.allow_models)
        raise ToolError(
            f"{target.slug} is not allowed on this server (allowed: {allowed}); "
            "ask the user to add it to --allow-models"
        )
    return target


def _allowed(svc: Services, target: Target) -> bool:
    """A deployment is allowed by its own name
    (deployments/owner/name or deployments/owner/*) or by its model's."""
    if not target.slug.startswith("deployments/"):
        return svc.settings.model_allowed(target.slug)
    owner = target.slug.split("/")[1]
    names = {target.slug.lower(), f"deployments/{owner}/*".lower(), "deployments/*"}
    return any(p.lower() in names for p in svc.settings.allow_models) or (
        target.model is not None and svc.settings.model_allowed(target.model)
    )


async def _not_found(svc: Services, model: str) -> str:
    """What was not found, and the nearest model names Replicate's search knows."""
    ref = parse_ref(model)
    if ref.deployment:
        return (
            f"No deployment {ref.slug} on this Replicate account "
            "(deployments are named owner/deployment-name). "
            "Check the name on https://replicate.com/deployments, or run the model by owner/name."
        )
    if ref.name is None or ref.slug is None:  # a bare version id: resolve() explains those itself
        return f"{model} was not found"
    if ref.version:
        return (
            f"{ref.slug} has no version {ref.version[:12]}… (or the model does not exist). "
            f"Leave the version out to run its latest: {ref.slug}"
        )
    names: list[str] = []
    try:
        found = await svc.client.search(ref.name.replace("-", " ").replace("_", " "), limit=20)
        names = [_hit_from_search(m).model for m in found.models]
    except Exception:  # noqa: BLE001 - a suggestion is a courtesy; the not-found message stands without it
        pass
    close = difflib.get_close_matches(ref.slug.lower(), [n.lower() for n in names], n=3, cutoff=0.5)
    nearest = [n for n in names if n.lower() in close]
    hint = f"did you mean {', '.join(nearest)}?" if nearest else "search_models finds models by what they do"
    return f"No model named {ref.slug} on Replicate; {hint}"


def _parse_input(input: Any) -> dict[str, Any]:
    if isinstance(input, str):  # some clients send objects as JSON text
        try:
            input = json.loads(input) if input.strip() else {}
        except json.JSONDecodeError:
            raise ToolError(
                'input must be a JSON object of the model\'s inputs, e.g. {"prompt": "a cat"}'
            ) from None
    if not isinstance(input, dict):
        raise ToolError('input must be an object of the model\'s inputs, e.g. {"prompt": "a cat"}')
    return input


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("http://", "https://", "data:"))


def _mask_local_files(target: Target, input: dict[str, Any]) -> dict[str, Any]:
    """Local paths stand in as URLs for validation; they are read and sent only once the input is valid."""
    masked = dict(input)
    for name in target.schema.file_fields & masked.keys():
        value = masked[name]
        if _is_local(value):
            masked[name] = LOCAL_PLACEHOLDER
        elif isinstance(value, list):
            masked[name] = [LOCAL_PLACEHOLDER if _is_local(v) else v for v in value]
    return masked


def _local_file_problems(svc: Services, target: Target, given: dict[str, Any]) -> list[results.Problem]:
    """The checks run_model applies to a local path, made now:
    allowed folder, no links, readable, not too large."""
    problems = []
    for name in sorted(target.schema.file_fields & given.keys()):
        value = given[name]
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values):
            if not _is_local(item):
                continue
            field = f"{name}[{i}]" if isinstance(value, list) else name
            try:
                if svc.inputs.names_saved_output(
                    field, item
                ):  # a chain: run_model sends it, as it is found now
                    continue
                with svc.inputs.policy.open(item) as local:
                    size = local.size
            except FileAccessError as exc:
                problems.append(
                    results.Problem(
                        field=field, message=f"`{field}`: " + str(exc).removeprefix(f"input {field!r}: ")
                    )
                )
                continue
            if size > MAX_UPLOAD_BYTES:
                problems.append(
                    results.Problem(
                        field=field,
                        message=f"`{field}`: {shown(item)} is {human_size(size)}: the "
                        "Files API takes at most 100 MB; pass an https URL to the file instead",
                    )
                )
    return problems


def _check(target: Target, input: Any):
    given = _parse_input(input)
    verdict = validate_input(target.schema, _mask_local_files(target, given))
    if verdict.valid:
        restored = dict(verdict.normalized)
        for name in target.schema.file_fields & restored.keys() & given.keys():
            restored[name] = given[name]
        verdict = verdict.model_copy(update={"normalized": restored})
    return verdict


async def _prepare(
    svc: Services, model: str, input: Any
) -> tuple[Target, dict[str, Any], dict[str, Any], list[str]]:
    """Resolve, validate, then read local files: invalid input never reaches the API.

    Returns the target, the input to send, the input as the agent meant it (for the ledger), and notes."""
    target = await _target(svc, model)
    verdict = _check(target, input)
    if not verdict.valid:
        raise ToolError(f"Input for {target.slug} is invalid; nothing was sent.\n{verdict.message()}")
    prepared, notes = await svc.inputs.resolve(verdict.normalized, target.schema.file_fields)
    return target, prepared, verdict.normalized, [*verdict.coercions, *notes]


def _budget(svc: Services, wait_seconds: float | None) -> float:
    if wait_seconds is None:
        return svc.settings.effective_wait
    cap = svc.settings.max_wait
    if not math.isfinite(wait_seconds) or wait_seconds < 0:
        raise ToolError(
            f"wait_seconds must be a number of seconds from 0 to {cap:g} (got {wait_seconds}); "
            "leave it out for the default"
        )
    return min(wait_seconds, cap)


def _lifetime(svc: Services, cancel_after: str | float | None) -> float:
    """Seconds for Cancel-After: the server's default,
    or the call's choice between 5 s and the server's cap."""
    cap = svc.settings.max_cancel_after
    if cancel_after is None:
        return svc.settings.default_lifetime
    try:
        seconds = parse_duration(cancel_after) if isinstance(cancel_after, str) else float(cancel_after)
    except ValueError as exc:
        raise ToolError(f"cancel_after: {exc}") from None
    if not math.isfinite(seconds) or not 5 <= seconds <= cap:
        raise ToolError(
            f"cancel_after must be between 5s and {_duration_text(cap)} on this server "
            f"(got {cancel_after!r}); a longer lifetime needs the server's --max-cancel-after"
        )
    return seconds


def _duration_text(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def _call(ctx: Context, tool: str) -> str:
    return f"{tool}#{ctx.request_id}"


@asynccontextmanager
async def _heartbeat(tracker: ProgressTracker, message: str):
    """Progress while a create is in flight (it may hold a few seconds for a fast model)."""

    async def beat() -> None:
        seconds = 0.0
        while True:
            await tracker.emit(
                1.0 + min(seconds, 8.0) / 2, f"{message} ({seconds:.0f}s)" if seconds else message
            )
            await anyio.sleep(HEARTBEAT)
            seconds += HEARTBEAT

    async with anyio.create_task_group() as group:
        group.start_soon(beat)
        try:
            yield
        finally:
            group.cancel_scope.cancel()


def register_tools(server: MCPServer, *, read_only: bool) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def search_models(
        query: Annotated[str, Field(description="What the model should do, e.g. 'fast image generation'")],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> Annotated[CallToolResult, results.SearchResult]:
        """Find models on Replicate; returns owner/name, description, run count, official flag."""
        svc = services(ctx)
        try:
            found = await svc.client.search(query, limit=limit)
            hits = [_hit_from_search(m) for m in found.models][:limit]
            collections = [_collection(c, models=4) for c in (found.collections or [])][:3] or None
        except Exception:
            page = await svc.client.search_models(query)
            hits, collections = [_hit(m) for m in page.results][:limit], None
        notes = None
        if not hits:
            notes = [
                f"no model matched {shown(query)}: try fewer or more general words for what the model does "
                "('image generation', 'speech to text'), or list_collections for curated lists"
            ]
        result = results.SearchResult(models=hits, collections=collections, notes=notes)
        return bounded_result(result, svc.settings.max_response_chars)

    @server.tool(annotations=READ)
    @tool_errors
    async def list_collections(
        ctx: Context,
        slug: Annotated[str | None, Field(description="A collection's slug to list its models")] = None,
    ) -> Annotated[CallToolResult, results.CollectionsResult]:
        """Curated collections of models; with a slug, that collection's models."""
        svc = services(ctx)
        if slug:
            try:
                c = await svc.client.get_collection(check_slug(slug, "slug"))
            except NotFoundError:
                raise ToolError(
                    f"No collection {shown(slug)}; list_collections with no slug lists them all"
                ) from None
            models = [_hit(m) for m in (c.models or [])]
            result = results.CollectionsResult(
                slug=c.slug, name=c.name, description=_first_line(c.description), models=models
            )
        else:
            page = await svc.client.list_collections()
            items = [c async for c in svc.client.iterate(page)]
            result = results.CollectionsResult(collections=[_collection(c) for c in items])
        return bounded_result(result, svc.settings.max_response_chars)

    @server.tool(annotations=READ)
    @tool_errors
    async def get_model(
        model: ModelArg,
        ctx: Context,
        docs: Annotated[bool, Field(description="Include its docs (llms.txt or README)")] = False,
        versions: Annotated[int, Field(ge=0, le=20, description="Include this many recent versions")] = 0,
    ) -> Annotated[CallToolResult, results.ModelCard]:
        """A model's card: inputs (name type default range; * = required), output kind, \
example input, billing."""
        svc = services(ctx)
        target = await _target(svc, model)
        info = await svc.resolver.model(*(target.model or target.slug).split("/", 1))
        card = results.ModelCard(
            model=target.slug,
            description=info.description,
            official=target.official,
            version=None if target.official else target.version_id,
            inputs=compact_summary(target.schema),
            output=target.schema.output_kind,
            example_input=target.default_input,
            runs=info.run_count,
            billing=extras.billing(target, await hardware_of(svc, target)),
            cold_boot=extras.cold_boot(target),
            training_inputs=extras.training_inputs(target),
            versions=await extras.versions(svc, target, versions),
            docs=await extras.docs(svc, docs_of(svc), target) if docs else None,
        )
        return bounded_result(card, svc.settings.max_response_chars)

    @server.tool(name="validate_input", annotations=READ)
    @tool_errors
    async def validate_input_tool(
        model: ModelArg, input: InputArg, ctx: Context
    ) -> Annotated[CallToolResult, results.ValidationReport]:
        """Dry run: check an input against the model's schema; lists every problem with its fix. \
Creates nothing."""
        svc = services(ctx)
        target = await _target(svc, model)
        verdict = _check(target, input)
        errors = [results.Problem(**e.model_dump()) for e in verdict.errors]
        errors += await anyio.to_thread.run_sync(_local_file_problems, svc, target, _parse_input(input))
        report = results.ValidationReport(
            model=target.slug,
            valid=not errors,
            errors=errors or None,
            coercions=verdict.coercions or None,
            normalized_input=verdict.normalized if not errors else None,
        )
        return bounded_result(report, svc.settings.max_response_chars)

    if read_only:
        _register_reading(server)
        return
    _register_reading(server)

    @server.tool(annotations=CREATE)
    @tool_errors
    async def run_model(
        model: ModelArg,
        input: InputArg,
        ctx: Context,
        wait_seconds: WaitArg = None,
        cancel_after: LifetimeArg = None,
        keep_running: KeepArg = False,
        images: ImagesArg = True,
        approval: ApprovalArg = None,
    ) -> Annotated[CallToolResult, results.PredictionResult]:
        """Validate, run and wait (with progress). \
Returns outputs (text, saved files, image previews), or a handle if still running."""
        svc = services(ctx)
        budget = _budget(svc, wait_seconds)
        lifetime = _lifetime(svc, cancel_after)
        costs.require_approval(approval)  # a decline sends nothing, not even a file
        target, prepared, given, notes = await _prepare(svc, model, input)
        before = await costs.gate(svc, target, given, approval)
        deadline = anyio.current_time() + budget
        tracker = ProgressTracker(_report(ctx))
        # A language model's text streams from its first token: no held create, so the stream starts at once.
        prefer = None if target.schema.output_kind == "text_stream" else min(PREFER_WAIT, int(budget)) or None
        request = StartRequest(
            target,
            prepared,
            given,
            call=_call(ctx, "run_model"),
            keep_running=keep_running,
            lifetime=lifetime,
            prefer_wait=prefer,
        )
        started = None
        try:
            async with _heartbeat(tracker, "submitted" if prefer is None else "waiting for the model"):
                started = await svc.supervisor.start(request)
            tracked = await svc.supervisor.wait(
                started.prediction.id, deadline=deadline, on_state=tracker.update
            )
        except anyio.get_cancelled_exc_class():
            if started is not None and not keep_running:
                await svc.supervisor.abandon(started.prediction.id)
            raise
        svc.supervisor.keep(tracked.id)
        prediction = tracked.latest
        hint = None if prediction.is_terminal else WAIT_HINT
        return await _render(
            svc,
            tracked,
            logs=1_000 if prediction.status == "failed" else 0,
            hint=hint,
            notes=[*notes, *started.notes, *costs.estimate_notes(tracked, before)],
            images=images,
        )

    @server.tool(annotations=CREATE)
    @tool_errors
    async def create_prediction(
        model: ModelArg,
        input: InputArg,
        ctx: Context,
        webhook: Annotated[
            str | None, Field(description="HTTPS URL to receive the prediction when events happen")
        ] = None,
        webhook_events_filter: list[Literal["start", "output", "logs", "completed"]] | None = None,
        cancel_after: LifetimeArg = None,
        approval: ApprovalArg = None,
    ) -> Annotated[CallToolResult, results.PredictionResult]:
        """Validate and start a prediction without waiting; returns its id at once. \
The server follows it and saves its files."""
        svc = services(ctx)
        lifetime = _lifetime(svc, cancel_after)
        costs.require_approval(approval)  # a decline sends nothing, not even a file
        target, prepared, given, notes = await _prepare(svc, model, input)
        before = await costs.gate(svc, target, given, approval)
        request = StartRequest(
            target,
            prepared,
            given,
            call=_call(ctx, "create_prediction"),
            keep_running=True,
            lifetime=lifetime,
            webhook=webhook,
            webhook_events_filter=None if webhook_events_filter is None else [*webhook_events_filter],
        )
        started = await svc.supervisor.start(request)
        tracked = svc.supervisor.known(started.prediction.id)
        assert tracked is not None
        hint = None if tracked.latest.is_terminal else "wait_for_prediction or get_prediction with this id"
        return await _render(
            svc, tracked, hint=hint, notes=[*notes, *started.notes, *costs.estimate_notes(tracked, before)]
        )

    @server.tool(annotations=CANCEL)
    @tool_errors
    async def cancel_prediction(
        id: IdArg, ctx: Context
    ) -> Annotated[CallToolResult, results.PredictionResult]:
        """Cancel a running prediction; returns its final state."""
        svc = services(ctx)
        tracked = await _known(svc.supervisor.cancel, id)
        if not tracked.latest.is_terminal:
            tracked = await svc.supervisor.wait(id, deadline=anyio.current_time() + 5)
        return await _render(svc, tracked)

    @server.tool(annotations=CREATE)
    @tool_errors
    async def upload_file(
        path: Annotated[str, Field(description="Local file under an allowed folder")], ctx: Context
    ) -> Annotated[CallToolResult, results.UploadResult]:
        """Upload a local file to Replicate (kept 24 h); returns a URL to use as a file input."""
        svc = services(ctx)
        uploaded = await svc.inputs.upload(path)
        result = results.UploadResult(
            url=uploaded.url, size=uploaded.size, sha256=uploaded.sha256, reused=uploaded.reused
        )
        return bounded_result(result, svc.settings.max_response_chars)


def _register_reading(server: MCPServer) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def get_prediction(
        id: IdArg,
        ctx: Context,
        logs_chars: Annotated[
            int, Field(ge=0, le=15_000, description="How much of the logs' end to show")
        ] = 1_000,
        images: ImagesArg = True,
    ) -> Annotated[CallToolResult, results.PredictionResult]:
        """A prediction's status, output (text joined, files saved locally), error, logs tail and metrics."""
        svc = services(ctx)
        tracked = await _known(svc.supervisor.refresh, id)
        hint = None if tracked.latest.is_terminal else "wait_for_prediction with this id"
        return await _render(svc, tracked, logs=logs_chars, hint=hint, images=images)

    @server.tool(annotations=READ)
    @tool_errors
    async def wait_for_prediction(
        ids: Annotated[str | list[str], Field(description="One prediction id or a list")],
        ctx: Context,
        wait_seconds: WaitArg = None,
        images: ImagesArg = True,
    ) -> Annotated[CallToolResult, results.WaitResult]:
        """Wait (with progress) for predictions; returns finished ones and handles of those still running."""
        svc = services(ctx)
        wanted = list(dict.fromkeys([ids] if isinstance(ids, str) else ids))
        if not wanted or len(wanted) > 100:
            raise ToolError("ids: give between 1 and 100 prediction ids")
        deadline = anyio.current_time() + _budget(svc, wait_seconds)
        found: dict[str, Tracked | str] = {}
        tracker = ProgressTracker(_report(ctx))

        async def one(prediction_id: str) -> None:
            single = tracker.update if len(wanted) == 1 else None
            try:
                check_prediction_id(prediction_id)
                found[prediction_id] = await svc.supervisor.wait(
                    prediction_id, deadline=deadline, on_state=single
                )
            except NotFoundError:
                found[prediction_id] = "no prediction has this id; list_predictions shows recent ones"
            except (ReplicateError, BadReference) as exc:
                found[prediction_id] = explain(exc)
            if len(wanted) > 1:
                done = sum(1 for t in found.values() if not isinstance(t, Tracked) or t.done.is_set())
                await tracker.emit(
                    100.0 * done / len(wanted) - (0 if done == len(wanted) else 0.5),
                    f"{done}/{len(wanted)} finished",
                )

        async with anyio.create_task_group() as group:
            for prediction_id in wanted:
                group.start_soon(one, prediction_id)
        return await _wait_result(svc, [found[i] for i in wanted], wanted, images=images)

    @server.tool(annotations=READ)
    @tool_errors
    async def list_predictions(
        ctx: Context,
        cursor: Annotated[str | None, Field(description="next_cursor from a previous page")] = None,
    ) -> Annotated[CallToolResult, results.PredictionList]:
        """Recent predictions, newest first, one page at a time."""
        svc = services(ctx)
        if (
            svc.settings.auth == "oauth"
        ):  # one team token: Replicate would list everyone's; the ledger has the caller's
            return bounded_result(_ledger_page(svc, cursor), svc.settings.max_response_chars)
        page = await svc.client.list_predictions(cursor=cursor)
        items = []
        for p in page.results:
            saved = [f.path for f in svc.ledger.files(p.id)]
            items.append(
                results.PredictionSummary(
                    id=p.id,
                    status=p.status,
                    model=p.model,
                    created_at=iso_time(p.created_at),
                    files=saved or None,
                )
            )
        return bounded_result(
            results.PredictionList(predictions=items, next_cursor=page.next), svc.settings.max_response_chars
        )


def _ledger_page(svc: Services, cursor: str | None, size: int = 50) -> results.PredictionList:
    """The caller's own predictions from the ledger, newest first;
    the cursor is the last id of the page before."""
    entries = svc.ledger.list(size + 1, cursor)
    items = [
        results.PredictionSummary(
            id=e.id,
            status=e.status,
            model=e.model,
            created_at=e.created_at,
            files=[f.path for f in e.files] or None,
        )
        for e in entries[:size]
    ]
    return results.PredictionList(
        predictions=items, next_cursor=entries[size - 1].id if len(entries) > size else None
    )


async def _wait_result(
    svc: Services, found: list[Tracked | str], ids: list[str], *, images: bool = True
) -> CallToolResult:
    """Finished predictions in full while they fit the cap; any beyond it are named by id, never dropped."""
    cap = svc.settings.max_response_chars
    many = len(found) > 10
    finished, running, problems, files = [], [], [], {}
    unshown: list[str] = []
    for prediction_id, tracked in zip(ids, found, strict=True):
        if isinstance(tracked, str):
            problems.append(results.IdProblem(id=prediction_id, error=tracked))
            continue
        prediction = tracked.latest
        if not tracked.done.is_set():
            running.append(results.PredictionResult(id=prediction.id, status=prediction.status))
            continue
        files[prediction.id] = await svc.local_files(tracked.files or svc.saved_files(prediction.id))
        item = prediction_result(
            prediction,
            kind=svc.output_kind(prediction.id),
            files=files[prediction.id],
            output_limit=max(200, _output_budget(svc) // len(found)),
        )
        cost = costs.cost_note(prediction, len(files[prediction.id]))
        notes = [*([tracked.problem] if tracked.problem else []), *([cost] if cost else [])]
        if notes:
            item.notes = [*notes, *(item.notes or [])]
        if many:  # what an agent needs from each of many: id, status, output, files, error, metrics
            item.model = item.created_at = None
        finished.append(item)
    result = results.WaitResult(finished=finished, running=running, problems=problems or None)
    while True:  # the ids moved out of `finished` count against the cap too
        result.unshown = unshown or None
        result.next = _wait_hint(running, unshown)
        if not result.finished or _size(result) <= cap - 200:
            break
        unshown.insert(0, result.finished.pop().id)
    shown = {item.id for item in result.finished}
    files = {key: value for key, value in files.items() if key in shown}
    return await wait_content(result, files, inline_images=svc.settings.inline_images and images, limit=cap)


async def _known(action, prediction_id: str) -> Tracked:
    """`action(prediction_id)` for a well-formed id; a clear error when Replicate has no such prediction."""
    try:
        return await action(check_prediction_id(prediction_id))
    except NotFoundError:
        raise ToolError(
            f"Not found: no prediction has id {shown(prediction_id)} on this account; "
            "list_predictions shows recent ones"
        ) from None


def _wait_hint(running: list, unshown: list[str]) -> str | None:
    hints = []
    if running:
        hints.append("wait_for_prediction again with the running ids")
    if unshown:
        hints.append("the unshown ids finished too: get them with wait_for_prediction or get_prediction")
    return "; ".join(hints) or None


def _size(model) -> int:
    return len(
        json.dumps(
            model.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False
        )
    )


def _first_line(text: str | None, limit: int = 160) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _hit(model: Any) -> results.ModelHit:
    if isinstance(model, str):
        return results.ModelHit(model=model)
    return results.ModelHit(
        model=f"{model.owner}/{model.name}",
        description=_first_line(model.description),
        runs=model.run_count,
        official=bool(getattr(model, "is_official", False)) or None,
    )


def _hit_from_search(item: Any) -> results.ModelHit:
    hit = _hit(item.model)
    metadata = item.metadata
    tags = getattr(metadata, "tags", None) if metadata is not None else None
    if not hit.description and metadata is not None:
        hit.description = _first_line(getattr(metadata, "generated_description", None))
    hit.tags = list(tags)[:5] if tags else None
    return hit


def _collection(c: Any, models: int = 8) -> results.CollectionInfo:
    listed = getattr(c, "models", None)
    names = None
    if listed:
        names = [m if isinstance(m, str) else f"{m.owner}/{m.name}" for m in listed][:models]
    return results.CollectionInfo(
        slug=c.slug, name=c.name, description=_first_line(c.description), models=names
    )
