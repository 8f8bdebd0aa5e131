"""Tool schemas as small as they can be without losing meaning: every character is paid for on every turn."""

from __future__ import annotations

from typing import Any

from replicate_mcp.schema.extract import non_null_branch

DROP_KEYS = {"title"}


def compact_schema(schema: Any) -> Any:
    """Drop titles, turn `anyOf: [X, null]` into X, drop `default: null`."""
    if isinstance(schema, list):
        return [compact_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in DROP_KEYS and not isinstance(value, dict):
            continue
        if key == "default" and value is None:
            continue
        if key == "properties":
            out[key] = {name: compact_schema(prop) for name, prop in value.items()}
        else:
            out[key] = compact_schema(value)
    return non_null_branch(out)
