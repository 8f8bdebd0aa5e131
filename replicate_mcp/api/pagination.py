"""Cursor pages: `next` and `previous` are absolute URLs, followed as they are,
but only on the API's own origin."""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx2
from pydantic import BaseModel, ConfigDict

from ._errors import UnsafeURLError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass `next` back as the `cursor` of the same list_* method for the next page."""

    model_config = ConfigDict(extra="allow")

    results: list[T] = []
    next: str | None = None
    previous: str | None = None


def check_same_origin(url: str, base_url: str) -> httpx2.URL:
    """Return `url` parsed, or raise UnsafeURLError unless it has the scheme, host and port of `base_url`.

    The client sends its token with every API request, so it must never follow a cursor elsewhere.
    """
    try:
        parsed = httpx2.URL(url)
    except httpx2.InvalidURL as exc:
        raise UnsafeURLError(f"Not a valid URL: {url!r}", title="Invalid cursor") from exc
    if not parsed.is_absolute_url:
        raise UnsafeURLError(
            f"Cursor must be the absolute `next` URL of a previous page, got {url!r}", title="Invalid cursor"
        )
    base = httpx2.URL(base_url)
    if (parsed.scheme, parsed.host, parsed.port) != (base.scheme, base.host, base.port):
        raise UnsafeURLError(
            f"Refusing to follow {parsed.scheme}://{parsed.host}: it is not the API origin "
            f"{base.scheme}://{base.host} and would receive the API token",
            title="Cursor on another origin",
        )
    return parsed
