"""Replicate's agent-ready docs at Replicate's own paths: `/docs/llms.txt`, any docs page as Markdown when
asked with `Accept: text/markdown` (or with `.md`), and each model's `/{owner}/{name}/llms.txt` (description,
how to run it, its input and output schema, its README). No token needed, as on replicate.com."""

from __future__ import annotations

import json
import re
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from .pages import root, state
from .validation import resolve

_DOCS = json.loads(
    resources.files(__package__).joinpath("data", "docs", "docs.json").read_text(encoding="utf-8")
)
MARKDOWN = "text/markdown; charset=utf-8"


def _not_found() -> Response:
    return HTMLResponse("<h1>404</h1><p>This page could not be found.</p>", status_code=404)


async def llms_index(request: Request) -> Response:
    text = _DOCS["index"].replace("](/docs/", f"]({root(request)}/docs/")
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


async def page(request: Request) -> Response:
    path = request.path_params["path"].strip("/")
    wants_markdown = path.endswith(".md") or "text/markdown" in request.headers.get("accept", "")
    found = _DOCS["pages"].get(path.removesuffix(".md"))
    if found is None:
        return _not_found()
    if wants_markdown:
        return Response(found["markdown"], media_type=MARKDOWN)
    return HTMLResponse(
        f"<html><head><title>{found['title']} - Replicate docs</title></head><body><main>"
        f"<h1>{found['title']}</h1><p>Send Accept: text/markdown for this page as Markdown.</p>"
        "</main></body></html>"
    )


async def model_llms(request: Request) -> Response:
    p = request.path_params
    s = state(request)
    entry = s.registry.entry(p["owner"], p["name"])
    if entry is None:
        return _not_found()
    model = s.registry.model_json(entry)
    return PlainTextResponse(
        _model_text(model, entry.readme, entry.official), media_type="text/plain; charset=utf-8"
    )


def _model_text(model: dict, readme: str | None, official: bool) -> str:
    slug = f"{model['owner']}/{model['name']}"
    lines = [f"# {slug}", "", f"> {model.get('description') or ''}", ""]
    lines += ["## Run this model", ""]
    if official:
        lines.append(
            f'`POST https://api.replicate.com/v1/models/{slug}/predictions` with `{{"input": {{...}}}}`.'
        )
    else:
        version = (model.get("latest_version") or {}).get("id", "")
        lines.append(
            f'`POST https://api.replicate.com/v1/predictions` with `{{"version": "{slug}:{version}", '
            '"input": {...}}`.'
        )
    lines += ["", "## Input schema", ""]
    schema = (
        ((model.get("latest_version") or {}).get("openapi_schema") or {})
        .get("components", {})
        .get("schemas", {})
    )
    inputs = resolve(schema.get("Input") or {}, schema)
    required = set(inputs.get("required", []))
    props = sorted((inputs.get("properties") or {}).items(), key=lambda kv: kv[1].get("x-order", 1e9))
    for name, prop in props:
        prop = resolve(prop, schema)
        kind = prop.get("type") or ("enum" if "enum" in prop else "any")
        default = f", default {json.dumps(prop['default'])}" if "default" in prop else ""
        star = " (required)" if name in required else ""
        lines.append(f"- `{name}` ({kind}{default}){star}: {(prop.get('description') or '').strip()}")
    output = resolve(schema.get("Output") or {}, schema)
    lines += ["", "## Output schema", "", f"`{json.dumps(output, separators=(',', ':'))[:400]}`", ""]
    if readme:
        lines += ["## README", "", re.sub(r"(?m)^(#+) ", r"##\1 ", readme).strip(), ""]
    return "\n".join(lines)
