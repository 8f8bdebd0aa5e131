"""Replicate's Markdown docs for agents: the docs index (`/docs/llms.txt`), any page as Markdown
(`Accept: text/markdown`), and a model's own `/{owner}/{name}/llms.txt`,
falling back to its README from the API.

Fetched only from the configured docs base URL, cached for an hour, and cut to a bounded size with every
heading kept, so an agent sees the shape of a long page and where the rest is.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

from replicate_mcp import __version__
from replicate_mcp.api import NotFoundError, ReplicateClient
from replicate_mcp.api.client import DEFAULT_BASE_URL

CACHE_SECONDS = 3600.0
FETCH_TIMEOUT = 15.0
MAX_DOC_BYTES = 2_000_000
HEADING = re.compile(r"^#{1,6} ")
LINK = re.compile(r"^- \[(?P<title>[^\]]+)\]\((?P<url>[^)]+)\)(?::\s*(?P<summary>.*))?$")
WORD = re.compile(r"[a-z0-9]+")


def bounded_markdown(text: str, limit: int) -> str:
    """`text` cut to about `limit` characters: every heading kept, each section's body shortened in turn."""
    text = text.strip()
    if len(text) <= limit:
        return text
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if HEADING.match(line):
            sections.append((line, []))
        else:
            sections[-1][1].append(line)
    headings = sum(len(h) + 1 for h, _ in sections if h)
    share = max(80, (limit - headings) // max(1, len(sections)))
    out: list[str] = []
    for heading, body in sections:
        if heading:
            out.append(heading)
        kept, used = [], 0
        for line in body:
            if used + len(line) + 1 > share:
                kept.append("…")
                break
            kept.append(line)
            used += len(line) + 1
        out += kept
    return "\n".join(out).strip()


@dataclass
class DocPage:
    title: str
    url: str
    summary: str = ""


@dataclass
class Docs:
    base: str  # e.g. https://replicate.com
    _cache: dict[str, tuple[float, str | None]] = field(default_factory=dict)

    async def fetch(self, url: str, *, markdown: bool = True) -> str | None:
        """The text at `url` (under the docs base only), or None if it is not there. Cached."""
        if not url.startswith(self.base + "/"):
            raise ValueError(f"{url} is not a page of the docs at {self.base}")
        cached = self._cache.get(url)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        headers = {
            "Accept": "text/markdown, text/plain;q=0.9" if markdown else "text/plain",
            "User-Agent": f"replicate-mcp/{__version__}",
        }
        async with httpx2.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
            response = await client.get(url, headers=headers)
        text = None
        kind = response.headers.get("content-type", "")
        if (
            response.status_code == 200
            and not kind.startswith("text/html")
            and len(response.content) <= MAX_DOC_BYTES
        ):
            text = response.text
        self._cache[url] = (time.monotonic(), text)
        return text

    async def index(self) -> list[DocPage]:
        text = await self.fetch(f"{self.base}/docs/llms.txt") or ""
        pages = []
        for line in text.splitlines():
            match = LINK.match(line.strip())
            if match:
                url = match["url"]
                if url.startswith("/"):
                    url = self.base + url
                pages.append(DocPage(match["title"], url, (match["summary"] or "").strip()))
        return pages

    async def search(
        self, question: str, *, pages: int = 2
    ) -> tuple[list[tuple[DocPage, str]], list[DocPage]]:
        """The best-matching pages with their Markdown, and the rest of the index (titles only)."""
        words = set(WORD.findall(question.lower())) - {
            "the",
            "a",
            "an",
            "how",
            "do",
            "i",
            "to",
            "of",
            "is",
            "what",
        }
        index = await self.index()
        scored = sorted(index, key=lambda p: -_score(p, words))
        best = [p for p in scored[:pages] if _score(p, words) > 0]
        found = []
        for page in best:
            text = await self.fetch(page.url.removesuffix(".md"))
            if text:
                found.append((page, text))
        return found, [p for p in index if p not in best]

    async def model(self, client: ReplicateClient, owner: str, name: str) -> tuple[str, str] | None:
        """(where, text): the model's llms.txt, else its README; None when it has neither."""
        url = f"{self.base}/{owner}/{name}/llms.txt"
        try:
            text = await self.fetch(url, markdown=False)
        except httpx2.HTTPError:
            text = None
        if text:
            return url, text
        try:
            return "README", await client.get_model_readme(owner, name)
        except NotFoundError:
            return None


def docs_of(svc: Any) -> Docs:
    """The process's docs reader (one cache per server), made on first use."""
    docs = getattr(svc, "_docs", None)
    if docs is None:
        api = (
            svc.client.base_url
        )  # the API actually used: with --sandbox, the embedded sandbox serves the docs too
        local = svc.settings.docs_url is None and api != DEFAULT_BASE_URL
        docs = Docs(api.removesuffix("/v1") if local else svc.settings.docs_base)
        svc._docs = docs
    return docs


def _score(page: DocPage, words: set[str]) -> float:
    title = set(WORD.findall(page.title.lower()))
    rest = set(WORD.findall(f"{page.url} {page.summary}".lower()))
    return (
        3 * len(words & title)
        + len(words & rest)
        + sum(0.5 for w in words for t in title | rest if len(w) > 4 and t.startswith(w[:5]))
    )
