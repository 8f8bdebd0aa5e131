"""The MCP layer: tools, resources and a prompt over runs/, files/, schema/ and api/."""

from replicate_mcp.server.app import create_server, http_app, run_server

__all__ = ["create_server", "http_app", "run_server"]
