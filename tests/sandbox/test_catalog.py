"""The sandbox catalog: real model objects, official vs community, collections, search, --catalog files."""

import json
from pathlib import Path

import pytest

from replicate_mcp.sandbox.catalog import load_catalog
from replicate_mcp.sandbox.predictors import GenericPredictor, HelloWorld

CATALOG = load_catalog()
OFFICIAL = {
    "black-forest-labs/flux-schnell",
    "black-forest-labs/flux-dev",
    "black-forest-labs/flux-1.1-pro",
    "meta/meta-llama-3-8b-instruct",
    "meta/meta-llama-3-70b-instruct",
}
HELLO_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


def test_every_model_loads_with_schema_example_and_predictor():
    assert {
        "replicate/hello-world",
        "black-forest-labs/flux-schnell",
        "meta/meta-llama-3-8b-instruct",
        "openai/whisper",
        "stability-ai/sdxl",
        "sandbox/text-to-video",
        "sandbox/upscaler",
        "ostris/flux-dev-lora-trainer",
    } <= set(CATALOG.models)
    for key, entry in CATALOG.models.items():
        assert entry.key == key == f"{entry.model['owner']}/{entry.model['name']}"
        assert "Input" in CATALOG.input_schema_doc(entry)["components"]["schemas"]
        assert entry.model["default_example"]["input"] is not None
        assert entry.model["is_official"] is entry.official
        assert entry.predictor is not None and entry.tags


def test_official_models_hide_versions_but_keep_latest_version():
    for key, entry in CATALOG.models.items():
        assert entry.official == (key in OFFICIAL)
        assert entry.model["latest_version"]["openapi_schema"]
        if entry.official:
            assert entry.versions == []
        else:
            assert entry.versions == [entry.model["latest_version"]]


def test_find_version():
    entry, version = CATALOG.find_version(HELLO_VERSION)
    assert entry.key == "replicate/hello-world" and version["id"] == HELLO_VERSION
    assert isinstance(entry.predictor, HelloWorld)
    flux = CATALOG.get("black-forest-labs", "flux-schnell")
    assert CATALOG.find_version(flux.model["latest_version"]["id"])[0] is flux
    assert CATALOG.find_version("0" * 64) is None


def test_streaming_and_training_flags():
    assert {k for k, e in CATALOG.models.items() if e.streams} == {
        "meta/meta-llama-3-8b-instruct",
        "meta/meta-llama-3-70b-instruct",
    }
    assert {k for k, e in CATALOG.models.items() if e.training_predictor} == {
        "ostris/flux-dev-lora-trainer",
        "stability-ai/sdxl",
    }


def test_readmes_some_present_some_missing():
    assert "hello" in CATALOG.get("replicate", "hello-world").readme
    assert CATALOG.get("black-forest-labs", "flux-dev").readme is None


def test_collections_reference_known_models():
    slugs = {c["slug"] for c in CATALOG.collections}
    assert {"text-to-image", "language-models", "speech-to-text", "official", "text-to-video"} <= slugs
    for collection in CATALOG.collections:
        assert set(collection) == {"name", "slug", "description", "full_description", "models"}
        assert collection["models"] and set(collection["models"]) <= set(CATALOG.models)
    official = next(c for c in CATALOG.collections if c["slug"] == "official")
    assert set(official["models"]) == OFFICIAL


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("whisper", "openai/whisper"),
        ("sdxl", "stability-ai/sdxl"),
        ("hello world", "replicate/hello-world"),
        ("speech to text", "openai/whisper"),
        ("video", "sandbox/text-to-video"),
    ],
)
def test_search_ranks_the_obvious_match_first(query, first):
    results = CATALOG.search(query, 10)
    assert results[0][0].key == first
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)


def test_search_limits_and_misses():
    assert {e.key for e, _ in CATALOG.search("llama", 10)} == {
        "meta/meta-llama-3-8b-instruct",
        "meta/meta-llama-3-70b-instruct",
    }
    assert len(CATALOG.search("text to image", 3)) == 3
    assert CATALOG.search("zzzqqq", 10) == [] and CATALOG.search("   ", 10) == []


def custom_model(owner: str, name: str, is_official: bool | None = None) -> dict:
    model = json.loads(json.dumps(CATALOG.get("black-forest-labs", "flux-dev").model))
    model.pop("is_official")
    model.update(owner=owner, name=name, url=f"https://replicate.com/{owner}/{name}")
    if is_official is not None:
        model["is_official"] = is_official
    return model


def test_catalog_file_with_a_list(tmp_path: Path):
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps([custom_model("acme", "painter"), custom_model("acme", "pro", is_official=True)])
    )
    catalog = load_catalog([path])
    painter, pro = catalog.get("acme", "painter"), catalog.get("acme", "pro")
    assert isinstance(painter.predictor, GenericPredictor) and not painter.official
    assert painter.versions == [painter.model["latest_version"]] and painter.readme is None
    assert pro.official and pro.versions == [] and pro.model["is_official"] is True
    assert "replicate/hello-world" in catalog.models


def test_catalog_file_with_a_page_and_override_of_a_builtin(tmp_path: Path):
    hello = json.loads(json.dumps(CATALOG.get("replicate", "hello-world").model))
    hello["description"] = "overridden"
    path = tmp_path / "page.json"
    path.write_text(
        json.dumps({"next": None, "previous": None, "results": [hello, custom_model("acme", "x")]})
    )
    catalog = load_catalog([path])
    assert catalog.get("replicate", "hello-world").model["description"] == "overridden"
    assert isinstance(catalog.get("replicate", "hello-world").predictor, HelloWorld)
    assert catalog.get("acme", "x") is not None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"results": 3}', "expected a JSON list"),
        ('[{"owner": "acme"}]', "model #0 has no valid 'name'"),
        (
            '[{"owner": "acme", "name": "m", "latest_version": {"id": "abc"}}]',
            "(acme/m) has no latest_version.openapi_schema",
        ),
        ('[{"owner": "acme", "name": "m"}]', "has no latest_version with an id"),
        (
            '[{"owner": "acme", "name": "m", "latest_version": {"id": "abc", '
            '"openapi_schema": {"components": {"schemas": {"Input": {"properties": {"size": '
            '{"allOf": [{"$ref": "#/components/schemas/size"}]}}}}}}}}]',
            "unresolvable $ref",
        ),
    ],
)
def test_bad_catalog_files_name_the_file_and_problem(tmp_path: Path, content: str, problem: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError) as raised:
        load_catalog([path])
    assert str(path) in str(raised.value) and problem in str(raised.value)


def test_missing_catalog_file(tmp_path: Path):
    with pytest.raises(ValueError, match="cannot read"):
        load_catalog([tmp_path / "nope.json"])
