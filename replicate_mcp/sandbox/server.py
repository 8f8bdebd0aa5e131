"""Running the sandbox: in-process on a free port (tests, benchmarks) or blocking (the CLI)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import uvicorn

from .app import create_app
from .config import SandboxConfig
from .state import SandboxState

log = logging.getLogger(__name__)


def _uvicorn_config(
    config: SandboxConfig, host: str, port: int, log_level: str = "warning"
) -> tuple[uvicorn.Config, SandboxState]:
    app = create_app(config)
    uv = uvicorn.Config(
        app,
        host=host,
        port=port or 0,
        http="h11",
        ws="none",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    return uv, app.state.sandbox


def _listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections on Linux: without it every response (head and body written
    # separately) waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


class RunningSandbox:
    """A sandbox server on its own thread and event loop; a context manager; stop() is idempotent."""

    def __init__(
        self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SandboxConfig()
        self._sock = _listening_socket(host, port)
        bound_port = self._sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound_port}"
        self.base_url = f"{self.url}/v1"
        uv, self._state = _uvicorn_config(self.config, host, bound_port)
        self._server = uvicorn.Server(uv)
        self._thread = threading.Thread(target=self._run, name=f"sandbox:{bound_port}", daemon=True)
        self._stopped = False

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> RunningSandbox:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            self._thread.join(0.01)
        return self

    def stats(self) -> dict:
        return self._state.stats()

    def reset_stats(self) -> None:
        self._state.reset_stats()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Start a sandbox in this process (a daemon thread) and return once it accepts connections."""
    return RunningSandbox(config, host=host, port=port).start()


def serve(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 8787, log_level: str = "info"
) -> None:
    """Run a sandbox in the foreground until interrupted (the `replicate-mcp sandbox` command)."""
    uv, _ = _uvicorn_config(config or SandboxConfig(), host, port, log_level=log_level)
    sock = _listening_socket(host, port)
    try:
        uvicorn.Server(uv).run(sockets=[sock])
    finally:
        sock.close()
