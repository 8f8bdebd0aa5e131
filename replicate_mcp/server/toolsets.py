"""Tool groups chosen with --toolsets: `core` (the default), `training`, `deployments`, `account`, or `all`.

Each group lives in its own module with a `register_...(server, *, read_only)`; `--read-only` leaves out every
tool that creates, changes, cancels or deletes.
"""

from __future__ import annotations

from mcp.server import MCPServer

from replicate_mcp.config import Settings
from replicate_mcp.server.tools import register_tools
from replicate_mcp.server.tools_account import register_account_tools
from replicate_mcp.server.tools_batch import register_batch_tools
from replicate_mcp.server.tools_deployments import register_deployment_tools
from replicate_mcp.server.tools_docs import register_docs_tools
from replicate_mcp.server.tools_training import register_training_tools


def register_toolsets(server: MCPServer, settings: Settings) -> None:
    read_only = settings.read_only
    if "core" in settings.toolsets:
        register_tools(server, read_only=read_only)
        if not read_only:
            register_batch_tools(server)
        register_docs_tools(server)
    if "training" in settings.toolsets:
        register_training_tools(server, read_only=read_only)
    if "deployments" in settings.toolsets:
        register_deployment_tools(server, read_only=read_only)
    if "account" in settings.toolsets:
        register_account_tools(server, read_only=read_only)
