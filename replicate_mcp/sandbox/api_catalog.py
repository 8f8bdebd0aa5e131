"""Routes about what exists: search, models, versions, collections, deployments, hardware, account."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .accounts import account_json, caller
from .http_errors import ApiError, input_validation_failed, not_found
from .pages import invalid, json_body, page, root, state
from .registry import HARDWARE, CreatedModel
from .util import iso, now

MODELS_PAGE = 25
LONG_PAGE = 100


def _entry(request: Request):
    p = request.path_params
    registry = state(request).registry
    entry = registry.entry(p["owner"], p["name"])
    if entry is None or not registry.visible(entry, caller(request)):
        raise not_found()
    return entry


# --- search ---------------------------------------------------------------------------------------


async def search(request: Request) -> Response:
    query = request.query_params.get("query", "").strip()
    if not query:
        return JSONResponse({"detail": 'Query parameter "query" is required'}, status_code=400)
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 50:
        return JSONResponse(
            {"detail": 'Query parameter "limit" must be an integer between 1 and 50'}, status_code=400
        )
    s = state(request)
    hits = [(e, score) for e, score in s.catalog.search(query, limit) if s.registry.entry(e.owner, e.name)]
    collections = s.catalog.collections
    models = []
    for entry, score in hits:
        key = f"{entry.owner}/{entry.name}"
        model = s.registry.model_json(entry)
        tags = list(
            getattr(entry, "tags", None) or [c["slug"] for c in collections if key in c.get("models", [])]
        )
        metadata = {"generated_description": model.get("description"), "tags": tags, "score": float(score)}
        models.append({"model": model, "metadata": metadata})
    words = [w for w in query.lower().split() if len(w) > 2] or [query.lower()]
    found = [
        {
            "name": c["name"],
            "slug": c["slug"],
            "description": c.get("description", ""),
            "models": list(c.get("models", [])),
        }
        for c in collections
        if any(w in f"{c['name']} {c['slug']} {c.get('description', '')}".lower() for w in words)
    ]
    return JSONResponse({"query": query, "models": models, "collections": found, "pages": []})


async def query_models(request: Request) -> Response:
    raw = (await request.body()).decode("utf-8", "replace").strip()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            decoded = json.loads(raw)
            raw = decoded if isinstance(decoded, str) else raw
        except json.JSONDecodeError:
            pass
    s = state(request)
    hits = [e for e, _ in s.catalog.search(raw, 1000) if s.registry.entry(e.owner, e.name)] if raw else []
    return JSONResponse(page(request, hits, MODELS_PAGE, key=_key, render=s.registry.model_json))


# --- models ---------------------------------------------------------------------------------------


def _key(entry) -> str:
    return f"{entry.owner}/{entry.name}"


async def list_models(request: Request) -> Response:
    s = state(request)
    sort_by = request.query_params.get("sort_by", "latest_version_created_at")
    direction = request.query_params.get("sort_direction", "desc")
    if sort_by not in ("model_created_at", "latest_version_created_at") or direction not in ("asc", "desc"):
        raise ApiError(
            400,
            "sort_by must be model_created_at or latest_version_created_at; sort_direction asc or desc",
            "Invalid sort",
        )
    username = caller(request)
    models = [
        (e, s.registry.model_json(e)) for e in s.registry.all_entries() if s.registry.visible(e, username)
    ]

    def sort_key(item) -> str:
        model = item[1]
        if sort_by == "model_created_at":
            return model.get("created_at") or ""
        return (model.get("latest_version") or {}).get("created_at") or model.get("created_at") or ""

    models.sort(key=sort_key, reverse=direction == "desc")
    return JSONResponse(page(request, models, MODELS_PAGE, key=lambda m: _key(m[0]), render=lambda m: m[1]))


async def create_model(request: Request) -> Response:
    body = await json_body(request)
    problems = [
        invalid(name, "required", f"{name} is required")
        for name in ("owner", "name", "visibility", "hardware")
        if not isinstance(body, dict) or not body.get(name)
    ]
    if problems:
        raise input_validation_failed(problems)
    s = state(request)
    if s.registry.entry(body["owner"], body["name"]) is not None:
        raise ApiError(409, "A model with that name and owner already exists.", "Conflict")
    return JSONResponse(s.registry.create_model(body, account=caller(request)), status_code=201)


async def get_model(request: Request) -> Response:
    return JSONResponse(state(request).registry.model_json(_entry(request)))


async def update_model(request: Request) -> Response:
    entry = _entry(request)
    body = await json_body(request)
    return JSONResponse(state(request).registry.update_model(entry, body if isinstance(body, dict) else {}))


async def delete_model(request: Request) -> Response:
    entry = _entry(request)
    if not isinstance(entry, CreatedModel):
        raise ApiError(403, "You do not have permission to delete this model.", "Forbidden")
    state(request).registry.delete_model(entry)
    return Response(status_code=204)


async def readme(request: Request) -> Response:
    entry = _entry(request)
    if not entry.readme:
        raise not_found()
    return PlainTextResponse(entry.readme, media_type="text/plain; charset=utf-8")


async def examples(request: Request) -> Response:
    entry = _entry(request)
    model = state(request).registry.model_json(entry)
    example = model.get("default_example")
    items = [_example_prediction(example, _key(entry), root(request))] if example else []
    return JSONResponse(page(request, items, LONG_PAGE))


def _example_prediction(example: dict, model_key: str, base: str) -> dict:
    pred = {k: v for k, v in example.items() if v is not None or k in ("output", "error")}
    pid = pred.setdefault("id", "example")
    pred.setdefault("model", model_key)
    pred.setdefault("version", "hidden")
    pred.setdefault("input", {})
    pred.setdefault("output", None)
    pred.setdefault("data_removed", False)
    pred.setdefault("error", None)
    pred.setdefault("status", "succeeded")
    pred.setdefault("created_at", iso(now()))
    pred.setdefault("logs", "")
    pred.setdefault(
        "urls",
        {
            "get": f"{base}/v1/predictions/{pid}",
            "cancel": f"{base}/v1/predictions/{pid}/cancel",
            "web": f"https://replicate.com/p/{pid}",
        },
    )
    pred["urls"].setdefault("web", f"https://replicate.com/p/{pid}")
    return pred


async def list_versions(request: Request) -> Response:
    entry = _entry(request)
    if entry.official:
        raise not_found()
    return JSONResponse(
        page(request, state(request).registry.versions(entry), LONG_PAGE, key=lambda v: v["id"])
    )


def _version(request: Request) -> dict:
    entry = _entry(request)
    wanted = request.path_params["version_id"]
    for version in state(request).registry.versions(entry):
        if version["id"] == wanted:
            return version
    raise not_found()


async def get_version(request: Request) -> Response:
    return JSONResponse(_version(request))


async def delete_version(request: Request) -> Response:
    _version(request)
    return Response(status_code=202)


# --- collections, hardware, account, webhooks -----------------------------------------------------


async def list_collections(request: Request) -> Response:
    items = [
        {"name": c["name"], "slug": c["slug"], "description": c.get("description", "")}
        for c in state(request).catalog.collections
    ]
    return JSONResponse(page(request, items, LONG_PAGE, key=lambda c: c["slug"]))


async def get_collection(request: Request) -> Response:
    s = state(request)
    for c in s.catalog.collections:
        if c["slug"] == request.path_params["slug"]:
            username = caller(request)
            entries = [
                e
                for key in c.get("models", [])
                if (e := s.registry.entry(*key.split("/", 1))) is not None and s.registry.visible(e, username)
            ]
            return JSONResponse(
                {
                    "name": c["name"],
                    "slug": c["slug"],
                    "description": c.get("description", ""),
                    "full_description": c.get("full_description"),
                    "models": [s.registry.model_json(e) for e in entries if e is not None],
                }
            )
    raise not_found()


async def hardware(request: Request) -> Response:
    return JSONResponse(HARDWARE)


async def account(request: Request) -> Response:
    return JSONResponse(account_json(caller(request)))


async def webhook_secret(request: Request) -> Response:
    return JSONResponse({"key": state(request).engine.webhooks.secret})


# --- deployments ----------------------------------------------------------------------------------


def _deployment(request: Request) -> dict:
    p = request.path_params
    deployment = state(request).registry.deployments.get(f"{p['owner']}/{p['name']}")
    if deployment is None or deployment["owner"] != caller(request):
        raise not_found()
    return deployment


async def list_deployments(request: Request) -> Response:
    username = caller(request)
    items = [d for d in state(request).registry.deployments.values() if d["owner"] == username]
    return JSONResponse(page(request, items, LONG_PAGE, key=lambda d: f"{d['owner']}/{d['name']}"))


async def create_deployment(request: Request) -> Response:
    body = await json_body(request)
    required = ("name", "model", "version", "hardware", "min_instances", "max_instances")
    problems = [
        invalid(name, "required", f"{name} is required")
        for name in required
        if not isinstance(body, dict) or body.get(name) is None
    ]
    if problems:
        raise input_validation_failed(problems)
    _check_release(request, body)
    registry = state(request).registry
    username = caller(request)
    if f"{username}/{body['name']}" in registry.deployments:
        raise ApiError(409, "A deployment with that name already exists.", "Conflict")
    return JSONResponse(registry.create_deployment(username, body))


def _check_release(request: Request, body: dict) -> None:
    registry = state(request).registry
    if "version" in body:
        found = registry.find_version(str(body["version"]))
        model = body.get("model")
        if (
            found is None
            or (model and f"{found[0].owner}/{found[0].name}" != model)
            or not registry.visible(found[0], caller(request))
        ):
            raise ApiError(404, "The specified model version does not exist.")


async def get_deployment(request: Request) -> Response:
    return JSONResponse(_deployment(request))


async def update_deployment(request: Request) -> Response:
    deployment = _deployment(request)
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    if "version" in body:
        _check_release(
            request, {"version": body["version"], "model": deployment["current_release"].get("model")}
        )
    return JSONResponse(state(request).registry.update_deployment(deployment, body))


async def delete_deployment(request: Request) -> Response:
    p = request.path_params
    _deployment(request)
    del state(request).registry.deployments[f"{p['owner']}/{p['name']}"]
    return Response(status_code=204)
