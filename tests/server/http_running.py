"""Run a server's streamable-HTTP app (http_app) with uvicorn on a loopback port,
in a thread, for one test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from replicate_mcp.server import http_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_http(server, settings) -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT) of `http_app(server, settings)` bound to settings.port."""
    app = http_app(server, settings)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(500):
        if uv.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        uv.should_exit = True
        thread.join(5)
