"""Check an input against a model version's schema the way Replicate (Cog + pydantic, lax) would."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from .extract import json_type
from .issues import ValidationIssue, schema_issues
from .model import ModelSchema
from .suggest import show


class ValidationResult(BaseModel):
    valid: bool
    errors: list[ValidationIssue]
    coercions: list[str]  # every change made to the input, e.g. "num_outputs: '2' (string) → 2 (integer)"
    normalized: dict  # what to send: coerced, nulls dropped, defaults NOT filled in (Replicate fills them)

    def message(self) -> str:
        """One line per problem, for an LLM ("" when the input is valid)."""
        return "\n".join(issue.message for issue in self.errors)


def validate_input(schema: ModelSchema, input: dict | str | None) -> ValidationResult:
    coercions: list[str] = []
    data = _as_object(input, coercions)
    if isinstance(data, ValidationIssue):
        return ValidationResult(valid=False, errors=[data], coercions=coercions, normalized={})
    normalized: dict[str, Any] = {}
    certain = schema.fast_path  # stays True only while every value is one the fast path can vouch for
    checks = schema.checks
    for name, value in data.items():
        check = checks.get(name)
        if check is None:
            normalized[name] = value
            certain = False
            continue
        if value is None and check.null_means_default:
            if name not in schema.required:
                coercions.append(f"{name}: null → omitted (the model's default applies)")
            continue
        new = check.coerce(value)
        if new is not value:
            coercions.append(f"{name}: {show(value)} ({json_type(value)}) → {show(new)} ({json_type(new)})")
        normalized[name] = new
        if certain and not (check.fast and check.accepts(new)):
            certain = False
    if certain and all(name in normalized for name in schema.required):
        return ValidationResult(valid=True, errors=[], coercions=coercions, normalized=normalized)
    errors = schema_issues(schema, normalized)  # jsonschema decides; the fast path only ever says "valid"
    return ValidationResult(valid=not errors, errors=errors, coercions=coercions, normalized=normalized)


def _as_object(input: Any, coercions: list[str]) -> dict | ValidationIssue:
    if input is None:
        return {}
    if isinstance(input, str):
        try:
            parsed = json.loads(input) if input.strip() else {}
        except json.JSONDecodeError as exc:
            return ValidationIssue(
                field="input",
                message=f"`input` is a string that is not valid JSON ({exc.msg} "
                f"at position {exc.pos}); pass an object of input names to values",
            )
        if isinstance(parsed, dict):
            coercions.append("input: JSON string → object")
            input = parsed
    if not isinstance(input, dict):
        return ValidationIssue(
            field="input",
            message=f"`input` must be an object of input names to values, "
            f"got {show(input)} ({json_type(input)})",
            allowed="object",
        )
    return input
