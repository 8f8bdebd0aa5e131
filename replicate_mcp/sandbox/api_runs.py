"""Routes that run models: predictions (three create endpoints), trainings, and prediction streams."""

from __future__ import annotations

import asyncio
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .accounts import caller
from .http_errors import ApiError, bad_request, input_validation_failed, invalid_version, not_found
from .pages import invalid, json_body, page, root, state
from .predictors import Event, OutputFile, Plan
from .streaming import sse_events
from .util import iso, new_hex, now, parse_duration, parse_iso
from .validation import validate_input
from .webhooks import ALL_EVENTS, webhook_url_problem

RUNS_PAGE = 100
HEX64 = re.compile(r"^[0-9a-f]{64}$")
PREFER = re.compile(r"^\s*wait(?:\s*=\s*(\d+))?\s*$")
VERSION_BODY = {"version", "input", "webhook", "webhook_events_filter", "webhook_completed", "stream"}
MODEL_BODY = {"input", "webhook", "webhook_events_filter", "webhook_completed", "stream"}
MIN_CANCEL_AFTER = 5.0


# --- creating predictions -------------------------------------------------------------------------


async def create_prediction(request: Request) -> Response:
    body = await _body(request, VERSION_BODY)
    ref = body.get("version")
    if not isinstance(ref, str) or not ref:
        raise input_validation_failed([invalid("version", "required", "version is required")])
    registry = state(request).registry
    if HEX64.match(ref):
        found = registry.find_version(ref)
    elif ":" in ref:
        name, _, version_id = ref.partition(":")
        found = registry.find_version(version_id)
        if found is not None and f"{found[0].owner}/{found[0].name}" != name:
            found = None
    else:
        owner, _, name = ref.partition("/")
        entry = registry.entry(owner, name) if owner and name else None
        if entry is None or not entry.official:
            raise invalid_version()
        return await _create(request, body, entry, entry, "hidden")
    if found is None or not registry.visible(found[0], caller(request)):
        raise invalid_version()
    model, version, runner = found
    return await _create(request, body, model, runner, version["id"])


async def create_model_prediction(request: Request) -> Response:
    body = await _body(request, MODEL_BODY)
    p = request.path_params
    entry = state(request).registry.entry(p["owner"], p["name"])
    if entry is None or not entry.official:
        raise not_found()
    return await _create(request, body, entry, entry, "hidden")


async def create_deployment_prediction(request: Request) -> Response:
    body = await _body(request, MODEL_BODY)
    p = request.path_params
    registry = state(request).registry
    deployment = registry.deployments.get(f"{p['owner']}/{p['name']}")
    if deployment is None or deployment["owner"] != caller(request):
        raise not_found()
    found = registry.find_version(deployment["current_release"]["version"])
    if found is None:
        raise invalid_version()
    model, version, runner = found
    return await _create(request, body, model, runner, version["id"], deployment=f"{p['owner']}/{p['name']}")


async def _body(request: Request, allowed: set[str]) -> dict:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise input_validation_failed([invalid("(root)", "invalid_type", "Invalid type. Expected: object")])
    extra = sorted(set(body) - allowed)
    if extra:
        raise input_validation_failed(
            [
                invalid(
                    "(root)", "additional_property_not_allowed", f"Additional property {k} is not allowed"
                )
                for k in extra
            ]
        )
    if not isinstance(body.get("input", {}), dict):
        raise input_validation_failed([invalid("input", "invalid_type", "Invalid type. Expected: object")])
    if "input" not in body:
        raise input_validation_failed([invalid("(root)", "required", "input is required")])
    _check_webhook(request, body)
    events = body.get("webhook_events_filter")
    if events is not None and (not isinstance(events, list) or any(e not in ALL_EVENTS for e in events)):
        raise input_validation_failed(
            [invalid("webhook_events_filter", "enum", "must be one of: start, output, logs, completed")]
        )
    return body


def _cancel_after(request: Request) -> float | None:
    header = request.headers.get("cancel-after")
    if header is None:
        return None
    seconds = parse_duration(header)
    if seconds is None:
        raise bad_request(
            f"Invalid Cancel-After header {header!r}: use a duration like 30s, 5m or 1h30m",
            "Invalid Cancel-After header",
        )
    if seconds < MIN_CANCEL_AFTER:
        raise ApiError(422, "Cancel-After must be at least 5 seconds", "Invalid Cancel-After header")
    return seconds


def _prefer_wait(request: Request) -> tuple[float, str] | None:
    match = PREFER.match(request.headers.get("prefer", ""))
    if not match:
        return None
    seconds = int(match.group(1)) if match.group(1) else 60
    if not 1 <= seconds <= 60:
        return None
    return float(seconds), f"wait={match.group(1)}" if match.group(1) else "wait"


async def _create(
    request: Request, body: dict, model, runner, version: str, deployment: str | None = None
) -> Response:
    s = state(request)
    cancel_after = _cancel_after(request)
    wait = _prefer_wait(request)
    given = body["input"]
    normalized, problems = validate_input(s.catalog.input_schema_doc(runner), given)
    if problems:
        raise input_validation_failed(problems)
    plan = runner.predictor.plan(normalized, s.engine.model_rng)
    run = s.engine.start(
        kind="prediction",
        model=f"{model.owner}/{model.name}",
        version=version,
        input=given,
        plan=plan,
        root=root(request),
        streams=bool(runner.streams),
        deployment=deployment,
        webhook=body.get("webhook"),
        webhook_events_filter=body.get("webhook_events_filter"),
        cancel_after=cancel_after,
        account=caller(request),
    )
    headers = {}
    if wait is not None:
        seconds, applied = wait
        try:
            await asyncio.wait_for(run.done.wait(), s.config.wall(seconds))
        except TimeoutError:
            pass
        headers["Preference-Applied"] = applied
    answer = run.to_json()
    if wait is not None and run.status == "succeeded":
        answer["output"] = s.engine.inline_files(run, answer["output"])
    return JSONResponse(answer, status_code=201, headers=headers)


# --- reading and canceling ------------------------------------------------------------------------


def _run(request: Request, kind: str, *, anyone: bool = False):
    """The run named in the path, if the caller's account made it (`anyone`: stream URLs carry no token)."""
    run = state(request).engine.runs.get(request.path_params["id"])
    if run is None or run.kind != kind or not (anyone or run.account in (None, caller(request))):
        raise not_found()
    return run


async def get_prediction(request: Request) -> Response:
    return JSONResponse(_run(request, "prediction").to_json())


async def cancel_prediction(request: Request) -> Response:
    return JSONResponse(state(request).engine.cancel(_run(request, "prediction")).to_json())


async def list_predictions(request: Request) -> Response:
    return JSONResponse(_list(request, "prediction"))


def _list(request: Request, kind: str) -> dict:
    username = caller(request)
    runs = [
        r for r in state(request).engine.runs.values() if r.kind == kind and r.account in (None, username)
    ]
    q = request.query_params
    try:
        after = parse_iso(q["created_after"]) if q.get("created_after") else None
        before = parse_iso(q["created_before"]) if q.get("created_before") else None
    except ValueError as exc:
        raise bad_request("created_after and created_before must be ISO 8601 date-times") from exc
    if q.get("source") == "web":
        runs = []

    def micros(ts: float) -> int:  # compare at the precision the timestamps are shown with
        return round(ts * 1_000_000)

    runs = [
        r
        for r in runs
        if (after is None or micros(r.created_at) >= micros(after))
        and (before is None or micros(r.created_at) < micros(before))
    ]
    runs.sort(key=lambda r: r.seq, reverse=True)
    return page(request, runs, RUNS_PAGE, key=lambda r: r.seq, render=lambda r: r.to_json())


async def stream_prediction(request: Request) -> Response:
    run = _run(request, "prediction", anyone=True)
    if not run.streams:
        raise not_found()
    events = sse_events(run, state(request).config, request.headers.get("last-event-id"))
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# --- trainings ------------------------------------------------------------------------------------


def _check_webhook(request: Request, body: dict) -> None:
    webhook = body.get("webhook")
    allow_insecure = state(request).engine.config.allow_insecure_webhooks
    problem = None if webhook is None else webhook_url_problem(webhook, allow_insecure=allow_insecure)
    if problem:
        raise input_validation_failed([invalid("webhook", "format", problem)])


async def create_training(request: Request) -> Response:
    s = state(request)
    p = request.path_params
    body = await json_body(request)
    if not isinstance(body, dict):
        raise input_validation_failed([invalid("(root)", "invalid_type", "Invalid type. Expected: object")])
    _check_webhook(request, body)
    entry = s.registry.entry(p["owner"], p["name"])
    found = s.registry.find_version(p["version_id"])
    username = caller(request)
    if entry is None or found is None or found[0] is not entry or not s.registry.visible(entry, username):
        raise not_found()
    _, version, runner = found
    destination = body.get("destination")
    dest_owner, _, dest_name = str(destination or "").partition("/")
    target = s.registry.entry(dest_owner, dest_name) if dest_owner and dest_name else None
    if target is None or not s.registry.visible(target, username):
        raise not_found("The specified training destination does not exist")
    given = body["input"] if isinstance(body.get("input"), dict) else {}
    new_version = new_hex(s.engine.id_rng)
    trainer = getattr(runner, "training_predictor", None)
    if trainer is not None:
        schema = s.catalog.input_schema_doc(runner)
        if "TrainingInput" in schema.get("components", {}).get("schemas", {}):
            given_norm, problems = validate_input(schema, given, schema_name="TrainingInput")
            if problems:
                raise input_validation_failed(problems)
        else:
            given_norm = given
        plan = trainer.plan(given_norm, s.engine.model_rng)
    else:
        plan = _default_training_plan()
    if plan.error is None:
        output = plan.output if isinstance(plan.output, dict) else {}
        plan.output = {**output, "version": f"{destination}:{new_version}"}
    run = s.engine.start(
        kind="training",
        model=f"{entry.owner}/{entry.name}",
        version=version["id"],
        input=given,
        plan=plan,
        root=root(request),
        webhook=body.get("webhook"),
        webhook_events_filter=body.get("webhook_events_filter"),
        account=username,
    )
    asyncio.get_running_loop().create_task(_push_when_trained(s, run, target, runner, version, new_version))
    return JSONResponse(_training_json(run), status_code=201)


def _default_training_plan() -> Plan:
    events = [
        Event(at=float(i), logs=f"Training step {i}/10, loss={1.0 / (i + 1):.4f}\n") for i in range(1, 11)
    ]
    weights = OutputFile(name="trained_model.tar", content_type="application/x-tar", data=b"\0" * 1024)
    return Plan(duration=12.0, events=events, output={"weights": weights})


async def _push_when_trained(s, run, target, runner, base_version: dict, new_version: str) -> None:
    await run.done.wait()
    if run.status == "succeeded":
        version = {
            "id": new_version,
            "created_at": iso(now()),
            "cog_version": base_version.get("cog_version"),
            "openapi_schema": base_version.get("openapi_schema"),
        }
        s.registry.push_version(target, version, runner)


def _training_json(run) -> dict:
    body = run.to_json()
    if body.get("output") is None:
        body.pop("output", None)
    return body


async def get_training(request: Request) -> Response:
    return JSONResponse(_training_json(_run(request, "training")))


async def cancel_training(request: Request) -> Response:
    return JSONResponse(_training_json(state(request).engine.cancel(_run(request, "training"))))


async def list_trainings(request: Request) -> Response:
    body = _list(request, "training")
    for item in body["results"]:
        if item.get("output") is None:
            item.pop("output", None)
    return JSONResponse(body)
