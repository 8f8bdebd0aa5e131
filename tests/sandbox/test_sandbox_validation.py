"""The sandbox's own validator answers like Replicate's 422 `invalid_fields`."""

import pytest

from replicate_mcp.sandbox.catalog import load_catalog
from replicate_mcp.sandbox.validation import validate_input

CATALOG = load_catalog()


def schema_of(key: str) -> dict:
    owner, name = key.split("/")
    return CATALOG.input_schema_doc(CATALOG.get(owner, name))


FLUX = schema_of("black-forest-labs/flux-schnell")


@pytest.mark.parametrize("key", sorted(CATALOG.models))
def test_every_default_example_validates(key):
    example = CATALOG.models[key].model.get("default_example")
    assert example, f"{key} has no default_example"
    normalized, errors = validate_input(schema_of(key), example["input"])
    assert errors == []
    assert set(example["input"]) <= set(normalized)


def test_missing_required_field():
    _, errors = validate_input(FLUX, {})
    assert errors == [{"type": "required", "field": "input", "description": "prompt is required"}]


def test_enum_through_allof_ref():
    _, errors = validate_input(FLUX, {"prompt": "x", "aspect_ratio": "2:1"})
    assert [(e["type"], e["field"]) for e in errors] == [("enum", "input.aspect_ratio")]
    assert errors[0]["description"].startswith('Must be one of the following: "1:1", "16:9", "21:9"')


def test_number_bounds():
    _, errors = validate_input(FLUX, {"prompt": "x", "num_inference_steps": 5, "num_outputs": 0})
    assert {
        "type": "number_lte",
        "field": "input.num_inference_steps",
        "description": "Must be less than or equal to 4",
    } in errors
    assert {
        "type": "number_gte",
        "field": "input.num_outputs",
        "description": "Must be greater than or equal to 1",
    } in errors


def test_wrong_type():
    _, errors = validate_input(FLUX, {"prompt": "x", "num_outputs": "two"})
    assert errors == [
        {
            "type": "invalid_type",
            "field": "input.num_outputs",
            "description": "Invalid type. Expected: integer, given: string",
        }
    ]
    _, errors = validate_input(FLUX, {"prompt": 42})
    assert errors[0]["description"] == "Invalid type. Expected: string, given: integer"
    _, errors = validate_input(FLUX, {"prompt": "x", "num_outputs": 2.5})
    assert errors[0]["description"] == "Invalid type. Expected: integer, given: number"


def test_unknown_property():
    _, errors = validate_input(FLUX, {"prompt": "x", "num_ouputs": 2})
    assert errors == [
        {
            "type": "additional_property_not_allowed",
            "field": "input",
            "description": "Additional property num_ouputs is not allowed",
        }
    ]


def test_errors_are_all_reported_required_first():
    _, errors = validate_input(FLUX, {"num_ouputs": 2, "num_inference_steps": 9})
    assert [e["type"] for e in errors] == ["required", "additional_property_not_allowed", "number_lte"]


def test_lax_coercion_like_pydantic():
    normalized, errors = validate_input(
        FLUX, {"prompt": "x", "num_outputs": "2", "go_fast": "false", "num_inference_steps": 3.0}
    )
    assert errors == []
    assert (
        normalized["num_outputs"] == 2
        and normalized["go_fast"] is False
        and normalized["num_inference_steps"] == 3
    )
    flux_dev = schema_of("black-forest-labs/flux-dev")
    normalized, errors = validate_input(flux_dev, {"prompt": "x", "guidance": 3, "prompt_strength": "0.5"})
    assert errors == [] and normalized["guidance"] == 3.0 and normalized["prompt_strength"] == 0.5
    _, errors = validate_input(FLUX, {"prompt": "x", "go_fast": "maybe"})
    assert errors[0]["type"] == "invalid_type"


def test_defaults_applied_and_null_means_default():
    normalized, errors = validate_input(FLUX, {"prompt": "x", "num_outputs": None, "seed": None})
    assert errors == []
    assert normalized["num_outputs"] == 1 and normalized["aspect_ratio"] == "1:1"
    assert normalized["output_format"] == "webp" and "seed" not in normalized


def test_integer_enum_coerces_numeric_string():
    sd = schema_of("stability-ai/stable-diffusion")
    normalized, errors = validate_input(sd, {"width": "512"})
    assert errors == [] and normalized["width"] == 512
    _, errors = validate_input(sd, {"width": 500})
    assert errors[0]["type"] == "enum" and errors[0]["field"] == "input.width"


@pytest.mark.parametrize("audio", ["https://example.com/speech.wav", "data:audio/wav;base64,UklGRg=="])
def test_file_inputs_accept_urls_and_data_uris(audio):
    normalized, errors = validate_input(schema_of("openai/whisper"), {"audio": audio})
    assert errors == [] and normalized["audio"] == audio


def test_file_input_must_be_a_uri():
    _, errors = validate_input(schema_of("openai/whisper"), {"audio": "my recording.wav"})
    assert errors == [
        {"type": "format", "field": "input.audio", "description": "Does not match format 'uri'"}
    ]


def test_training_input_schema():
    trainer = schema_of("ostris/flux-dev-lora-trainer")
    normalized, errors = validate_input(
        trainer, {"input_images": "https://example.com/a.zip", "steps": "500"}, schema_name="TrainingInput"
    )
    assert errors == [] and normalized["steps"] == 500
    _, errors = validate_input(trainer, {"steps": 2}, schema_name="TrainingInput")
    assert errors[0]["description"] == "Must be greater than or equal to 3"


def test_input_must_be_an_object():
    _, errors = validate_input(FLUX, "a cat")
    assert errors == [
        {
            "type": "invalid_type",
            "field": "input",
            "description": "Invalid type. Expected: object, given: string",
        }
    ]


def test_unknown_schema_name():
    with pytest.raises(ValueError):
        validate_input(FLUX, {}, schema_name="TrainingInput")
