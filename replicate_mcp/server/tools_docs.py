"""A tool that answers questions about Replicate itself (webhooks, streaming, lifetimes, billing) from its own
Markdown docs: the best-matching pages, bounded, and the titles of the others."""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
from typing import Annotated

import httpx2
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from replicate_mcp.server.content import bounded_result
from replicate_mcp.server.docs import bounded_markdown, docs_of
from replicate_mcp.server.errors import tool_errors
from replicate_mcp.server.tools import READ, services

PAGE_CHARS = 6_000


class DocsPage(BaseModel):
    title: str
    url: str
    markdown: str


class DocsAnswer(BaseModel):
    pages: list[DocsPage]
    other_pages: list[str] | None = None
    next: str | None = None


def register_docs_tools(server: MCPServer) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def replicate_docs(
        question: Annotated[
            str, Field(description="What to look up, e.g. 'verify webhooks', 'output retention'")
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, DocsAnswer]:
        """Answers from Replicate's own docs (webhooks, streaming, lifetimes, billing, fine-tuning, \
deployments)."""
        svc = services(ctx)
        if not isinstance(question, str) or not question.strip():
            raise ToolError("question: say what to look up, e.g. 'how long are outputs kept'")
        docs = docs_of(svc)
        try:
            found, others = await docs.search(question)
        except httpx2.HTTPError as exc:
            raise ToolError(
                f"Replicate's docs at {docs.base} could not be read ({type(exc).__name__}); "
                "try again later, or see https://replicate.com/docs"
            ) from None
        pages = [
            DocsPage(
                title=p.title, url=p.url, markdown=bounded_markdown(text, PAGE_CHARS // max(1, len(found)))
            )
            for p, text in found
        ]
        hint = None if pages else "no page matched; try other words, or one of other_pages' titles"
        answer = DocsAnswer(pages=pages, other_pages=[p.title for p in others][:30] or None, next=hint)
        return bounded_result(answer, svc.settings.max_response_chars)
