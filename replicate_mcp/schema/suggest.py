"""Nearest fixes for wrong input names and values, and small text helpers shared by messages and summaries."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

_RATIO_SEPARATOR = re.compile(r"(?<=\d)\s*[x×X/:]\s*(?=\d)")
_WORD_SEPARATOR = re.compile(r"[\s_\-]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'`])")


def _norm(text: str) -> str:
    return _WORD_SEPARATOR.sub("_", _RATIO_SEPARATOR.sub(":", text.strip().lower()))


def _closest(text: str, candidates: list) -> Any | None:
    by_norm: dict[str, Any] = {}
    for candidate in candidates:
        by_norm.setdefault(_norm(str(candidate)), candidate)
    key = _norm(text)
    if key in by_norm:
        return by_norm[key]
    match = difflib.get_close_matches(key, list(by_norm), n=1, cutoff=0.6)
    return by_norm[match[0]] if match else None


def nearest_name(name: str, names: list[str]) -> str | None:
    """`num_ouputs` → `num_outputs`; `Aspect-Ratio` → `aspect_ratio`."""
    return _closest(name, names)


def nearest_enum_value(value: Any, allowed: list) -> Any | None:
    """'16x9' → '16:9', 'k_euler' → 'K_EULER', 500 → 512 (numeric enums: the closest number)."""
    if not allowed:
        return None
    if all(_is_number(a) for a in allowed):
        number = _as_number(value)
        return min(allowed, key=lambda a: abs(a - number)) if number is not None else None
    if isinstance(value, list | dict) or value is None:
        return None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return _closest(text, [a for a in allowed if a is not None])


def clamp(value: float, minimum: float | None, maximum: float | None, integer: bool) -> float | int:
    if minimum is not None and value < minimum:
        value = minimum
    if maximum is not None and value > maximum:
        value = maximum
    return int(value) if integer and float(value).is_integer() else value


def first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    return _SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".") if text else ""


def show(value: Any, limit: int = 60) -> str:
    """A value as an LLM reads it in a message: strings quoted, JSON otherwise, long ones cut."""
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "…" + text[-2:]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
