"""Predictions as an agent can use them: text joined, files listed with local copies, everything bounded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from replicate_mcp.files import iter_file_values
from replicate_mcp.files.records import abbreviate_data_uris, shorten_data_uri
from replicate_mcp.server.results import OutputFile, PredictionResult

TEXT_KINDS = {"text", "text_stream"}
BULKY = 200  # characters: beside a text member, a list or object larger than this is left to the resource


def output_text(output: Any, kind: str) -> str | None:
    """Text outputs joined; objects as compact JSON with data URIs shortened;
    None when the output is only files."""
    if output is None:
        return None
    if isinstance(output, list) and all(isinstance(x, str) for x in output):
        if kind in TEXT_KINDS or not any(True for _ in iter_file_values(output)):
            return "".join(output)
        return None
    if isinstance(output, str):
        return None if output.startswith(("http://", "https://", "data:")) else output
    return json.dumps(abbreviate_data_uris(output), separators=(",", ":"), ensure_ascii=False)


def output_object(output: Any, limit: int) -> tuple[Any, list[str]]:
    """An object output as an object: its text first; bulky members beside a text, or past `limit`, left out.

    A transcript's segments, token ids and log-probabilities repeat its text many times over; the agent reads
    the text here and the whole output in the prediction's resource. Returns the value and one note per member
    left out.
    """
    value = abbreviate_data_uris(output)
    if not isinstance(value, dict):
        return _list_within(value, limit) if isinstance(value, list) else (value, [])
    texts = {k: v for k, v in value.items() if isinstance(v, str) and v}
    rest = {k: v for k, v in value.items() if k not in texts and v is not None}
    shown, notes = {**texts, **rest}, []
    for key in sorted(rest, key=lambda k: -_size(rest[k])):
        if _size(shown) <= limit and not (texts and _size(rest[key]) > BULKY):
            break
        if not isinstance(rest[key], str):
            del shown[key]
            notes.append(f"output.{key} ({_size(rest[key]):,} characters) left out")
    for key in sorted(texts, key=lambda k: -len(texts[k])):
        if _size(shown) <= limit:
            break
        cut = max(0, len(texts[key]) - (_size(shown) - limit))
        notes.append(f"output.{key}: {len(texts[key]) - cut:,} last characters cut")
        shown[key] = texts[key][:cut]
    return shown, notes


def _list_within(value: list, limit: int) -> tuple[list, list[str]]:
    kept = list(value)
    while len(kept) > 1 and _size(kept) > limit:
        kept = kept[: len(kept) * 3 // 4]
    if _size(kept) > limit:
        kept = []
    return kept, [f"output: {len(kept)} of {len(value)} items shown"] if len(kept) < len(value) else []


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def clip(text: str | None, limit: int, *, tail: bool = False, how: str = "") -> tuple[str | None, str | None]:
    """Cut text to `limit` characters (keeping the end when `tail`); the second value says what was cut."""
    if text is None or len(text) <= limit:
        return text, None
    kept = text[-limit:] if tail else text[:limit]
    where = "first" if tail else "last"
    return kept, f"{len(text) - limit} {where} characters cut{how}"


def prediction_result(
    prediction: Any,
    *,
    kind: str = "",
    files: Sequence[Any] = (),
    output_limit: int = 12_000,
    logs_limit: int = 0,
    next_hint: str | None = None,
) -> PredictionResult:
    """`files` are archived copies (index, url, path, mime_type) of the file values, in output order."""
    notes: list[str] = []
    output: Any
    if _is_object(prediction.output):
        output, left_out = output_object(prediction.output, output_limit)
        if left_out:
            notes.append(
                f"{'; '.join(left_out)}; read resource replicate://predictions/{prediction.id} for all"
            )
    else:
        output, cut = clip(
            output_text(prediction.output, kind),
            output_limit,
            how="; read resource replicate://predictions/{id} for all",
        )
        if cut:
            notes.append(cut.format(id=prediction.id))
    archived = {f.index: f for f in files}
    listed = []
    for index, url in enumerate(iter_file_values(prediction.output)):
        copy = archived.get(index)
        listed.append(
            OutputFile(
                url=shorten_data_uri(url) if url.startswith("data:") else url,
                path=getattr(copy, "path", None),
                mime_type=getattr(copy, "mime_type", None),
                resource=f"replicate://predictions/{prediction.id}/files/{index}" if copy else None,
            )
        )
    logs = None
    if logs_limit and prediction.logs:
        logs, cut = clip(
            prediction.logs.strip(), logs_limit, tail=True, how="; get_prediction with logs_chars for more"
        )
        if cut:
            notes.append(cut)
    if prediction.data_removed:
        notes.append("Replicate removed this prediction's input and output (one hour after it ran)")
    metrics = {
        k: v
        for k, v in (prediction.metrics or {}).items()
        if k in ("predict_time", "total_time") and v is not None
    }
    return PredictionResult(
        id=prediction.id,
        status=prediction.status,
        model=getattr(prediction, "model", None),
        output=output,
        files=listed or None,
        error=_error_text(prediction.error),
        logs=logs,
        metrics=metrics or None,
        created_at=iso_time(getattr(prediction, "created_at", None)),
        next=next_hint,
        notes=notes or None,
    )


def _is_object(output: Any) -> bool:
    """A dict, or a list holding something other than strings (file URLs and text chunks are not objects)."""
    return isinstance(output, dict) or (
        isinstance(output, list) and not all(isinstance(x, str) for x in output)
    )


def _error_text(error: Any) -> str | None:
    if error is None or error == "":
        return None
    return error if isinstance(error, str) else json.dumps(error, separators=(",", ":"))


def iso_time(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat().replace("+00:00", "Z")
