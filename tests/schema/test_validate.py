"""Validation like Replicate (Cog + pydantic lax): coercions reported, errors an LLM can act on."""

from __future__ import annotations

import json

from replicate_mcp.schema import ValidationResult, load_schema, validate_input

from .conftest import raw_doc

PROMPT = {"prompt": "a cat"}


def test_typical_input_is_valid_and_sent_as_is(flux_dev):
    data = {"prompt": "a cat", "aspect_ratio": "16:9", "num_outputs": 2, "guidance": 3.5, "go_fast": False}
    result = validate_input(flux_dev, data)
    assert result == ValidationResult(valid=True, errors=[], coercions=[], normalized=data)
    assert result.message() == ""


def test_defaults_are_not_filled_in(flux_dev):
    assert validate_input(flux_dev, PROMPT).normalized == PROMPT


def test_null_for_an_optional_input_means_the_default(flux_dev):
    result = validate_input(flux_dev, {**PROMPT, "seed": None, "image": None})
    assert result.valid
    assert result.normalized == PROMPT
    assert result.coercions == [
        "seed: null → omitted (the model's default applies)",
        "image: null → omitted (the model's default applies)",
    ]


def test_null_for_a_required_input_is_missing(flux_dev):
    result = validate_input(flux_dev, {"prompt": None})
    assert not result.valid
    assert result.message() == "`prompt` is required: string — Prompt for generated image"
    assert result.errors[0].allowed == "string"


def test_numeric_and_boolean_strings_are_coerced_and_reported(flux_dev):
    result = validate_input(
        flux_dev,
        {
            **PROMPT,
            "num_outputs": "2",
            "prompt_strength": "0.5",
            "guidance": "4",
            "go_fast": "false",
            "disable_safety_checker": "true",
        },
    )
    assert result.valid
    assert result.normalized == {
        **PROMPT,
        "num_outputs": 2,
        "prompt_strength": 0.5,
        "guidance": 4,
        "go_fast": False,
        "disable_safety_checker": True,
    }
    assert result.coercions == [
        "num_outputs: '2' (string) → 2 (integer)",
        "prompt_strength: '0.5' (string) → 0.5 (number)",
        "guidance: '4' (string) → 4 (integer)",
        "go_fast: 'false' (string) → false (boolean)",
        "disable_safety_checker: 'true' (string) → true (boolean)",
    ]


def test_integer_for_a_number_is_fine_and_integral_float_for_an_integer_is_coerced(flux_dev):
    result = validate_input(flux_dev, {**PROMPT, "guidance": 4, "num_inference_steps": 30.0})
    assert result.valid
    assert result.normalized == {**PROMPT, "guidance": 4, "num_inference_steps": 30}
    assert type(result.normalized["num_inference_steps"]) is int
    assert result.coercions == ["num_inference_steps: 30.0 (number) → 30 (integer)"]


def test_integer_enum_given_as_string_is_coerced():
    schema = load_schema(raw_doc("stability-ai__stable-diffusion"))
    result = validate_input(schema, {"width": "512"})
    assert result.valid and result.normalized == {"width": 512}
    assert result.coercions == ["width: '512' (string) → 512 (integer)"]


def test_input_given_as_a_json_string_is_parsed(flux_dev):
    result = validate_input(flux_dev, json.dumps({**PROMPT, "num_outputs": "3"}))
    assert result.valid
    assert result.normalized == {**PROMPT, "num_outputs": 3}
    assert result.coercions[0] == "input: JSON string → object"


def test_input_that_is_not_an_object(flux_dev):
    for bad in ("{not json", "[1, 2]", 42):
        result = validate_input(flux_dev, bad)
        assert not result.valid and result.errors[0].field == "input"
        assert "object of input names to values" in result.message()
    assert validate_input(load_schema(raw_doc("meta__meta-llama-3-8b-instruct")), None).valid


def test_what_pydantic_and_replicate_refuse_stays_refused(flux_dev):
    result = validate_input(
        flux_dev,
        {
            **PROMPT,
            "num_outputs": True,
            "go_fast": "perhaps",
            "seed": "12abc",
            "prompt_strength": "nan",
            "output_quality": 2.5,
        },
    )
    assert not result.valid
    assert result.coercions == []
    assert result.message().splitlines() == [
        "`prompt_strength`: expected number 0..1, got 'nan' (string)",
        "`num_outputs`: expected integer 1..4, got true (boolean)",
        "`seed`: expected integer, got '12abc' (string)",
        "`output_quality`: expected integer 0..100, got 2.5 (number); did you mean 2?",
        "`go_fast`: expected boolean, got 'perhaps' (string)",
    ]


def test_enum_error_names_the_nearest_value_and_every_allowed_one(flux_dev):
    result = validate_input(flux_dev, {**PROMPT, "aspect_ratio": "16x9"})
    assert result.message() == (
        "`aspect_ratio`: '16x9' is not allowed; did you mean '16:9'? "
        "allowed: 1:1, 16:9, 21:9, 3:2, 2:3, 4:5, 5:4, 3:4, 4:3, 9:16, 9:21"
    )
    issue = result.errors[0]
    assert issue.suggestion == "16:9"
    assert issue.allowed == ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]


def test_enum_suggestions_normalise_separators_and_case(flux_dev):
    sdxl = load_schema(raw_doc("stability-ai__sdxl"))
    sd = load_schema(raw_doc("stability-ai__stable-diffusion"))
    cases = [
        (flux_dev, "aspect_ratio", "16/9", "16:9"),
        (flux_dev, "aspect_ratio", "9 x 16", "9:16"),
        (flux_dev, "output_format", "PNG", "png"),
        (flux_dev, "output_format", "jpeg", "jpg"),
        (sdxl, "scheduler", "k-euler", "K_EULER"),
        (sdxl, "refine", "expert ensemble refiner", "expert_ensemble_refiner"),
        (sd, "width", 500, 512),
    ]
    for schema, field, given, expected in cases:
        data = {field: given} if schema is not flux_dev else {**PROMPT, field: given}
        issue = validate_input(schema, data).errors[0]
        assert (issue.field, issue.suggestion) == (field, expected), issue.message


def test_wrong_type_for_a_string_enum_suggests_the_string(flux_dev):
    result = validate_input(
        flux_dev, {**PROMPT, "megapixels": 0.5}
    )  # 1 would be taken as "1": test_enum_types
    assert (
        result.message()
        == "`megapixels`: expected one of '1', '0.25', got 0.5 (number); did you mean '0.25'?"
    )
    assert result.errors[0].suggestion == "0.25"


def test_out_of_range_gives_the_range_and_the_clamped_value(flux_dev):
    result = validate_input(flux_dev, {**PROMPT, "num_outputs": 8, "guidance": -2.5})
    assert result.message().splitlines() == [
        "`num_outputs`: 8 is above the maximum 4; allowed: 1..4; use 4",
        "`guidance`: -2.5 is below the minimum 0; allowed: 0..10; use 0",
    ]
    assert [(e.allowed, e.suggestion) for e in result.errors] == [("1..4", 4), ("0..10", 0)]


def test_open_ranges_are_described():
    schema = load_schema(raw_doc("meta__llama-2-70b-chat.full-with-paths.02e509c7"))
    result = validate_input(schema, {"prompt": "hi", "max_new_tokens": 0})
    assert result.message() == "`max_new_tokens`: 0 is below the minimum 1; allowed: >=1; use 1"


def test_unknown_names_suggest_the_nearest_input(flux_dev):
    result = validate_input(flux_dev, {**PROMPT, "num_ouputs": 2, "Aspect-Ratio": "1:1", "zzz": 1})
    lines = result.message().splitlines()
    assert lines[0] == "unknown input `num_ouputs`; did you mean `num_outputs`?"
    assert lines[1] == "unknown input `Aspect-Ratio`; did you mean `aspect_ratio`?"
    assert lines[2].startswith("unknown input `zzz`; inputs are: prompt, aspect_ratio, image, ")
    assert [e.suggestion for e in result.errors] == ["num_outputs", "aspect_ratio", None]


def test_missing_required_says_type_and_first_sentence():
    whisper = load_schema(raw_doc("openai__whisper"))
    result = validate_input(whisper, {"language": "en"})
    assert result.message() == "`audio` is required: file (URL, data URI or local path) — Audio file"


def test_every_problem_in_one_answer_required_first(flux_dev):
    result = validate_input(
        flux_dev, {"aspect_ratio": "wide", "num_outputs": 0, "num_ouputs": 1, "output_format": 7}
    )
    assert [e.field for e in result.errors] == [
        "prompt",
        "aspect_ratio",
        "num_outputs",
        "output_format",
        "num_ouputs",
    ]
    assert result.errors[1].suggestion is None and "allowed: 1:1, 16:9" in result.errors[1].message


def test_file_inputs_are_not_checked_as_uris_here(flux_dev):
    # local paths and data URIs are turned into URLs later (replicate_mcp.files), so they pass here
    for value in ("./cat.png", "data:image/png;base64,AAAA", "https://example.com/cat.png"):
        assert validate_input(flux_dev, {**PROMPT, "image": value}).valid


def test_training_inputs_validate_too():
    trainer = load_schema(raw_doc("ostris__flux-dev-lora-trainer"))
    result = validate_input(
        trainer.training, {"input_images": "https://x/y.zip", "steps": "500", "hf_token": None}
    )
    assert result.valid
    assert result.normalized == {"input_images": "https://x/y.zip", "steps": 500}
    assert validate_input(trainer.training, {"steps": 2}).errors[0].suggestion == 3
