"""Expected failures become ToolErrors that say what to do next; nothing else reaches the model."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

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
from replicate_mcp.runs import BadReference, UnresolvableModel

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def explain(exc: Exception) -> str:
    if isinstance(exc, MissingTokenError):
        return (
            "No Replicate API token is configured. Set REPLICATE_API_TOKEN in this server's environment "
            "(get one at https://replicate.com/account/api-tokens), or start it with --sandbox to try it offline."
        )
    if isinstance(exc, AuthenticationError):
        return "Replicate rejected the API token (401). Check REPLICATE_API_TOKEN; it should start with r8_."
    if isinstance(exc, PaymentRequiredError):
        return f"Replicate says: {exc}. Add credit at https://replicate.com/account/billing, then retry."
    if isinstance(exc, NotFoundError):
        return f"Not found: {exc}. Check the owner/name or id; search_models finds models."
    if isinstance(exc, InputValidationError):
        return f"Replicate refused the input: {exc}. Fix the fields named and call again."
    if isinstance(exc, RateLimitError):
        wait = f" in about {exc.retry_after:.0f}s" if exc.retry_after else " shortly"
        return f"Replicate's rate limit was hit; retry{wait}."
    if isinstance(exc, ServerError | APIConnectionError):
        return f"Replicate could not be reached or failed: {exc}"
    if isinstance(exc, ReplicateError):
        return f"Replicate error: {exc}"
    if isinstance(exc, BadReference | UnresolvableModel | FileAccessError):
        return str(exc)
    raise exc


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn expected exceptions into ToolError; log the unexpected ones to stderr and say so briefly."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except ToolError:
            raise
        except Exception as exc:
            try:
                message = explain(exc)
            except Exception:
                log.exception("%s failed", fn.__name__)
                raise ToolError(f"{fn.__name__} failed unexpectedly ({type(exc).__name__}); see the server log") from None
            raise ToolError(message) from None

    return wrapper
