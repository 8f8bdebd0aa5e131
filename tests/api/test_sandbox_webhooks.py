"""Webhooks the sandbox sends verify with verify_webhook and the account's secret
(end to end, over loopback)."""

import asyncio
import json

import anyio
import pytest

from replicate_mcp.api import Prediction, WebhookVerificationError, verify_webhook

pytestmark = pytest.mark.anyio


class Receiver:
    """A minimal HTTP/1.1 endpoint that records each POST (headers, raw body) and answers 200."""

    def __init__(self):
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.arrived = asyncio.Event()

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.deliveries.append((headers, body))
            self.arrived.set()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def client():
    """A sandbox of its own that delivers to plain http (the loopback receiver):
    by default it takes https only."""
    from replicate_mcp.api import ReplicateClient
    from replicate_mcp.sandbox import SandboxConfig, start_sandbox
    from tests.api.conftest import TOKEN

    running = start_sandbox(SandboxConfig(time_scale=0.01, seed=1, allow_insecure_webhooks=True))
    try:
        async with ReplicateClient(TOKEN, base_url=running.base_url, backoff_base=0.01) as api:
            yield api
    finally:
        running.stop()


async def test_sandbox_webhooks_verify(client):
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        version = (await client.get_model("replicate", "hello-world")).latest_version.id
        prediction = await client.create_prediction(
            version=version,
            input={"text": "hook"},
            webhook=f"http://127.0.0.1:{port}/hook",
            webhook_events_filter=["completed"],
        )
        secret = await client.get_webhook_secret()
        with anyio.fail_after(10):
            await receiver.arrived.wait()
    finally:
        server.close()

    headers, body = receiver.deliveries[0]
    verify_webhook(headers, body, secret)
    delivered = Prediction.model_validate(json.loads(body))
    assert delivered.id == prediction.id
    assert delivered.status == "succeeded"
    assert delivered.output == "hello hook"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body.replace(b"hello hook", b"hello hack"), secret)
