"""compact_summary: a model's inputs and output in a few lines an agent can act on."""

from __future__ import annotations

import json
from typing import Any

from .model import InputField, ModelSchema
from .suggest import first_sentence

_MEDIA = {
    "images": {"webp", "jpg", "jpeg", "png", "gif", "bmp", "tiff", "avif", "heic"},
    "audio": {"mp3", "wav", "flac", "ogg", "m4a", "aac", "opus"},
    "video": {"mp4", "webm", "mov", "mkv", "avi"},
}
_OUTPUT = {
    "file": "file",
    "files": "files",
    "text": "text",
    "text_stream": "text_stream (text chunks; join them)",
    "file_stream": "file_stream (files, streamed one by one)",
    "json": "json",
}
_NOISE = {"an enumeration"}
_SHORT = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


def compact_summary(schema: ModelSchema) -> str:
    """One line per input (required first, then x-order), then `→ output: <kind>`.

    `name* type range =default — first sentence`: * marks a required input; enums are listed in full as
    a|b|c (string values bare unless they would read as numbers); str/int/float/bool are the JSON types
    (a boolean with a default shows just `=true`/`=false`); files take a URL, a data URI or a local path.
    """
    lines = [_input_line(f) for f in schema.fields]
    lines.append(f"→ output: {_output(schema)}")
    return "\n".join(lines)


def _input_line(field: InputField) -> str:
    parts = [field.name + ("*" if field.required else "")]
    if field.is_secret:
        parts.append("secret")
    if field.enum:
        kinds = [] if field.type == "string" else [_SHORT.get(field.type, field.type)]
        parts += [*kinds, "|".join(_literal(v) for v in field.enum)]
    elif field.is_file:
        plural = field.type.endswith("[]")
        parts.append("file[] (URLs, data URIs or paths)" if plural else "file (URL, data URI or path)")
    elif not (field.type == "boolean" and isinstance(field.default, bool)):  # =true/=false says it is a bool
        parts.append(_SHORT.get(field.type, field.type))
        if (bounds := _bounds(field)) is not None:
            parts.append(bounds)
    if field.has_default and field.default is not None:
        parts.append("=" + _literal(field.default, quote_all=not field.enum and not field.is_file))
    about = first_sentence(field.description)
    if about and about.lower() not in _NOISE:
        parts.append("— " + about)
    return " ".join(parts)


def _bounds(field: InputField) -> str | None:
    low, high = _num(field.minimum), _num(field.maximum)
    if low is not None and high is not None:
        return f"{low}..{high}"
    if low is not None:
        return f">={low}"
    if high is not None:
        return f"<={high}"
    return None


def _literal(value: Any, quote_all: bool = False) -> str:
    """Enum values bare (1:1, webp) unless they hold spaces or | or would read as numbers:
    JSON-quoted then."""
    if not isinstance(value, str):
        return (
            str(_num(value))
            if isinstance(value, int | float) and not isinstance(value, bool)
            else json.dumps(value)
        )
    bare = value and not any(c.isspace() or c in '|"' for c in value) and not _looks_like_number(value)
    return json.dumps(value, ensure_ascii=False) if quote_all or not bare else value


def _looks_like_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.lower() in ("true", "false", "null")
    return True


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _output(schema: ModelSchema) -> str:
    kind = schema.output_kind
    if kind == "object":
        props = schema.output_schema.get("properties") or {}
        required = set(schema.output_schema.get("required") or [])
        keys = [
            name + ("" if name in required else "?") + (" (file)" if prop.get("format") == "uri" else "")
            for name, prop in props.items()
        ]
        return "object" + (f" with {', '.join(keys)}" if keys else "")
    text = _OUTPUT.get(kind, kind)
    media = _media(schema)
    return f"{text} ({media})" if media and kind in ("file", "files", "file_stream") else text


def _media(schema: ModelSchema) -> str | None:
    field = next((f for f in schema.fields if f.name == "output_format"), None)
    if field is None:
        return None
    formats = {str(v).lower() for v in (field.enum or [field.default]) if v is not None}
    return next((media for media, known in _MEDIA.items() if formats and formats <= known), None)
