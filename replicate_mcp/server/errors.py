"""Expected failures become ToolErrors that say what to do next; nothing else reaches the model."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from replicate_mcp.api import (
    APIConnectionError,
    AuthenticationError,
    InputValidationError,
    MissingTokenError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ReplicateError,
    ServerError,
)
from replicate_mcp.files import FileAccessError
from replicate_mcp.runs import BadReference, NotCreated, OutcomeUnknown, UnresolvableModel
from replicate_mcp.runs.supervisor import TooManyRuns

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_LIMIT = 20_000  # --max-response-chars' default, for calls made without a context


def explain(exc: BaseException) -> str:
    if isinstance(exc, MissingTokenError):
        return (
            "No Replicate API token is configured. Set REPLICATE_API_TOKEN in this server's environment "
            "(get one at https://replicate.com/account/api-tokens), "
            "or start it with --sandbox to try it offline."
        )
    if isinstance(exc, AuthenticationError):
        return "Replicate rejected the API token (401). Check REPLICATE_API_TOKEN; it should start with r8_."
    if isinstance(exc, PaymentRequiredError):
        return (
            f"Replicate says: {exc}. Nothing was run or billed. Add credit at "
            "https://replicate.com/account/billing, then call again."
        )
    if isinstance(exc, NotFoundError):
        return f"Not found: {exc}. Check the owner/name or id; search_models finds models."
    if isinstance(exc, InputValidationError):
        fields = "; ".join(
            f"{f.get('field', '?')}: {f.get('description', '')}"
            for f in exc.invalid_fields
            if isinstance(f, dict)
        )
        return (
            f"Replicate refused the request: {fields or exc}. Nothing was run. "
            "Fix the fields named and call again."
        )
    if isinstance(exc, RateLimitError):
        wait = f"in about {exc.retry_after:.0f}s" if exc.retry_after else "in a few seconds"
        return f"Replicate's rate limit was hit ({exc}); nothing was sent past it. Retry {wait}."
    if isinstance(exc, NotCreated | OutcomeUnknown):
        return str(exc)
    if isinstance(exc, ServerError | APIConnectionError):
        return f"Replicate could not be reached or failed: {exc}. Retry in a few seconds."
    if isinstance(exc, ReplicateError):
        return f"Replicate error: {exc}"
    if isinstance(exc, BadReference | UnresolvableModel | FileAccessError):
        return str(exc)
    if isinstance(exc, TooManyRuns):
        return str(exc)
    if _is_store_error(exc):
        return (
            "This server's shared state (Redis, --state) did not answer, so nothing was started or changed. "
            "Try again in a minute; if it persists, tell whoever runs this server."
        )
    raise exc


def _is_store_error(exc: BaseException) -> bool:
    """Redis's errors, without loading redis in a server that never uses it."""
    redis_errors = sys.modules.get("redis.exceptions")
    return redis_errors is not None and isinstance(exc, redis_errors.RedisError)


def first_cause(exc: BaseException) -> BaseException:
    """The error inside task-group wrappers: the first leaf that is not a cancellation."""
    while isinstance(exc, BaseExceptionGroup):
        leaves = [e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
        exc = (leaves or list(exc.exceptions))[0]
    return exc


def bounded(message: str, limit: int) -> str:
    """An error message cut to `limit` characters (a huge argument echoed back must not make a huge error)."""
    if len(message) <= limit:
        return message
    note = f"… ({len(message) - limit + 80:,} characters cut)"
    return message[: max(0, limit - 80)] + note


def _limit(kwargs: dict) -> int:
    for value in kwargs.values():
        try:
            return value.request_context.lifespan_context.settings.max_response_chars
        except Exception:  # noqa: BLE001, S112 - not the context, or no request: look further
            continue
    return DEFAULT_LIMIT


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn expected exceptions into ToolError; log the unexpected ones to stderr and say so briefly."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except Exception as raised:
            exc = first_cause(raised)
            if isinstance(exc, ToolError):
                message = str(exc)
            else:
                try:
                    message = explain(exc)
                except Exception:
                    log.exception("%s failed", fn.__name__)
                    message = f"{fn.__name__} failed unexpectedly ({type(exc).__name__}); see the server log"
            raise ToolError(bounded(message, _limit(kwargs))) from None

    return wrapper
