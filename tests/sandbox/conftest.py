from __future__ import annotations

import httpx2
import pytest

from replicate_mcp.sandbox import RunningSandbox, SandboxConfig, start_sandbox

TOKEN = "r8_sandbox_test_token"
FAST = {"time_scale": 0.01, "cold_boot": 0.5, "seed": 7}


@pytest.fixture(scope="session")
def sandbox() -> RunningSandbox:
    """One fast sandbox shared by the tests that do not change its settings."""
    with start_sandbox(SandboxConfig(**FAST)) as running:
        yield running


@pytest.fixture
def make_sandbox():
    """Factory for a private sandbox with its own settings (stopped after the test)."""
    started: list[RunningSandbox] = []

    def make(**overrides) -> RunningSandbox:
        running = start_sandbox(SandboxConfig(**{**FAST, **overrides}))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def api(sandbox: RunningSandbox):
    with httpx2.Client(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as client:
        yield client


def client_for(running: RunningSandbox) -> httpx2.Client:
    return httpx2.Client(base_url=running.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)


def wait_terminal(client: httpx2.Client, url: str, polls: int = 400) -> dict:
    import time

    for _ in range(polls):
        body = client.get(url).json()
        if body["status"] in ("succeeded", "failed", "canceled", "aborted"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"prediction at {url} did not finish: {body['status']}")


def hello_version(client: httpx2.Client) -> str:
    return client.get("/v1/models/replicate/hello-world").json()["latest_version"]["id"]


def start_slow_prediction(client: httpx2.Client) -> dict:
    """A prediction of sandbox/text-to-video (minutes of model time: long enough to cancel)."""
    version = client.get("/v1/models/sandbox/text-to-video").json()["latest_version"]["id"]
    return client.post("/v1/predictions", json={"version": version, "input": {"prompt": "a slow pan"}}).json()
