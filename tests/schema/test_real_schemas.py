"""All 15 real schemas: real default examples pass, programmatically seeded faults are each caught."""

from __future__ import annotations

import dataclasses
import random

import pytest

from replicate_mcp.schema import ModelSchema, validate_input
from replicate_mcp.schema.suggest import clamp

from .conftest import SCHEMA_NAMES, model_doc, raw_doc, raw_properties

FAULT_KINDS = ["out_of_range", "not_in_enum", "wrong_type", "missing_required", "unknown_name"]
WRONG_VALUE = {"string": 12345, "integer": "twelve", "number": "twelve", "boolean": "maybe"}


def test_every_real_schema_is_here():
    assert len(SCHEMA_NAMES) == 15


def test_the_pairing_of_schema_and_model_files(schema_name):
    model = model_doc(schema_name)
    if model is None:
        pytest.skip("no model object was published for this schema")
    inputs = model["latest_version"]["openapi_schema"]["components"]["schemas"]["Input"]
    assert inputs == raw_doc(schema_name)["components"]["schemas"]["Input"]


def test_default_example_is_accepted(schema_name, schema):
    model = model_doc(schema_name)
    if model is None:
        pytest.skip("no model object (so no default_example) for this schema")
    example = model["default_example"]
    result = validate_input(schema, example["input"])
    known = raw_properties(raw_doc(schema_name))
    stale = {name for name in example["input"] if name not in known}
    if example["version"] == model["latest_version"]["id"]:
        assert result.valid, result.message()
        assert not stale
    else:
        # made with an older version: inputs since removed are refused (Replicate refuses them too:
        # additional_property_not_allowed); everything the current version still has is accepted
        assert {issue.field for issue in result.errors} == stale
        assert all(issue.message.startswith("unknown input") for issue in result.errors)
        current = {k: v for k, v in example["input"].items() if k not in stale}
        assert validate_input(schema, current).valid
    assert result.coercions == []


def valid_input(schema_name: str, schema: ModelSchema) -> dict:
    model = model_doc(schema_name)
    known = raw_properties(raw_doc(schema_name))
    base = {k: v for k, v in (model["default_example"]["input"] if model else {}).items() if k in known}
    for name in schema.required:
        base.setdefault(name, "https://example.com/in.wav" if known[name].get("format") == "uri" else "hello")
    assert validate_input(schema, base).valid
    return base


def fault_cases(kind: str, props: dict[str, dict], required: list[str]) -> list[tuple[str, object]]:
    """(field, bad value) pairs for one fault kind, read from the raw schema; [] when the schema has none."""
    cases = []
    for name, prop in props.items():
        if kind == "out_of_range" and "enum" not in prop and ("maximum" in prop or "minimum" in prop):
            cases.append((name, prop["maximum"] + 1 if "maximum" in prop else prop["minimum"] - 1))
        elif kind == "not_in_enum" and "enum" in prop:
            cases.append((name, "no-such-choice" if prop["type"] == "string" else max(prop["enum"]) + 7))
        elif kind == "wrong_type":
            cases.append((name, WRONG_VALUE[prop["type"]]))
        elif kind == "missing_required" and name in required:
            cases.append((name, None))
        elif kind == "unknown_name":  # a typo: one letter dropped; the bad "value" is the name meant
            cases.append((name[: len(name) // 2] + name[len(name) // 2 + 1 :], name))
    return cases


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_seeded_faults_are_each_caught(schema_name, schema, kind):
    doc = raw_doc(schema_name)
    props, required = raw_properties(doc), doc["components"]["schemas"]["Input"].get("required", [])
    cases = fault_cases(kind, props, required)
    if not cases:
        lacks = {
            "out_of_range": not any("minimum" in p or "maximum" in p for p in props.values()),
            "not_in_enum": not any("enum" in p for p in props.values()),
            "missing_required": not required,
        }
        assert lacks[kind], f"{kind} skipped although the schema has what it needs"
        pytest.skip(f"{schema_name} has no input for {kind}")
    base = valid_input(schema_name, schema)
    for field, bad in cases:
        data = dict(base)
        if kind == "missing_required":
            data.pop(field)
        else:
            data[field] = bad
        result = validate_input(schema, data)
        assert not result.valid, (kind, field, bad)
        assert [issue.field for issue in result.errors] == [field], result.message()
        issue = result.errors[0]
        assert f"`{field}`" in issue.message and "\n" not in issue.message
        _check_issue(kind, issue, props, field, bad)
        assert schema.validator.is_valid(result.normalized) is False  # jsonschema agrees


def _check_issue(kind, issue, props, field, bad):
    prop = props.get(field, {})
    if kind == "out_of_range":
        integer = prop["type"] == "integer"
        assert issue.suggestion == clamp(bad, prop.get("minimum"), prop.get("maximum"), integer)
        assert f"use {issue.suggestion}" in issue.message
    elif kind == "not_in_enum":
        assert issue.allowed == prop["enum"]
        assert "allowed: " + ", ".join(str(v) for v in prop["enum"][:40]) in issue.message
    elif kind == "wrong_type":
        assert "expected " in issue.message
    elif kind == "missing_required":
        assert issue.message.startswith(f"`{field}` is required: ")
    elif kind == "unknown_name":
        assert issue.message == f"unknown input `{field}`; did you mean `{bad}`?"
        assert issue.suggestion == bad


def test_all_faults_at_once_one_line_per_field(schema_name, schema):
    doc = raw_doc(schema_name)
    props, required = raw_properties(doc), doc["components"]["schemas"]["Input"].get("required", [])
    data, expected, used = dict(valid_input(schema_name, schema)), set(), set()
    for kind in FAULT_KINDS:
        for field, bad in fault_cases(kind, props, required):
            if field in used:
                continue
            used.add(field)
            if kind == "missing_required":
                data.pop(field)
            else:
                data[field] = bad
            expected.add(field)
            break
    result = validate_input(schema, data)
    fields = [issue.field for issue in result.errors]
    assert sorted(fields) == sorted(expected)
    assert len(result.message().splitlines()) == len(fields) == len(set(fields))


def test_fast_path_never_disagrees_with_jsonschema(schema_name, schema):
    doc = raw_doc(schema_name)
    props, required = raw_properties(doc), doc["components"]["schemas"]["Input"].get("required", [])
    base = valid_input(schema_name, schema)
    inputs = [base, {**base, **{k: None for k in props if k not in required}}]
    for kind in FAULT_KINDS:
        inputs += [{**base, field: bad} for field, bad in fault_cases(kind, props, required)]
    slow = dataclasses.replace(schema, fast_path=False)
    for data in inputs:
        fast_result, slow_result = validate_input(schema, data), validate_input(slow, data)
        assert fast_result == slow_result
        assert fast_result.valid == schema.validator.is_valid(fast_result.normalized)


POOL = [
    None,
    0,
    1,
    -1,
    2.5,
    3.0,
    1e9,
    True,
    False,
    "",
    "1",
    "0.25",
    "16:9",
    "webp",
    "x",
    "true",
    "7",
    [],
    {},
    ["a"],
]


def test_fast_path_agrees_on_random_inputs(schema_name, schema):
    rng = random.Random(schema_name)
    names = [f.name for f in schema.fields] + ["not_an_input"]
    slow = dataclasses.replace(schema, fast_path=False)
    for _ in range(150):
        data = {name: rng.choice(POOL) for name in rng.sample(names, k=min(3, len(names)))}
        fast_result = validate_input(schema, data)
        assert fast_result == validate_input(slow, data), data
        assert fast_result.valid == schema.validator.is_valid(fast_result.normalized), data
