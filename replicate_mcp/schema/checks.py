"""Per-input checks compiled once per schema: the validation fast path and pydantic-lax coercion.

The fast path only ever says "certainly valid"; any doubt goes to jsonschema, which stays the authority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .extract import json_type, non_null_branch, value_types

# keywords whose meaning `FieldCheck.accepts` reproduces exactly (format is an annotation in draft 2020-12)
_FAST_KEYWORDS = {
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "default",
    "title",
    "description",
    "format",
    "readOnly",
    "writeOnly",
    "deprecated",
    "examples",
    "example",
    "$comment",
}
_SCALARS = {"string", "integer", "number", "boolean"}
_LAX: dict[str, TypeAdapter[Any]] = {
    "integer": TypeAdapter(int),
    "number": TypeAdapter(float),
    "boolean": TypeAdapter(bool),
}
# exact Python types per JSON type (type(True) is bool, so booleans never pass as numbers here)
_PY_TYPES: dict[str, set[type]] = {
    "string": {str},
    "integer": {int},
    "number": {int, float},
    "boolean": {bool},
}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return kind == "null" and value is None


@dataclass(frozen=True, slots=True)
class FieldCheck:
    name: str
    types: tuple[str, ...]  # JSON types without null; () means any
    nullable: bool
    null_means_default: bool  # a null is dropped so the model's default applies
    enum: tuple | None
    enum_types: tuple[str, ...]  # JSON types of the choices, which may differ from `types`
    minimum: float | None
    maximum: float | None
    exclusive_minimum: float | None
    exclusive_maximum: float | None
    item_types: tuple[str, ...]  # for arrays of scalars: the items' types (used for coercion only)
    fast: bool  # when accepts() says yes, jsonschema says yes
    py_types: frozenset[type]  # exact Python types of values that are surely of the right JSON type
    enum_set: frozenset | None

    @classmethod
    def compile(cls, name: str, prop: dict) -> FieldCheck:
        core = non_null_branch(prop)
        types, nullable = value_types(prop)
        items = core["items"] if isinstance(core.get("items"), dict) else {}
        default = prop.get("default")
        enum = tuple(core["enum"]) if isinstance(core.get("enum"), list) else None
        return cls(
            name=name,
            types=tuple(types),
            nullable=nullable,
            null_means_default=not (nullable and default is not None),
            enum=enum,
            enum_types=tuple(sorted({json_type(choice) for choice in enum or ()})),
            minimum=core.get("minimum"),
            maximum=core.get("maximum"),
            exclusive_minimum=core.get("exclusiveMinimum"),
            exclusive_maximum=core.get("exclusiveMaximum"),
            item_types=tuple(value_types(items)[0]),
            fast=bool(types) and set(types) <= _SCALARS and _keywords_fast(prop),
            py_types=frozenset(t for kind in types for t in _PY_TYPES.get(kind, ())),
            enum_set=_enum_set(enum, types),
        )

    def type_ok(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        return not self.types or any(_type_ok(value, kind) for kind in self.types)

    def accepts(self, value: Any) -> bool:
        """True only when the value is surely valid (exact types, enum, bounds);
        False means "ask jsonschema"."""
        if value is None:
            return self.nullable
        kind = type(value)
        if kind not in self.py_types:
            return False
        if self.enum is not None and not (
            value in self.enum_set if self.enum_set is not None else any(_same(value, a) for a in self.enum)
        ):
            return False
        if kind is str or kind is bool:
            return True
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
            or (self.exclusive_maximum is not None and value >= self.exclusive_maximum)
        )

    def coerce(self, value: Any) -> Any:
        """The value pydantic (lax mode, as real Cog models use) would make of it; `value` itself if none.

        With choices, a listed choice wins: the value as given if it is one (whatever the declared type, as
        Replicate takes it), else what pydantic makes of it for the type of some choice (true -> "True").
        """
        coerced = self._coerce_type(value)
        if self.enum is None or self._listed(coerced):
            return coerced
        if self._listed(value):
            return value
        for kind in self.enum_types:
            candidate = _lax_string(value) if kind == "string" else _coerce_scalar(value, kind)
            if candidate is not value and self._listed(candidate):
                return candidate
        return coerced

    def _listed(self, value: Any) -> bool:
        if self.enum_set is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            return value in self.enum_set
        return any(_same(value, choice) for choice in self.enum or ())

    def _coerce_type(self, value: Any) -> Any:
        kind = type(value)
        if kind in self.py_types:
            return value
        if kind is float and value.is_integer() and "integer" in self.types and "number" not in self.types:
            return int(value)  # JSON Schema already takes 3.0 as an integer; Cog's int field gets 3
        if isinstance(value, list) and len(self.item_types) == 1:
            items = [_coerce_scalar(item, self.item_types[0]) for item in value]
            return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
        if self.type_ok(value):
            return value
        if len(self.types) == 1:
            return _coerce_scalar(value, self.types[0])
        return value


def _same(value: Any, allowed: Any) -> bool:
    return value == allowed and isinstance(value, bool) == isinstance(allowed, bool)


def _enum_set(enum: tuple | None, types: list[str]) -> frozenset | None:
    """A set for membership when set equality matches JSON Schema's (no bool/number mix-up possible)."""
    if enum is None or "boolean" in types or any(isinstance(choice, bool) for choice in enum):
        return None
    try:
        return frozenset(enum)
    except TypeError:  # unhashable values (lists, objects)
        return None


def _lax_string(value: Any) -> Any:
    """What a lax pydantic str field makes of a scalar (str(True) is "True"); `value` itself otherwise."""
    return str(value) if isinstance(value, bool | int | float) else value


def _keywords_fast(prop: dict) -> bool:
    if "anyOf" in prop:  # only the Optional idiom: anyOf [X, null] with X itself simple
        branches = [b for b in prop["anyOf"] if b != {"type": "null"}]
        rest = {k: v for k, v in prop.items() if k != "anyOf"}
        return len(branches) == 1 and _keywords_fast(branches[0]) and _keywords_fast(rest)
    return all(key in _FAST_KEYWORDS or key.startswith("x-") for key in prop)


def _coerce_scalar(value: Any, kind: str) -> Any:
    if kind not in _LAX or isinstance(value, list | dict) or value is None:
        return value
    if kind != "boolean" and isinstance(value, bool):
        return value  # JSON Schema and Replicate refuse true for a number: no silent 1
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    adapters = (
        [_LAX["integer"], _LAX["number"]] if kind == "number" and isinstance(value, str) else [_LAX[kind]]
    )
    for adapter in adapters:
        try:
            coerced = adapter.validate_python(value)
        except ValidationError:
            continue
        if isinstance(coerced, float) and not math.isfinite(coerced):
            return value
        return coerced
    return value
