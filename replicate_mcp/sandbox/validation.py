"""The sandbox's own input validator, shaped like Replicate's 422 `invalid_fields`.

Cog models validate with pydantic (lax coercion: "4" -> 4, "true" -> True, 3 -> 3.0); Replicate's API reports
problems as `{type, field, description}` entries. This module imitates both, independently of the rest of
replicate_mcp.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S")
_MISSING = object()


class _Invalid(Exception):
    def __init__(self, kind: str, description: str):
        super().__init__(description)
        self.kind = kind
        self.description = description


def resolve(schema: dict, components: dict) -> dict:
    """Merge `$ref` and `allOf` targets into one flat property schema (own keys win)."""
    merged: dict = {}
    if "$ref" in schema:
        merged.update(resolve(_lookup(schema["$ref"], components), components))
    for part in schema.get("allOf", []):
        merged.update(resolve(part, components))
    merged.update({k: v for k, v in schema.items() if k not in ("$ref", "allOf")})
    return merged


def _lookup(ref: str, components: dict) -> dict:
    name = ref.rsplit("/", 1)[-1]
    if name not in components:
        raise ValueError(f"unresolvable $ref {ref}")
    return components[name]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _wrong_type(expected: str, value: Any) -> _Invalid:
    return _Invalid("invalid_type", f"Invalid type. Expected: {expected}, given: {_json_type(value)}")


def _to_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _coerce(value: Any, schema: dict) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        number = _to_number(value)
        if number is None or float(number) != int(number):
            raise _wrong_type("integer", value)
        return int(number)
    if kind == "number":
        number = _to_number(value)
        if number is None:
            raise _wrong_type("number", value)
        return float(number)
    if kind == "boolean":
        return _to_bool(value)
    if kind == "string":
        return _to_string(value, schema)
    if kind == "array":
        if not isinstance(value, list):
            raise _wrong_type("array", value)
        return [_coerce(item, schema.get("items") or {}) for item in value]
    if kind == "object" and not isinstance(value, dict):
        raise _wrong_type("object", value)
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _wrong_type("boolean", value)


def _to_string(value: Any, schema: dict) -> str:
    if not isinstance(value, str):
        raise _wrong_type("string", value)
    if schema.get("format") == "uri" and not _URI.match(value):
        raise _Invalid("format", "Does not match format 'uri'")
    return value


def _check_constraints(value: Any, schema: dict) -> None:
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(option) for option in schema["enum"])
        raise _Invalid("enum", f"Must be one of the following: {allowed}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in schema and value > schema["maximum"]:
            raise _Invalid("number_lte", f"Must be less than or equal to {_fmt(schema['maximum'])}")
        if "minimum" in schema and value < schema["minimum"]:
            raise _Invalid("number_gte", f"Must be greater than or equal to {_fmt(schema['minimum'])}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            raise _Invalid("number_lt", f"Must be less than {_fmt(schema['exclusiveMaximum'])}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise _Invalid("number_gt", f"Must be greater than {_fmt(schema['exclusiveMinimum'])}")


def _fmt(number: float | int) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _enum_coerce(value: Any, schema: dict) -> Any:
    """Accept 1 for an enum of "1" (or "768" for 768) when that is the only sensible reading."""
    enum = schema.get("enum")
    if not enum or value in enum:
        return value
    for option in enum:
        if str(option) == str(value):
            return option
    return value


def check_value(value: Any, schema: dict) -> Any:
    """Coerce one value and check its constraints; raises _Invalid."""
    value = _enum_coerce(value, schema)
    if "enum" not in schema or value not in schema["enum"]:
        value = _coerce(value, schema)
    _check_constraints(value, schema)
    return value


def _ordered_properties(schema: dict, components: dict) -> list[tuple[str, dict]]:
    properties = [
        (name, resolve(prop, components)) for name, prop in (schema.get("properties") or {}).items()
    ]
    return sorted(properties, key=lambda item: item[1].get("x-order", math.inf))


def validate_input(
    openapi_schema: dict, input: dict, *, schema_name: str = "Input"
) -> tuple[dict, list[dict]]:
    """Return (normalized input with defaults applied, invalid_fields like Replicate's 422 body)."""
    components = (openapi_schema.get("components") or {}).get("schemas") or {}
    if schema_name not in components:
        raise ValueError(f"schema has no components.schemas.{schema_name}")
    schema = resolve(components[schema_name], components)
    if not isinstance(input, dict):
        return {}, [
            {
                "type": "invalid_type",
                "field": "input",
                "description": _wrong_type("object", input).description,
            }
        ]

    properties = _ordered_properties(schema, components)
    known = {name for name, _ in properties}
    required = list(schema.get("required") or [])
    errors: list[dict] = []
    for name in required:
        if input.get(name) is None:
            errors.append({"type": "required", "field": "input", "description": f"{name} is required"})
    for name in input:
        if name not in known and schema.get("additionalProperties") is not True:
            errors.append(
                {
                    "type": "additional_property_not_allowed",
                    "field": "input",
                    "description": f"Additional property {name} is not allowed",
                }
            )

    normalized: dict = {}
    for name, prop in properties:
        value = input.get(name, _MISSING)
        if value is _MISSING or value is None:
            if "default" in prop and prop["default"] is not None:
                normalized[name] = prop["default"]
            continue
        try:
            normalized[name] = check_value(value, prop)
        except _Invalid as problem:
            errors.append(
                {"type": problem.kind, "field": f"input.{name}", "description": problem.description}
            )
    return normalized, errors
