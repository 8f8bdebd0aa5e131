"""replicate-mcp: an MCP server for Replicate's model API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("replicate-mcp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
