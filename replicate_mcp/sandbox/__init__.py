"""A local, Replicate-compatible API server for tests, demos and benchmarks
(imports nothing else of replicate_mcp)."""

from .app import create_app
from .config import SandboxConfig
from .server import RunningSandbox, serve, start_sandbox

__all__ = ["RunningSandbox", "SandboxConfig", "create_app", "serve", "start_sandbox"]
