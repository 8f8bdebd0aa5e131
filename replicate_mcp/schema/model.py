"""ModelSchema: what one model version takes and gives, loaded once per version id."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict

from .checks import FieldCheck
from .extract import (
    is_file_schema,
    is_secret_schema,
    json_type,
    non_null_branch,
    output_kind,
    resolved_component,
    unwrap_document,
    value_types,
)

CACHE_SIZE = 256
_EMPTY_INPUT = {"type": "object", "properties": {}}


class InputField(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: str  # "string", "integer", "number", "boolean", "file", "file[]", "string[]", "object", "any", ...
    required: bool
    default: Any = None
    has_default: bool = False
    minimum: float | None = None
    maximum: float | None = None
    enum: list | None = None
    description: str = ""
    is_file: bool = False
    is_secret: bool = False
    nullable: bool = False
    order: float | None = None  # x-order


@dataclass(frozen=True, eq=False)
class ModelSchema:
    input_schema: (
        dict  # Input, refs resolved, draft 2020-12, additionalProperties false (Replicate refuses extras)
    )
    output_schema: dict
    fields: list[InputField]  # required first, then x-order
    required: list[str]
    file_fields: frozenset[str]
    secret_fields: frozenset[str]
    output_kind: str
    version_id: str | None = None
    training: ModelSchema | None = None  # TrainingInput/TrainingOutput, when the version is trainable
    validator: Draft202012Validator = field(repr=False, kw_only=True)
    checks: dict[str, FieldCheck] = field(repr=False, default_factory=dict)
    fast_path: bool = field(repr=False, default=False)  # the top-level schema is simple enough for FieldCheck

    @property
    def training_input_schema(self) -> dict | None:
        return self.training.input_schema if self.training else None

    def get_field(self, name: str) -> InputField | None:
        return next((f for f in self.fields if f.name == name), None)


_cache: OrderedDict[str, ModelSchema] = OrderedDict()
_cache_lock = threading.Lock()


def load_schema(openapi_schema: dict, version_id: str | None = None) -> ModelSchema:
    """Build the ModelSchema of a version. With a version id the result is cached (a version never changes).

    Also accepts a version object or a model object (uses its latest_version).
    """
    if version_id is not None:
        with _cache_lock:
            cached = _cache.get(version_id)
            if cached is not None:
                _cache.move_to_end(version_id)
                return cached
    doc = unwrap_document(openapi_schema)
    training = None
    if (training_input := resolved_component(doc, "TrainingInput")) is not None:
        training = _build(training_input, resolved_component(doc, "TrainingOutput") or {}, version_id, None)
    schema = _build(
        resolved_component(doc, "Input") or _EMPTY_INPUT,
        resolved_component(doc, "Output") or {},
        version_id,
        training,
    )
    if version_id is not None:
        with _cache_lock:
            _cache[version_id] = schema
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return schema


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _build(
    input_schema: dict, output_schema: dict, version_id: str | None, training: ModelSchema | None
) -> ModelSchema:
    input_schema = {**input_schema, "additionalProperties": False}
    properties: dict = input_schema.get("properties") or {}
    required = [name for name in input_schema.get("required") or [] if name in properties]
    fields = sorted(
        (_field(name, prop, name in required) for name, prop in properties.items()),
        key=lambda f: (not f.required, f.order if f.order is not None else math.inf),
    )
    checks = {name: FieldCheck.compile(name, prop) for name, prop in properties.items()}
    top_keys = set(input_schema) - {
        "type",
        "title",
        "description",
        "properties",
        "required",
        "additionalProperties",
    }
    return ModelSchema(
        input_schema=input_schema,
        output_schema=output_schema,
        fields=fields,
        required=[f.name for f in fields if f.required],
        file_fields=frozenset(f.name for f in fields if f.is_file),
        secret_fields=frozenset(f.name for f in fields if f.is_secret),
        output_kind=output_kind(output_schema),
        version_id=version_id,
        training=training,
        validator=Draft202012Validator(_choices_of_any_type(input_schema)),
        checks=checks,
        fast_path=not top_keys and input_schema.get("type", "object") == "object",
    )


def _choices_of_any_type(input_schema: dict) -> dict:
    """The schema jsonschema checks: a listed choice is valid whatever the declared type, as on Replicate
    (an integer field whose choices are "1" and "2" takes "1")."""
    properties = input_schema.get("properties") or {}
    widened = {name: _widen(prop) for name, prop in properties.items()}
    if all(widened[name] is properties[name] for name in properties):
        return input_schema
    return {**input_schema, "properties": widened}


def _widen(prop: dict) -> dict:
    if isinstance(prop.get("anyOf"), list):
        branches = [_widen(b) if isinstance(b, dict) else b for b in prop["anyOf"]]
        if any(new is not old for new, old in zip(branches, prop["anyOf"], strict=True)):
            return {**prop, "anyOf": branches}
    kind = prop.get("type")
    if not isinstance(prop.get("enum"), list) or not isinstance(kind, str | list):
        return prop
    declared = [kind] if isinstance(kind, str) else list(kind)
    extra = sorted({json_type(choice) for choice in prop["enum"]} - set(declared) - {"null"})
    if not extra or ("number" in declared and extra == ["integer"]):
        return prop
    return {**prop, "type": [*declared, *extra]}


def _field(name: str, prop: dict, required: bool) -> InputField:
    core = non_null_branch(prop)
    types, nullable = value_types(prop)
    items = core["items"] if isinstance(core.get("items"), dict) else {}
    is_file = is_file_schema(core) or (types == ["array"] and is_file_schema(items))
    return InputField(
        name=name,
        type=_type_name(core, types, items),
        required=required,
        default=prop.get("default"),
        has_default="default" in prop,
        minimum=core.get("minimum", core.get("exclusiveMinimum")),
        maximum=core.get("maximum", core.get("exclusiveMaximum")),
        enum=[v for v in core["enum"] if v is not None] if isinstance(core.get("enum"), list) else None,
        description=(prop.get("description") or "").strip(),
        is_file=is_file,
        is_secret=is_secret_schema(core),
        nullable=nullable,
        order=prop.get("x-order"),
    )


def _type_name(core: dict, types: list[str], items: dict) -> str:
    if types == ["string"] and is_file_schema(core):
        return "file"
    if types == ["array"]:
        if is_file_schema(items):
            return "file[]"
        item_types = value_types(items)[0]
        return f"{'|'.join(item_types)}[]" if item_types else "array"
    return "|".join(types) if types else "any"
