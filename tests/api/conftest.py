"""A sandbox shared by the API client tests (one per session, time_scale 0.01) and a client bound to it."""

from __future__ import annotations

import httpx2
import pytest

from replicate_mcp.api import ReplicateClient

TOKEN = "r8_apiClientTestToken0123456789abcdef"


class Sandbox:
    """The running sandbox plus its control API (faults, request counters)."""

    def __init__(self, running, control: httpx2.Client):
        self.running = running
        self.url = running.url
        self.base_url = running.base_url
        self._control = control

    def inject(self, *queue: dict, rates: dict | None = None) -> None:
        body = {"queue": list(queue), "rates": rates or {}}
        self._control.post(f"{self.url}/_sandbox/faults", json=body).raise_for_status()

    def clear(self) -> None:
        self._control.delete(f"{self.url}/_sandbox/faults").raise_for_status()
        self.running.reset_stats()

    def count(self, route: str) -> int:
        """Requests that reached the sandbox for "METHOD /v1/route-template", faulted ones included."""
        return self.running.stats()["requests"].get(route, 0)


@pytest.fixture(scope="session")
def sandbox_server():
    from replicate_mcp.sandbox import SandboxConfig, start_sandbox

    running = start_sandbox(SandboxConfig(time_scale=0.01, seed=1))
    with httpx2.Client() as control:
        yield running, control
    running.stop()


@pytest.fixture
def sandbox(sandbox_server):
    box = Sandbox(*sandbox_server)
    box.clear()
    yield box
    box.clear()


@pytest.fixture
async def client(sandbox):
    async with ReplicateClient(TOKEN, base_url=sandbox.base_url, backoff_base=0.01) as api:
        yield api
