"""Choices whose JSON type differs from the declared one: Replicate (pydantic) takes a listed choice, or a
value pydantic turns into one; so do we, and the normalized input carries the listed choice."""

from __future__ import annotations

import pytest

from replicate_mcp.schema import load_schema, validate_input

from .conftest import raw_doc


def cog_doc() -> dict:
    """A Cog-shaped schema (choices as allOf $ref to an enum component) with real models' mismatches."""
    return {
        "openapi": "3.0.2",
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "title": "Input",
                    "required": ["prompt"],
                    "properties": {
                        "prompt": {"type": "string", "title": "Prompt", "x-order": 0},
                        "upscale": {
                            "allOf": [{"$ref": "#/components/schemas/upscale"}],
                            "default": "False",
                            "x-order": 1,
                            "description": "Upscale the result",
                        },
                        "num_outputs": {"type": "integer", "enum": ["1", "2"], "default": "1", "x-order": 2},
                        "steps": {
                            "allOf": [{"$ref": "#/components/schemas/steps"}],
                            "default": 4,
                            "x-order": 3,
                        },
                        "strength": {
                            "anyOf": [{"type": "string", "enum": ["0.5", "1"]}, {"type": "null"}],
                            "x-order": 4,
                        },
                    },
                },
                "upscale": {"type": "string", "title": "upscale", "enum": ["True", "False"]},
                "steps": {"type": "integer", "title": "steps", "enum": [1, 2, 4, 8]},
                "Output": {"type": "string"},
            }
        },
    }


@pytest.fixture(scope="module")
def schema():
    return load_schema(cog_doc())


@pytest.mark.parametrize(("value", "choice"), [(True, "True"), (False, "False")])
def test_a_boolean_for_string_choices_true_false_is_taken_as_that_choice(schema, value, choice):
    result = validate_input(schema, {"prompt": "x", "upscale": value})
    assert result.valid and result.errors == []
    assert result.normalized == {"prompt": "x", "upscale": choice}
    assert result.coercions == [f"upscale: {str(value).lower()} (boolean) → '{choice}' (string)"]


def test_a_listed_string_choice_for_an_integer_field_is_sent_as_it_is(schema):
    result = validate_input(schema, {"prompt": "x", "num_outputs": "1"})
    assert result.valid and result.errors == []
    assert result.normalized == {"prompt": "x", "num_outputs": "1"}
    assert result.coercions == []


def test_an_integer_for_an_integer_field_with_string_choices_becomes_the_choice(schema):
    result = validate_input(schema, {"prompt": "x", "num_outputs": 2})
    assert result.valid
    assert result.normalized == {"prompt": "x", "num_outputs": "2"}
    assert result.coercions == ["num_outputs: 2 (integer) → '2' (string)"]


def test_an_unlisted_value_is_still_refused_with_the_choices(schema):
    result = validate_input(schema, {"prompt": "x", "num_outputs": "3", "upscale": "yes"})
    assert not result.valid
    assert [issue.field for issue in result.errors] == ["upscale", "num_outputs"]
    assert result.errors[0].allowed == ["True", "False"]
    assert result.errors[1].allowed == ["1", "2"]


def test_lowercase_true_is_not_the_choice_True(schema):
    """pydantic makes "True" of true; "true" is another string and not a listed choice."""
    result = validate_input(schema, {"prompt": "x", "upscale": "true"})
    assert not result.valid and result.errors[0].field == "upscale"


def test_numeric_strings_for_integer_choices_still_become_integers(schema):
    result = validate_input(schema, {"prompt": "x", "steps": "8"})
    assert result.valid
    assert result.normalized == {"prompt": "x", "steps": 8}
    assert result.coercions == ["steps: '8' (string) → 8 (integer)"]
    assert not validate_input(schema, {"prompt": "x", "steps": True}).valid  # no silent 1 from a boolean


def test_optional_choices_accept_a_number_that_pydantic_makes_a_choice(schema):
    result = validate_input(schema, {"prompt": "x", "strength": 0.5})
    assert result.valid
    assert result.normalized == {"prompt": "x", "strength": "0.5"}
    assert result.coercions == ["strength: 0.5 (number) → '0.5' (string)"]
    assert validate_input(schema, {"prompt": "x", "strength": None}).normalized == {"prompt": "x"}
    assert not validate_input(schema, {"prompt": "x", "strength": 0.25}).valid


@pytest.mark.parametrize(("value", "choice"), [(1, "1"), (0.25, "0.25")])
def test_flux_dev_megapixels_as_a_number(value, choice):
    """flux-dev's megapixels is a string choice of "1" or "0.25"; agents send numbers."""
    schema = load_schema(raw_doc("black-forest-labs__flux-dev"))
    result = validate_input(schema, {"prompt": "a cat", "megapixels": value})
    assert result.valid
    assert result.normalized == {"prompt": "a cat", "megapixels": choice}
    assert result.coercions == [
        f"megapixels: {value} ({'integer' if value == 1 else 'number'}) → '{choice}' (string)"
    ]
    assert not validate_input(schema, {"prompt": "a cat", "megapixels": 1.0}).valid  # pydantic makes "1.0"
