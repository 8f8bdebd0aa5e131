"""The training toolset: fine-tune a model end to end, from local photos to a version `run_model` can run.

`train_model` resolves the trainer, validates the input against the trainer version's `TrainingInput` exactly
as predictions are validated, creates the destination model if it does not exist (private by default), zips
local images (a folder or a list of files) and uploads them through the Files API, then starts the training
through the supervisor, which follows it like a prediction. `get_training` waits with progress and hands back
the new version as `owner/name:version`.
"""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
import io
import os
import re
import zipfile
from typing import Annotated, Any, Literal

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from replicate_mcp.api import NotFoundError, ReplicateError
from replicate_mcp.config import parse_duration
from replicate_mcp.files import FileAccessError
from replicate_mcp.files.paths import local_path_from
from replicate_mcp.pricing import price_table
from replicate_mcp.runs import ProgressTracker, Target, Tracked, TrainingRequest
from replicate_mcp.schema import ModelSchema, validate_input
from replicate_mcp.server.content import bounded_result
from replicate_mcp.server.errors import tool_errors
from replicate_mcp.server.services import Services
from replicate_mcp.server.tools import CANCEL, CREATE, READ, services

SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.-]*$")
TRAINING_ID = re.compile(r"^[a-z0-9]{10,64}$")
DEFAULT_LIFETIME = 4 * 3600.0
MAX_LIFETIME = 24 * 3600.0
DESTINATION_HARDWARE = (
    "gpu-t4"  # Replicate's own fine-tuning guide; fine-tunes of official bases run on theirs
)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".txt", ".caption"}
UPLOAD_MARK = {"uploaded_by": "replicate-mcp"}

IdArg = Annotated[str, Field(description="Training id")]


class TrainingResult(BaseModel):
    id: str
    status: str
    trainer: str | None = None
    destination: str | None = None
    version: str | None = None  # owner/name:version once it succeeded, ready for run_model
    error: str | None = None
    logs: str | None = None
    metrics: dict[str, Any] | None = None
    created_at: str | None = None
    next: str | None = None
    notes: list[str] | None = None


class TrainingList(BaseModel):
    trainings: list[TrainingResult]
    next_cursor: str | None = None


def _lifetime(value: str | float | None) -> float:
    if value is None:
        return DEFAULT_LIFETIME
    try:
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
    except ValueError as exc:
        raise ToolError(f"max_duration: {exc}") from None
    if not 60 <= seconds <= MAX_LIFETIME:
        raise ToolError(
            f"max_duration must be between 1m and 24h (got {value!r}); the server cancels the "
            "training after it"
        )
    return seconds


def _check_id(value: str) -> str:
    if not isinstance(value, str) or not TRAINING_ID.match(value.strip()):
        raise ToolError(
            f"id: {value!r} is not a training id (lowercase letters and digits, as train_model "
            "or list_trainings return it)"
        )
    return value.strip()


async def _trainer(svc: Services, trainer: str) -> Target:
    try:
        target = await svc.resolver.resolve(trainer)
    except NotFoundError:
        raise ToolError(
            f"trainer: no model {trainer!r} on Replicate; trainers are models such as "
            "ostris/flux-dev-lora-trainer (search_models 'fine-tune' finds more)"
        ) from None
    except ValueError as exc:  # a malformed reference
        raise ToolError(f"trainer: {exc}") from None
    if target.schema.training is None or not target.version_id or target.slug.startswith("deployments/"):
        raise ToolError(
            f"trainer: {target.slug} cannot be trained (its version has no TrainingInput); use a "
            "trainer such as ostris/flux-dev-lora-trainer"
        )
    return target


def _training(target: Target) -> ModelSchema:
    """A trainer's TrainingInput schema (`_trainer` refused a target without one)."""
    if target.schema.training is None:
        raise ToolError(f"trainer: {target.slug} cannot be trained (its version has no TrainingInput)")
    return target.schema.training


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith(("http://", "https://", "data:"))


def _masked(target: Target, given: dict[str, Any]) -> dict[str, Any]:
    """Local paths (files or folders) stand in as URLs for validation;
    they are read only once the input is valid."""
    masked = dict(given)
    for name in _training(target).file_fields & masked.keys():
        value = masked[name]
        if _is_local(value) or (isinstance(value, list) and value and all(_is_local(v) for v in value)):
            masked[name] = "https://local.file/placeholder"
    return masked


def _zip_files(svc: Services, field: str, value: str | list[str]) -> tuple[bytes, int]:
    """A zip of the allowed files in a folder (not below it), or of a list of files;
    each read once, checked."""
    if isinstance(value, list):
        paths = value
    else:
        try:
            folder = local_path_from(value)
        except FileAccessError as exc:
            raise ToolError(f"input {field!r}: {exc}") from None
        if not folder.is_dir():
            raise ToolError(f"input {field!r}: {value!r} is not a folder")
        paths = [
            str(folder / name)
            for name in sorted(os.listdir(folder))
            if not name.startswith(".")
            and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
            and (folder / name).is_file()
        ]
        if not paths:
            raise ToolError(
                f"input {field!r}: no images in {value!r} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            try:
                with svc.policy.open(path) as local:
                    archive.writestr(local.path.name, local.read())
            except FileAccessError as exc:
                raise ToolError(f"input {field!r}: {exc}") from None
    return buffer.getvalue(), len(paths)


async def _upload_local(
    svc: Services, target: Target, given: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Folders and lists of local files become one uploaded zip; one local file is uploaded as it is."""
    sent, notes = dict(given), []
    for name in sorted(_training(target).file_fields & given.keys()):
        value = given[name]
        if isinstance(value, list) or (_is_local(value) and os.path.isdir(os.path.expanduser(value))):
            content, count = await anyio.to_thread.run_sync(_zip_files, svc, name, value)
            created = await svc.client.create_file(
                content, filename=f"{name}.zip", content_type="application/zip", metadata=UPLOAD_MARK
            )
            sent[name] = (created.urls or {}).get("get") or ""
            notes.append(
                f"{name}: zipped {count} files ({len(content) // 1024} KB) and uploaded -> {sent[name]}"
            )
        elif _is_local(value):
            try:
                uploaded = await svc.inputs.upload(value)
            except FileAccessError as exc:
                raise ToolError(f"input {name!r}: {exc}") from None
            sent[name] = uploaded.url
            notes.append(f"{name}: uploaded {os.path.basename(value)} -> {uploaded.url}")
    return sent, notes


async def _destination(svc: Services, destination: str, visibility: str, hardware: str | None) -> str | None:
    """Make sure the destination model exists; a note when it was created."""
    if not isinstance(destination, str) or not SLUG.match(destination.strip().lower()):
        raise ToolError(
            f"destination: {destination!r} is not owner/name (e.g. yourname/my-dog-lora: the model "
            "that receives the trained version)"
        )
    owner, name = destination.strip().split("/", 1)
    try:
        await svc.client.get_model(owner, name)
        return None
    except NotFoundError:
        pass
    chosen = hardware or DESTINATION_HARDWARE
    try:
        await svc.client.create_model(
            owner=owner,
            name=name,
            visibility=visibility,
            hardware=chosen,
            description="Fine-tuned with replicate-mcp",
        )
    except ReplicateError as exc:
        raise ToolError(
            f"destination: {destination} does not exist and could not be created ({exc.title or exc}); "
            "the owner must be your account or one of your organizations (get_account shows it)"
        ) from None
    return f"created the {visibility} model {destination} (hardware {chosen}) to receive the trained version"


def training_result(training: Any, *, logs: int = 0, problem: str | None = None) -> TrainingResult:
    output = training.output if isinstance(training.output, dict) else {}
    version = output.get("version") if isinstance(output.get("version"), str) else None
    text_logs = (training.logs or "")[-logs:] if logs and training.logs else None
    error = training.error if isinstance(training.error, str) and training.error else None
    notes = [problem] if problem else []
    metrics = training.metrics or None
    hardware = price_table().trainer_hardware(training.model or "")
    seconds = (metrics or {}).get("predict_time")
    if hardware and isinstance(seconds, int | float):
        rate = price_table().rate(hardware) or 0.0
        notes.append(
            f"cost ≈ ${seconds * rate:.2f} ({seconds:.0f} s × ${rate}/s on {hardware}; approximate, "
            f"prices as of {price_table().as_of})"
        )
    hint = None
    if training.status == "succeeded" and version:
        hint = f"run_model with model {version!r}"
    elif not training.is_terminal:
        hint = "get_training with this id and wait_seconds to wait for it (trainings take minutes to hours)"
    return TrainingResult(
        id=training.id,
        status=training.status,
        trainer=training.model,
        destination=getattr(training, "destination", None) or (version or "").split(":")[0] or None,
        version=version,
        error=error,
        logs=text_logs,
        metrics=metrics,
        created_at=training.created_at,
        next=hint,
        notes=notes or None,
    )


def register_training_tools(server: MCPServer, *, read_only: bool) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def get_training(
        id: IdArg,
        ctx: Context,
        wait_seconds: Annotated[
            float, Field(ge=0, le=3600, description="Wait up to this long, with progress")
        ] = 0,
        logs_chars: Annotated[
            int, Field(ge=0, le=15_000, description="How much of the logs' end to show")
        ] = 1_000,
    ) -> Annotated[CallToolResult, TrainingResult]:
        """A training's status, logs tail and, once done, \
the new version as owner/name:version for run_model."""
        svc = services(ctx)
        training_id = _check_id(id)
        budget = min(wait_seconds, svc.settings.max_wait)
        tracker = ProgressTracker(_report(ctx))
        try:
            if budget > 0:
                tracked = await svc.supervisor.wait(
                    training_id,
                    deadline=anyio.current_time() + budget,
                    on_state=tracker.update,
                    kind="training",
                )
            else:
                tracked = await svc.supervisor.refresh(training_id, kind="training")
        except NotFoundError:
            raise ToolError(
                f"id: no training {training_id} on this account; list_trainings shows recent ones"
            ) from None
        return render_training(svc, tracked, logs_chars)

    @server.tool(annotations=READ)
    @tool_errors
    async def list_trainings(
        ctx: Context,
        cursor: Annotated[str | None, Field(description="next_cursor from a previous page")] = None,
    ) -> Annotated[CallToolResult, TrainingList]:
        """Recent trainings, newest first, one page at a time."""
        svc = services(ctx)
        page = await svc.client.list_trainings(cursor=cursor)
        items = [training_result(t) for t in page.results]
        for item in items:
            item.next = item.notes = None
        return bounded_result(
            TrainingList(trainings=items, next_cursor=page.next), svc.settings.max_response_chars
        )

    if read_only:
        return

    @server.tool(annotations=CREATE)
    @tool_errors
    async def train_model(
        trainer: Annotated[
            str, Field(description="Trainer model, e.g. ostris/flux-dev-lora-trainer (or :version)")
        ],
        destination: Annotated[
            str, Field(description="owner/name that receives the new version; created if missing")
        ],
        input: Annotated[
            dict[str, Any],
            Field(
                description="Training input (see get_model's training_inputs). "
                "Image sets: a local folder or list of files, zipped"
            ),
        ],
        ctx: Context,
        visibility: Literal["private", "public"] = "private",
        hardware: Annotated[
            str | None, Field(description="Destination model's hardware SKU if created")
        ] = None,
        max_duration: Annotated[
            str | float | None, Field(description="Cancel after ('2h'); default 4h")
        ] = None,
    ) -> Annotated[CallToolResult, TrainingResult]:
        """Fine-tune: validate, create the destination if needed, upload local images, start; \
returns the training id."""
        svc = services(ctx)
        lifetime = _lifetime(max_duration)
        target = await _trainer(svc, trainer)
        if not isinstance(input, dict):
            raise ToolError(
                "input must be an object of the trainer's training inputs, e.g. "
                '{"input_images": "/path/to/photos", "trigger_word": "TOK"}'
            )
        verdict = validate_input(_training(target), _masked(target, input))
        if not verdict.valid:
            raise ToolError(
                f"Training input for {target.slug} is invalid; nothing was sent.\n{verdict.message()}"
            )
        given = {**verdict.normalized, **{k: input[k] for k in _training(target).file_fields & input.keys()}}
        notes = [*verdict.coercions]
        created = await _destination(svc, destination, visibility, hardware)
        sent, uploaded = await _upload_local(svc, target, given)
        notes += [*([created] if created else []), *uploaded]
        request = TrainingRequest(
            trainer=target.model or target.slug,
            version_id=target.version_id or "",
            destination=destination.strip(),
            input=sent,
            given=given,
            call=f"train_model#{ctx.request_id}",
            lifetime=lifetime,
        )
        try:
            started = await svc.supervisor.start_training(request)
        except NotFoundError as exc:
            raise ToolError(
                f"destination: Replicate refused it ({exc.detail or exc}); it must be a model you own"
            ) from None
        tracked = svc.supervisor.known(started.prediction.id)
        result = training_result(tracked.latest if tracked else started.prediction)
        hardware_used = price_table().trainer_hardware(target.slug)
        if hardware_used:
            rate = price_table().rate(hardware_used)
            notes.append(f"billed per second of {hardware_used} (${rate}/s, as of {price_table().as_of})")
        result.destination = destination.strip()
        result.notes = [*notes, *started.notes, *(result.notes or [])] or None
        return bounded_result(result, svc.settings.max_response_chars)

    @server.tool(annotations=CANCEL)
    @tool_errors
    async def cancel_training(id: IdArg, ctx: Context) -> Annotated[CallToolResult, TrainingResult]:
        """Cancel a running training; returns its final state."""
        svc = services(ctx)
        training_id = _check_id(id)
        try:
            tracked = await svc.supervisor.cancel(training_id, kind="training")
        except NotFoundError:
            raise ToolError(
                f"id: no training {training_id} on this account; list_trainings shows recent ones"
            ) from None
        if not tracked.latest.is_terminal:
            tracked = await svc.supervisor.wait(
                training_id, deadline=anyio.current_time() + 5, kind="training"
            )
        return render_training(svc, tracked, 0)


def _report(ctx: Context):
    async def report(value: float, message: str) -> None:
        await ctx.report_progress(value, 100, message)

    return report


def render_training(svc: Services, tracked: Tracked, logs: int) -> CallToolResult:
    """A followed training as get_training shows it (also the inlined result of a training run as a task)."""
    result = training_result(
        tracked.latest,
        logs=logs if tracked.latest.status != "succeeded" else min(logs, 300),
        problem=tracked.problem,
    )
    return bounded_result(result, svc.settings.max_response_chars)
