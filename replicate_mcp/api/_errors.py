"""Typed errors, built from Replicate's problem+json, plain JSON or non-JSON error bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import httpx2

TOKEN_URL = "https://replicate.com/account/api-tokens"


class ReplicateError(Exception):
    """Base of every error the client raises. `str(err)` is a one-line human message."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        title: str | None = None,
        invalid_fields: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid_fields = invalid_fields or []
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self) -> str:
        detail = _one_line(self.detail or "")
        parts = [p for p in (self.title, detail) if p]
        if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
            parts = parts[1:]
        message = ": ".join(parts) or type(self).__name__
        if self.status is not None:
            message += f" (HTTP {self.status})"
        return message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, title={self.title!r}, detail={self.detail!r})"

    def redact(self, redact: Callable[[str], str]) -> None:
        """Apply `redact` to every text this error carries: title, detail, invalid_fields, notes and str()."""
        self.title = redact(self.title) if self.title else self.title
        self.detail = redact(self.detail) if self.detail else self.detail
        self.invalid_fields = _redact_texts(self.invalid_fields, redact)
        if hasattr(self, "__notes__"):
            self.__notes__ = [redact(str(note)) for note in self.__notes__]
        self.args = (self._message(),)


class AuthenticationError(ReplicateError):
    """401: the token is missing, wrong or revoked."""


class PaymentRequiredError(ReplicateError):
    """402: the account has no credit left."""


class NotFoundError(ReplicateError):
    """404."""


class InputValidationError(ReplicateError):
    """422: bad input or version; `invalid_fields` lists the offending inputs."""


class RateLimitError(ReplicateError):
    """429 that the client did not (or could no longer) wait out; `retry_after` says how long to wait."""


class ServerError(ReplicateError):
    """5xx."""


class APIConnectionError(ReplicateError):
    """The network failed (connect, read, timeout, dropped connection); `status` is None."""


class MissingTokenError(ReplicateError):
    """No API token is configured; raised before any authenticated request is sent."""

    def __init__(self) -> None:
        super().__init__(
            "No Replicate API token configured. Set REPLICATE_API_TOKEN (get one at "
            f"{TOKEN_URL}), or run with --sandbox, which needs none.",
            title="Missing API token",
        )


class UnsafeURLError(ReplicateError):
    """A URL (pagination cursor, `next`) points outside the API's origin;
    following it could leak the token."""


class WebhookVerificationError(Exception):
    """A webhook delivery failed signature or timestamp verification."""


_BY_STATUS: dict[int, type[ReplicateError]] = {
    401: AuthenticationError,
    402: PaymentRequiredError,
    404: NotFoundError,
    422: InputValidationError,
    429: RateLimitError,
}


def error_class(status: int) -> type[ReplicateError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ReplicateError)


def error_from_response(
    response: httpx2.Response,
    *,
    retry_after: float | None = None,
    note: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> ReplicateError:
    """Build the typed error for a >= 400 response whose body has been read.

    `redact` is applied to the whole body before anything is taken from it (so a snippet cut short cannot keep
    part of a secret), and to every field of the result.
    """
    status = response.status_code
    text = response.content.decode("utf-8", "replace")
    if redact is not None:
        text = redact(text)
    body = _json_object(text)
    title = _as_text(body.get("title")) or _reason(status)
    detail = _as_text(body.get("detail"))
    if detail is None and not body:
        detail = _snippet(text)
    if note:
        detail = f"{detail} {note}" if detail else note
    invalid_fields = body.get("invalid_fields")
    if retry_after is None:
        retry_after = number_or_none(body.get("retry_after"))
    error = error_class(status)(
        detail,
        status=status,
        title=title,
        invalid_fields=invalid_fields if isinstance(invalid_fields, list) else None,
        retry_after=retry_after,
    )
    if redact is not None:
        error.redact(redact)
    return error


def parse_error_body(response: httpx2.Response) -> dict[str, Any]:
    """The JSON object of an error body, or {} when it is not a JSON object."""
    return _json_object(response.content)


def _json_object(content: str | bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _redact_texts(value: Any, redact: Callable[[str], str]) -> Any:
    """`value` with `redact` applied to every string in it, keys included (lists and dicts are copied)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_texts(item, redact) for item in value]
    if isinstance(value, dict):
        return {_redact_texts(k, redact): _redact_texts(v, redact) for k, v in value.items()}
    return value


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _snippet(text: str, limit: int = 200) -> str | None:
    text = _one_line(text)
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    lines = [line.strip().removeprefix("- ") for line in text.splitlines()]
    return "; ".join(line for line in lines if line)


def _as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)


def number_or_none(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
