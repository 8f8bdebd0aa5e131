"""jsonschema errors → one actionable line per input: what is wrong, what is allowed, the nearest fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match
from pydantic import BaseModel

from .extract import is_file_schema, json_type, non_null_branch, value_types
from .suggest import clamp, first_sentence, nearest_enum_value, nearest_name, show

if TYPE_CHECKING:
    from .model import ModelSchema

_RANK = {"type": 0, "enum": 1, "const": 1}  # keep the most telling problem when one input fails several ways
_LIST_LIMIT = 40
_FILE_HINT = "file (URL, data URI or local path)"
_UNKNOWN = "unknown input "


class ValidationIssue(BaseModel):
    field: str
    message: str
    allowed: list | str | None = None
    suggestion: Any = None


def schema_issues(schema: ModelSchema, instance: dict) -> list[ValidationIssue]:
    best: dict[str, tuple[int, ValidationIssue]] = {}
    for error in schema.validator.iter_errors(instance):
        for rank, issue in _issues(schema, error):
            if issue.field not in best or rank < best[issue.field][0]:
                best[issue.field] = (rank, issue)
    position = {f.name: i for i, f in enumerate(schema.fields)}
    issues = [
        issue for _, issue in sorted(best.values(), key=lambda r: position.get(r[1].field.split("[")[0], 1e9))
    ]
    return _list_names_once(issues)


def _list_names_once(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """Several unknown inputs name the allowed inputs once, on the first, not once each."""
    allowed_shown = listed = False
    for issue in issues:
        if not issue.message.startswith(_UNKNOWN):
            continue
        if allowed_shown:
            issue.allowed = None
        allowed_shown = True
        if issue.suggestion is None:
            if listed:
                issue.message = issue.message.split("; inputs are:")[0] + "; the inputs are listed above"
            listed = True
    return issues


def unknown_input(name: str, known: list[str]) -> ValidationIssue:
    guess = nearest_name(name, known)
    hint = f"did you mean `{guess}`?" if guess else f"inputs are: {', '.join(known) or '(none)'}"
    return ValidationIssue(field=name, message=f"{_UNKNOWN}`{name}`; {hint}", allowed=known, suggestion=guess)


def _issues(schema: ModelSchema, error: SchemaError) -> list[tuple[int, ValidationIssue]]:
    kind, instance = _kind(error), cast(Any, error.instance)
    if kind == "required" and not error.path:
        return [
            (0, _missing(schema, name)) for name in cast(list, error.validator_value) if name not in instance
        ]
    if kind == "additionalProperties" and not error.path:
        known = [f.name for f in schema.fields]
        return [(0, unknown_input(name, known)) for name in instance if name not in known]
    if kind in ("anyOf", "oneOf") and error.context:
        real = [e for e in error.context if e.schema != {"type": "null"}]
        error = best_match(real or error.context)
    return [(_RANK.get(_kind(error), 2), _value_issue(_field_name(error), error))]


def _kind(error: SchemaError) -> str:
    """The keyword that failed. jsonschema sets it, the instance, the value and the subschema on
    every error it yields; its stubs also allow the unset defaults of an error built by hand,
    hence the casts in this module."""
    return cast(str, error.validator)


def _missing(schema: ModelSchema, name: str) -> ValidationIssue:
    field = schema.get_field(name)
    prop = schema.input_schema["properties"].get(name, {})
    about = first_sentence(field.description if field else "")
    return ValidationIssue(
        field=name,
        message=f"`{name}` is required: {_expected(prop)}" + (f" — {about}" if about else ""),
        allowed=_expected(prop),
    )


def _value_issue(field: str, error: SchemaError) -> ValidationIssue:
    value, sub = cast(Any, error.instance), non_null_branch(cast(dict, error.schema))
    kind = _kind(error)
    if kind == "type":
        suggestion = _type_fix(value, sub)
        fix = f"; did you mean {show(suggestion)}?" if suggestion is not None else ""
        message = f"`{field}`: expected {_expected(sub)}, got {show(value)} ({json_type(value)}){fix}"
        return ValidationIssue(
            field=field, message=message, allowed=sub.get("enum") or _expected(sub), suggestion=suggestion
        )
    if kind == "enum":
        allowed = [a for a in cast(list, error.validator_value) if a is not None]
        suggestion = nearest_enum_value(value, allowed)
        fix = f" did you mean {show(suggestion)}?" if suggestion is not None else ""
        message = f"`{field}`: {show(value)} is not allowed;{fix} allowed: {_listing(allowed)}"
        return ValidationIssue(field=field, message=message, allowed=allowed, suggestion=suggestion)
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return _range_issue(field, value, sub, kind)
    return ValidationIssue(field=field, message=f"`{field}`: {_cut(error.message)}")


def _range_issue(field: str, value: Any, sub: dict, kind: str) -> ValidationIssue:
    bound = _num(sub[kind])
    where = {
        "minimum": f"below the minimum {bound}",
        "maximum": f"above the maximum {bound}",
        "exclusiveMinimum": f"not greater than {bound}",
        "exclusiveMaximum": f"not less than {bound}",
    }[kind]
    allowed = _range(sub)
    suggestion = None
    if kind in ("minimum", "maximum"):
        suggestion = clamp(value, sub.get("minimum"), sub.get("maximum"), "integer" in value_types(sub)[0])
    fix = f"; use {show(suggestion)}" if suggestion is not None else ""
    message = f"`{field}`: {show(value)} is {where}; allowed: {allowed}{fix}"
    return ValidationIssue(field=field, message=message, allowed=allowed, suggestion=suggestion)


def _type_fix(value: Any, sub: dict) -> Any:
    types, _ = value_types(sub)
    if sub.get("enum"):
        return nearest_enum_value(value, [a for a in sub["enum"] if a is not None])
    if types == ["string"] and isinstance(value, int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if types == ["integer"] and isinstance(value, float) and not isinstance(value, bool):
        return clamp(round(value), sub.get("minimum"), sub.get("maximum"), True)
    if types == ["array"] and not isinstance(value, list | dict) and value is not None:
        return [value]
    return None


def _expected(prop: dict) -> str:
    prop = non_null_branch(prop)
    types, _ = value_types(prop)
    if prop.get("enum"):
        return f"one of {_listing([v for v in prop['enum'] if v is not None], quoted=True)}"
    if types == ["string"] and is_file_schema(prop):
        return _FILE_HINT
    if types == ["array"] and isinstance(prop.get("items"), dict):
        item = (
            "file" if is_file_schema(prop["items"]) else " or ".join(value_types(prop["items"])[0]) or "any"
        )
        return f"array of {item}"
    text = " or ".join(types) or "any value"
    bounds = _range(prop)
    return f"{text} {bounds}" if bounds else text


def _range(prop: dict) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        return f"{_num(low)}..{_num(high)}"
    parts = [f">={_num(low)}" if low is not None else "", f"<={_num(high)}" if high is not None else ""]
    if prop.get("exclusiveMinimum") is not None:
        parts.append(f">{_num(prop['exclusiveMinimum'])}")
    if prop.get("exclusiveMaximum") is not None:
        parts.append(f"<{_num(prop['exclusiveMaximum'])}")
    return " ".join(p for p in parts if p)


def _listing(values: list, quoted: bool = False) -> str:
    shown = ", ".join(show(v) if quoted else str(v) for v in values[:_LIST_LIMIT])
    return shown + (f", … ({len(values)} in all)" if len(values) > _LIST_LIMIT else "")


def _field_name(error: SchemaError) -> str:
    path = list(error.absolute_path)
    if not path:
        return "input"
    return str(path[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
