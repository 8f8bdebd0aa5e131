"""Turn a Cog `openapi_schema` into plain, fully resolved JSON Schema (draft 2020-12) and input fields."""

from __future__ import annotations

from typing import Any

from referencing import Registry
from referencing.jsonschema import DRAFT202012

_DOC_URI = "urn:replicate-mcp:openapi-schema"
_NULL = {"type": "null"}
# the title/description Cog gives every enum schema: they name the enum type, not the field
_ENUM_TYPE_NOISE = ("title", "description")


def unwrap_document(doc: dict) -> dict:
    """Accept a version object ({openapi_schema}) or a model object
    ({latest_version}) as well as the schema."""
    if "latest_version" in doc and isinstance(doc["latest_version"], dict):
        doc = doc["latest_version"]
    if "openapi_schema" in doc and isinstance(doc["openapi_schema"], dict):
        doc = doc["openapi_schema"]
    return doc


def resolved_component(doc: dict, name: str) -> dict | None:
    """`components.schemas[name]` with every $ref inlined and OpenAPI 3.0 idioms turned into JSON Schema."""
    schemas = doc.get("components", {}).get("schemas", {})
    if name not in schemas:
        return None
    resolver = Registry().with_resource(_DOC_URI, DRAFT202012.create_resource(doc)).resolver(_DOC_URI)
    return _normalize(_inline(schemas[name], resolver, ()))


def _inline(node: Any, resolver, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:  # a recursive schema: accept anything below this point rather than loop
            return {}
        resolved = resolver.lookup(ref)
        target = _inline(resolved.contents, resolved.resolver, (*seen, ref))
        siblings = {k: _inline(v, resolver, seen) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings} if isinstance(target, dict) else target
    return {key: _inline(value, resolver, seen) for key, value in node.items()}


def _normalize(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema 2020-12 (nullable, boolean exclusive bounds); flatten Cog's single allOf."""
    if isinstance(node, list):
        return [_normalize(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _normalize(value) for key, value in node.items()}
    node = _flatten_single_allof(node)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(node.get(exclusive), bool):
            if node.pop(exclusive) and bound in node:
                node[exclusive] = node.pop(bound)
    if node.pop("nullable", False) is True:
        node = _make_nullable(node)
    return node


def _flatten_single_allof(node: dict) -> dict:
    parts = node.get("allOf")
    if not (isinstance(parts, list) and len(parts) == 1 and isinstance(parts[0], dict)):
        return node
    inner = {k: v for k, v in parts[0].items() if k not in _ENUM_TYPE_NOISE}
    outer = {k: v for k, v in node.items() if k != "allOf"}
    if any(key in outer and outer[key] != value for key, value in inner.items()):
        return node  # conflicting keywords: keep allOf, jsonschema handles it
    return {**inner, **outer}


def _make_nullable(node: dict) -> dict:
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        node["type"] = [*kind, "null"]
    elif kind is None:
        annotations = {
            k: node.pop(k)
            for k in list(node)
            if k in ("default", "description", "title") or k.startswith("x-")
        }
        return {"anyOf": [node, _NULL], **annotations}
    if "enum" in node and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


def value_types(prop: dict) -> tuple[list[str], bool]:
    """The JSON types a property takes (without null) and whether null is allowed."""
    kind = prop.get("type")
    if isinstance(kind, str):
        types = [kind]
    elif isinstance(kind, list):
        types = list(kind)
    elif "enum" in prop:
        types = sorted({json_type(v) for v in prop["enum"]})
    else:
        types = []
        for branch in prop.get("anyOf") or prop.get("oneOf") or []:
            if isinstance(branch, dict):
                branch_types, _ = value_types(branch)
                types += [t for t in branch_types if t not in types]
                if branch.get("type") == "null":
                    types.append("null")
    nullable = "null" in types
    return [t for t in types if t != "null"], nullable


def non_null_branch(prop: dict) -> dict:
    """For `anyOf: [X, {type: null}]` (pydantic v2 Optional): X merged with the annotations; else prop."""
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list):
        real = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
        if len(real) == 1 and len(real) < len(branches):
            rest = {k: v for k, v in prop.items() if k not in ("anyOf", "oneOf")}
            return {**real[0], **rest}
    return prop


def json_type(value: Any) -> str:
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
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_file_schema(prop: dict) -> bool:
    return prop.get("format") == "uri" and "string" in value_types(prop)[0]


def is_secret_schema(prop: dict) -> bool:
    return prop.get("x-cog-secret") is True or prop.get("format") == "password"


def output_kind(output: dict) -> str:
    """file | files | text | text_stream | file_stream | object | json."""
    output = non_null_branch(output)
    types, _ = value_types(output)
    if types == ["string"]:
        return "file" if output.get("format") == "uri" else "text"
    if types == ["array"]:
        items = output["items"] if isinstance(output.get("items"), dict) else {}
        iterator = output.get("x-cog-array-type") == "iterator"
        if is_file_schema(items):
            return "file_stream" if iterator else "files"
        if (
            value_types(items)[0] == ["string"]
            and iterator
            and output.get("x-cog-array-display") == "concatenate"
        ):
            return "text_stream"
        return "json"
    if types == ["object"]:
        return "object"
    return "json"
