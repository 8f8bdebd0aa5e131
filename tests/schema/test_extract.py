"""Extraction: refs resolved, OpenAPI 3.0 and 3.1 idioms, files, secrets, order, output kinds, caching."""

from __future__ import annotations

import json

import pytest

from replicate_mcp.schema import load_schema, model, validate_input

from .conftest import model_doc, raw_doc


def doc(properties: dict, *, required=(), output=None, openapi="3.0.2", **components) -> dict:
    schemas = {
        "Input": {"type": "object", "title": "Input", "properties": properties, "required": list(required)},
        **components,
    }
    if output is not None:
        schemas["Output"] = output
    return {
        "openapi": openapi,
        "info": {"title": "Cog", "version": "0.1.0"},
        "components": {"schemas": schemas},
    }


def test_refs_are_resolved_everywhere(schema_name, schema):
    assert "$ref" not in json.dumps(schema.input_schema)
    assert "$ref" not in json.dumps(schema.output_schema)
    assert schema.input_schema["additionalProperties"] is False


def test_enum_refs_wrapped_in_allof_become_plain_fields(flux_dev):
    prop = flux_dev.input_schema["properties"]["aspect_ratio"]
    assert prop["enum"][:3] == ["1:1", "16:9", "21:9"] and prop["type"] == "string"
    assert prop["default"] == "1:1" and prop["description"] == "Aspect ratio for the generated image"
    field = flux_dev.get_field("aspect_ratio")
    assert field.enum == prop["enum"] and field.type == "string" and field.default == "1:1"


def test_nested_refs_are_resolved():
    d = doc(
        {"mode": {"allOf": [{"$ref": "#/components/schemas/Mode"}], "default": "a"}},
        Mode={"allOf": [{"$ref": "#/components/schemas/Letters"}]},
        Letters={"enum": ["a", "b"], "type": "string", "title": "Letters"},
    )
    schema = load_schema(d)
    assert schema.get_field("mode").enum == ["a", "b"]
    assert validate_input(schema, {"mode": "c"}).errors[0].allowed == ["a", "b"]


def test_recursive_ref_does_not_loop():
    d = doc(
        {"tree": {"$ref": "#/components/schemas/Node"}},
        Node={"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"}}},
    )
    schema = load_schema(d)
    assert validate_input(schema, {"tree": {"child": {"child": {}}}}).valid


def test_openapi_30_nullable_and_boolean_exclusive_bounds():
    d = doc(
        {
            "steps": {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True},
            "mode": {"allOf": [{"$ref": "#/components/schemas/Mode"}], "nullable": True},
        },
        Mode={"enum": ["x", "y"], "type": "string"},
    )
    schema = load_schema(d)
    assert schema.input_schema["properties"]["steps"] == {"type": ["integer", "null"], "exclusiveMinimum": 0}
    assert schema.input_schema["properties"]["mode"] == {"enum": ["x", "y", None], "type": ["string", "null"]}
    steps = schema.get_field("steps")
    assert (steps.type, steps.nullable, steps.minimum) == ("integer", True, 0)
    assert schema.get_field("mode").enum == ["x", "y"]
    result = validate_input(schema, {"steps": 0})
    assert result.message() == "`steps`: 0 is not greater than 0; allowed: >0"
    assert validate_input(schema, {"steps": None, "mode": None}).normalized == {}


def test_openapi_31_nullable_idioms():
    d = doc(
        {
            "seed": {"anyOf": [{"type": "integer", "maximum": 9}, {"type": "null"}], "x-order": 1},
            "name": {"type": ["string", "null"], "default": "x", "x-order": 0},
        },
        openapi="3.1.0",
    )
    schema = load_schema(d)
    seed = schema.get_field("seed")
    assert (seed.type, seed.nullable, seed.maximum) == ("integer", True, 9)
    assert [f.name for f in schema.fields] == ["name", "seed"]
    assert validate_input(schema, {"seed": None}).normalized == {}
    assert validate_input(schema, {"seed": "7"}).normalized == {"seed": 7}
    assert (
        validate_input(schema, {"seed": 10}).message()
        == "`seed`: 10 is above the maximum 9; allowed: <=9; use 9"
    )
    assert validate_input(schema, {"seed": "x"}).message() == "`seed`: expected integer <=9, got 'x' (string)"
    # a nullable input whose default is not null: null is a real value there, kept and sent
    assert validate_input(schema, {"name": None}).normalized == {"name": None}


def test_file_inputs_single_and_arrays():
    d = doc(
        {
            "image": {"type": "string", "format": "uri"},
            "images": {"type": "array", "items": {"type": "string", "format": "uri"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "counts": {"type": "array", "items": {"type": "integer"}},
        }
    )
    schema = load_schema(d)
    assert schema.file_fields == {"image", "images"}
    assert [schema.get_field(n).type for n in ("image", "images", "tags", "counts")] == [
        "file",
        "file[]",
        "string[]",
        "integer[]",
    ]
    result = validate_input(schema, {"images": ["a.png", "b.png"], "counts": ["1", 2]})
    assert result.valid and result.normalized["counts"] == [1, 2]
    assert result.coercions == ['counts: ["1", 2] (array) → [1, 2] (array)']
    issue = validate_input(schema, {"images": "a.png"}).errors[0]
    assert (
        issue.message == "`images`: expected array of file, got 'a.png' (string); did you mean [\"a.png\"]?"
    )
    assert issue.suggestion == ["a.png"]


def test_secrets_from_the_real_trainer():
    trainer = load_schema(raw_doc("ostris__flux-dev-lora-trainer"))
    assert trainer.secret_fields == frozenset()
    assert trainer.training.secret_fields == {"hf_token", "wandb_api_key"}
    assert trainer.training.file_fields == {"input_images"}
    assert trainer.training_input_schema["properties"]["hf_token"]["x-cog-secret"] is True
    assert trainer.training.output_kind == "object"
    assert trainer.file_fields == {"image", "mask"}


def test_training_input_only_when_present(flux_dev):
    assert flux_dev.training is None and flux_dev.training_input_schema is None
    sdxl = load_schema(raw_doc("stability-ai__sdxl"))
    assert sdxl.training.required == ["input_images"]
    assert sdxl.training.get_field("lr_scheduler").enum == ["constant", "linear"]


def test_fields_required_first_then_x_order(flux_dev):
    assert [f.name for f in flux_dev.fields] == [
        "prompt",
        "aspect_ratio",
        "image",
        "prompt_strength",
        "num_outputs",
        "num_inference_steps",
        "guidance",
        "seed",
        "output_format",
        "output_quality",
        "disable_safety_checker",
        "go_fast",
        "megapixels",
    ]
    assert flux_dev.required == ["prompt"]
    num = flux_dev.get_field("num_outputs")
    assert (num.type, num.minimum, num.maximum, num.default, num.has_default) == ("integer", 1, 4, 1, True)
    seed = flux_dev.get_field("seed")
    assert (seed.default, seed.has_default) == (None, False)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("black-forest-labs__flux-dev", "files"),
        ("black-forest-labs__flux-1.1-pro", "file"),
        ("meta__meta-llama-3-8b-instruct", "text_stream"),
        ("meta__llama-2-70b-chat.full-with-paths.02e509c7", "text_stream"),
        ("openai__whisper", "object"),
        ("replicate__hello-world", "text"),
    ],
)
def test_output_kind_of_real_schemas(name, kind):
    assert load_schema(raw_doc(name)).output_kind == kind


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ({"type": "string", "format": "uri"}, "file"),
        ({"type": "array", "items": {"type": "string", "format": "uri"}}, "files"),
        ({"type": "string"}, "text"),
        (
            {
                "type": "array",
                "items": {"type": "string"},
                "x-cog-array-type": "iterator",
                "x-cog-array-display": "concatenate",
            },
            "text_stream",
        ),
        (
            {"type": "array", "items": {"type": "string", "format": "uri"}, "x-cog-array-type": "iterator"},
            "file_stream",
        ),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, "object"),
        ({"$ref": "#/components/schemas/Result"}, "object"),
        ({"type": "array", "items": {"type": "number"}}, "json"),
        ({"type": "integer"}, "json"),
        ({}, "json"),
    ],
)
def test_output_kinds(output, kind):
    d = doc({}, output=output, Result={"type": "object", "properties": {"x": {"type": "integer"}}})
    assert load_schema(d).output_kind == kind


def test_no_output_schema():
    schema = load_schema(doc({"a": {"type": "string"}}))
    assert schema.output_schema == {} and schema.output_kind == "json"


def test_version_and_model_objects_are_accepted_too():
    m = model_doc("black-forest-labs__flux-dev")
    from_model = load_schema(m)
    from_version = load_schema(m["latest_version"])
    from_schema = load_schema(raw_doc("black-forest-labs__flux-dev"))
    assert from_model.input_schema == from_version.input_schema == from_schema.input_schema


def test_cached_by_version_id_and_bounded(monkeypatch):
    model.clear_cache()
    d = raw_doc("replicate__hello-world")
    assert load_schema(d, "v1") is load_schema(d, "v1")
    assert load_schema(d) is not load_schema(d)
    monkeypatch.setattr(model, "CACHE_SIZE", 2)
    first = load_schema(d, "v1")
    load_schema(d, "v2")
    load_schema(d, "v3")
    assert load_schema(d, "v1") is not first  # evicted, least recently used first
    model.clear_cache()


def test_schema_is_immutable(flux_dev):
    with pytest.raises(AttributeError):
        flux_dev.output_kind = "text"
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is an implementation detail
        flux_dev.fields[0].name = "x"
