"""Every operation of the real openapi.json, called against the sandbox,
answers a body valid against its schema."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx2
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .conftest import hello_version, wait_terminal

OPENAPI = Path(__file__).parents[1] / "fixtures" / "replicate-api" / "openapi.json"
DOC_URI = "urn:replicate-openapi"
METHODS = ("get", "post", "put", "patch", "delete", "query")


def _openapi_as_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema, and the `version` oneOf (where "hidden" matches both
    branches, so no real official prediction could pass) as anyOf."""
    if isinstance(node, dict):
        node = {k: _openapi_as_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        if "oneOf" in node and any(b.get("enum") == ["hidden"] for b in node["oneOf"] if isinstance(b, dict)):
            node["anyOf"] = node.pop("oneOf")
        return node
    if isinstance(node, list):
        return [_openapi_as_json_schema(v) for v in node]
    return node


DOC = _openapi_as_json_schema(json.loads(OPENAPI.read_text()))
REGISTRY = Registry().with_resource(DOC_URI, Resource(contents=DOC, specification=DRAFT202012))
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    return (
        not isinstance(value, str) or datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    )


@FORMATS.checks("uri")
def _is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme and (parsed.netloc or parsed.scheme == "data"))


def operations() -> list[tuple[str, str, str]]:
    return [
        (op["operationId"], method.upper(), path)
        for path, item in DOC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_response(method: str, path: str, response: httpx2.Response) -> None:
    op = DOC["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in op["responses"], f"{method} {path}: status {status} not in spec: {response.text[:300]}"
    content = op["responses"][status].get("content")
    if not content:
        return
    media = response.headers["content-type"].split(";")[0]
    assert media in content, f"{method} {path}: content-type {media} not in {list(content)}"
    if "json" not in media:
        return
    ref = f"{DOC_URI}#/" + _pointer(
        "paths", path, method.lower(), "responses", status, "content", media, "schema"
    )
    validator = Draft202012Validator({"$ref": ref}, registry=REGISTRY, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path}: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]
    )


def test_every_operation_is_exercised_and_valid(api: httpx2.Client) -> None:
    version = hello_version(api)
    done = set()

    def call(op_id: str, method: str, template: str, url: str, **kwargs) -> httpx2.Response:
        response = api.request(method, url, **kwargs)
        check_response(method, template, response)
        done.add(op_id)
        return response

    call("search", "GET", "/search", "/v1/search", params={"query": "flux"})
    bad = api.get("/v1/search")
    check_response("GET", "/search", bad)
    call(
        "models.search",
        "QUERY",
        "/models",
        "/v1/models",
        content="llama",
        headers={"content-type": "text/plain"},
    )
    call("models.list", "GET", "/models", "/v1/models", params={"sort_by": "model_created_at"})
    call(
        "models.create",
        "POST",
        "/models",
        "/v1/models",
        json={"owner": "sandbox", "name": "conformance", "visibility": "private", "hardware": "cpu"},
    )
    call("models.get", "GET", "/models/{model_owner}/{model_name}", "/v1/models/replicate/hello-world")
    call(
        "models.update",
        "PATCH",
        "/models/{model_owner}/{model_name}",
        "/v1/models/sandbox/conformance",
        json={"description": "updated"},
    )
    call(
        "models.readme.get",
        "GET",
        "/models/{model_owner}/{model_name}/readme",
        "/v1/models/replicate/hello-world/readme",
    )
    call(
        "models.examples.list",
        "GET",
        "/models/{model_owner}/{model_name}/examples",
        "/v1/models/black-forest-labs/flux-schnell/examples",
    )
    call(
        "models.versions.list",
        "GET",
        "/models/{model_owner}/{model_name}/versions",
        "/v1/models/replicate/hello-world/versions",
    )
    call(
        "models.versions.get",
        "GET",
        "/models/{model_owner}/{model_name}/versions/{version_id}",
        f"/v1/models/replicate/hello-world/versions/{version}",
    )
    call("collections.list", "GET", "/collections", "/v1/collections")
    slug = api.get("/v1/collections").json()["results"][0]["slug"]
    call("collections.get", "GET", "/collections/{collection_slug}", f"/v1/collections/{slug}")
    call("hardware.list", "GET", "/hardware", "/v1/hardware")
    call("account.get", "GET", "/account", "/v1/account")
    call("webhooks.default.secret.get", "GET", "/webhooks/default/secret", "/v1/webhooks/default/secret")

    created = call(
        "predictions.create",
        "POST",
        "/predictions",
        "/v1/predictions",
        json={"version": version, "input": {"text": "spec"}},
        headers={"Prefer": "wait=5"},
    ).json()
    streamed = call(
        "models.predictions.create",
        "POST",
        "/models/{model_owner}/{model_name}/predictions",
        "/v1/models/meta/meta-llama-3-8b-instruct/predictions",
        json={"input": {"prompt": "hi"}},
    ).json()
    call("predictions.get", "GET", "/predictions/{prediction_id}", f"/v1/predictions/{streamed['id']}")
    call(
        "predictions.cancel",
        "POST",
        "/predictions/{prediction_id}/cancel",
        f"/v1/predictions/{streamed['id']}/cancel",
    )
    call(
        "predictions.cancel",
        "POST",
        "/predictions/{prediction_id}/cancel",
        f"/v1/predictions/{created['id']}/cancel",
    )
    call("predictions.list", "GET", "/predictions", "/v1/predictions")

    call("deployments.list", "GET", "/deployments", "/v1/deployments")
    call(
        "deployments.create",
        "POST",
        "/deployments",
        "/v1/deployments",
        json={
            "name": "conformance-dep",
            "model": "replicate/hello-world",
            "version": version,
            "hardware": "cpu",
            "min_instances": 0,
            "max_instances": 1,
        },
    )
    call(
        "deployments.get",
        "GET",
        "/deployments/{deployment_owner}/{deployment_name}",
        "/v1/deployments/sandbox/conformance-dep",
    )
    call(
        "deployments.update",
        "PATCH",
        "/deployments/{deployment_owner}/{deployment_name}",
        "/v1/deployments/sandbox/conformance-dep",
        json={"max_instances": 2},
    )
    dep = call(
        "deployments.predictions.create",
        "POST",
        "/deployments/{deployment_owner}/{deployment_name}/predictions",
        "/v1/deployments/sandbox/conformance-dep/predictions",
        json={"input": {"text": "dep"}},
    ).json()
    assert dep["deployment"] == "sandbox/conformance-dep"
    check_response("GET", "/predictions/{prediction_id}", api.get(dep["urls"]["get"]))
    call(
        "deployments.delete",
        "DELETE",
        "/deployments/{deployment_owner}/{deployment_name}",
        "/v1/deployments/sandbox/conformance-dep",
    )

    trainer = api.get("/v1/models/ostris/flux-dev-lora-trainer/versions").json()["results"][0]["id"]
    training = call(
        "trainings.create",
        "POST",
        "/models/{model_owner}/{model_name}/versions/{version_id}/trainings",
        f"/v1/models/ostris/flux-dev-lora-trainer/versions/{trainer}/trainings",
        json={"destination": "sandbox/conformance", "input": {"input_images": "https://example.com/a.zip"}},
    ).json()
    call("trainings.get", "GET", "/trainings/{training_id}", f"/v1/trainings/{training['id']}")
    call("trainings.list", "GET", "/trainings", "/v1/trainings")
    call(
        "trainings.cancel",
        "POST",
        "/trainings/{training_id}/cancel",
        f"/v1/trainings/{training['id']}/cancel",
    )

    upload = call(
        "files.create",
        "POST",
        "/files",
        "/v1/files",
        files={"content": ("hello.txt", b"hello", "text/plain")},
        data={"metadata": '{"a": 1}'},
    ).json()
    call("files.list", "GET", "/files", "/v1/files")
    call("files.get", "GET", "/files/{file_id}", f"/v1/files/{upload['id']}")
    call(
        "files.download",
        "GET",
        "/files/{file_id}/download",
        f"/v1/files/{upload['id']}/download",
        params={"owner": "sandbox", "expiry": "0", "signature": "x"},
    )
    call("files.delete", "DELETE", "/files/{file_id}", f"/v1/files/{upload['id']}")
    call("files.get", "GET", "/files/{file_id}", f"/v1/files/{upload['id']}")  # now the spec's 404

    call(
        "models.versions.delete",
        "DELETE",
        "/models/{model_owner}/{model_name}/versions/{version_id}",
        f"/v1/models/replicate/hello-world/versions/{version}",
    )
    call("models.delete", "DELETE", "/models/{model_owner}/{model_name}", "/v1/models/sandbox/conformance")

    missing = {op_id for op_id, _, _ in operations()} - done
    assert not missing, f"operations never exercised: {sorted(missing)}"
    wait_terminal(api, created["urls"]["get"])


@pytest.mark.parametrize("status_call", ["running", "finished"])
def test_prediction_bodies_valid_in_every_state(api: httpx2.Client, status_call: str) -> None:
    body = api.post("/v1/models/black-forest-labs/flux-schnell/predictions", json={"input": {"prompt": "x"}})
    check_response("POST", "/models/{model_owner}/{model_name}/predictions", body)
    url = body.json()["urls"]["get"]
    if status_call == "finished":
        wait_terminal(api, url)
    check_response("GET", "/predictions/{prediction_id}", api.get(url))


def test_spec_preprocessing_keeps_the_document_whole() -> None:
    raw = json.loads(OPENAPI.read_text())
    assert len(operations()) == sum(1 for item in raw["paths"].values() for m in item if m in METHODS)
    assert copy.deepcopy(DOC)["components"]["schemas"]["schemas_prediction_response"]["properties"]["error"][
        "type"
    ] == ["string", "null"]
