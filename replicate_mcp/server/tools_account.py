"""The account toolset: who the token belongs to, the hardware and its prices, and the Files API.

Files uploaded by this server carry `{"uploaded_by": "replicate-mcp"}` in their metadata, so a listing can say
which are its own. Deleting one also drops it from the upload cache, so it is never offered for reuse.
"""

# No `from __future__ import annotations`: the SDK reads these signatures at registration.
import re
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from replicate_mcp.api import NotFoundError
from replicate_mcp.pricing import price_table, usd
from replicate_mcp.server.content import bounded_result
from replicate_mcp.server.costs import spend
from replicate_mcp.server.errors import tool_errors
from replicate_mcp.server.tools import READ, services

FILE_ID = re.compile(r"^[A-Za-z0-9_-]{6,80}$")
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
UPLOADED_BY = ("uploaded_by", "replicate-mcp")

FileIdArg = Annotated[str, Field(description="File id (list_files)")]


class AccountInfo(BaseModel):
    username: str
    type: str | None = None
    name: str | None = None
    github_url: str | None = None
    estimated_spend: str | None = None  # this server process, from the price table


class HardwareInfo(BaseModel):
    sku: str
    name: str
    usd_per_second: float | None = None


class HardwareList(BaseModel):
    hardware: list[HardwareInfo]
    prices_as_of: str


class FileInfo(BaseModel):
    id: str
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    created_at: str | None = None
    expires_at: str | None = None
    url: str | None = None
    by_this_server: bool = False
    metadata: dict[str, Any] | None = None


class FileList(BaseModel):
    files: list[FileInfo]
    next_cursor: str | None = None


class DeletedFile(BaseModel):
    deleted: str


def _file(f: Any, *, metadata: bool = False) -> FileInfo:
    mine = (f.metadata or {}).get(UPLOADED_BY[0]) == UPLOADED_BY[1]
    return FileInfo(
        id=f.id,
        name=f.name,
        content_type=f.content_type,
        size=f.size,
        created_at=f.created_at,
        expires_at=f.expires_at,
        url=(f.urls or {}).get("get"),
        by_this_server=mine,
        metadata=(f.metadata or None) if metadata else None,
    )


def _check_file_id(value: str) -> str:
    if not isinstance(value, str) or not FILE_ID.match(value.strip()):
        raise ToolError(f"id: {value!r} is not a file id (list_files shows them)")
    return value.strip()


def register_account_tools(server: MCPServer, *, read_only: bool) -> None:
    @server.tool(annotations=READ)
    @tool_errors
    async def get_account(ctx: Context) -> Annotated[CallToolResult, AccountInfo]:
        """Who the API token belongs to (user or organization), and this server's estimated spend so far."""
        svc = services(ctx)
        account = await svc.client.get_account()
        counter = spend(svc)
        spent = f"{usd(counter.spent)} estimated " + (
            "today (UTC)" if counter.per_day else "since this server started"
        )
        if counter.budget is not None:
            spent += f" (budget {usd(counter.budget)})"
        info = AccountInfo(
            username=account.username,
            type=account.type,
            name=account.name,
            github_url=account.github_url,
            estimated_spend=spent,
        )
        return bounded_result(info, svc.settings.max_response_chars)

    @server.tool(annotations=READ)
    @tool_errors
    async def list_hardware(ctx: Context) -> Annotated[CallToolResult, HardwareList]:
        """Hardware SKUs for models and deployments, with their approximate price per second."""
        svc = services(ctx)
        table = price_table()
        items = [
            HardwareInfo(sku=h.sku, name=h.name, usd_per_second=table.rate(h.sku))
            for h in await svc.client.list_hardware()
        ]
        return bounded_result(
            HardwareList(hardware=items, prices_as_of=table.as_of), svc.settings.max_response_chars
        )

    @server.tool(annotations=READ)
    @tool_errors
    async def list_files(
        ctx: Context,
        cursor: Annotated[str | None, Field(description="next_cursor from a previous page")] = None,
    ) -> Annotated[CallToolResult, FileList]:
        """Files uploaded to Replicate (kept 24 h), newest first; \
by_this_server marks this server's uploads."""
        svc = services(ctx)
        page = await svc.client.list_files(cursor=cursor)
        result = FileList(files=[_file(f) for f in page.results], next_cursor=page.next)
        return bounded_result(result, svc.settings.max_response_chars)

    @server.tool(annotations=READ)
    @tool_errors
    async def get_file(id: FileIdArg, ctx: Context) -> Annotated[CallToolResult, FileInfo]:
        """One uploaded file: name, type, size, expiry, URL and metadata."""
        svc = services(ctx)
        file_id = _check_file_id(id)
        try:
            found = await svc.client.get_file(file_id)
        except NotFoundError:
            raise ToolError(
                f"id: no file {file_id} on this account (files expire 24 h after upload); "
                "list_files shows them"
            ) from None
        return bounded_result(_file(found, metadata=True), svc.settings.max_response_chars)

    if read_only:
        return

    @server.tool(annotations=DELETE)
    @tool_errors
    async def delete_file(id: FileIdArg, ctx: Context) -> Annotated[CallToolResult, DeletedFile]:
        """Delete an uploaded file now (instead of after 24 h); \
predictions already using it are not affected."""
        svc = services(ctx)
        file_id = _check_file_id(id)
        try:
            await svc.client.delete_file(file_id)
        except NotFoundError:
            raise ToolError(
                f"id: no file {file_id} on this account (already deleted or expired); list_files shows them"
            ) from None
        svc.inputs.forget_upload(file_id)
        return bounded_result(DeletedFile(deleted=file_id), svc.settings.max_response_chars)
