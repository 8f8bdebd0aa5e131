"""--public-url over streamable HTTP: creates carry the server's own webhook, and a delivery wakes the server.

Polling is slowed to once a minute here, so a file on disk within seconds can only have come from the webhook.
"""

import socket
import sqlite3
import threading
import time
from pathlib import Path

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.config import load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server, http_app
from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook_server(tmp_path):
    box = start_sandbox(SandboxConfig(time_scale=0.01, seed=3, allow_insecure_webhooks=True))
    port = _free_port()
    settings = load_settings(
        {
            "transport": "http",
            "port": port,
            "public_url": f"http://127.0.0.1:{port}",
            "base_url": box.base_url,
            "data_dir": tmp_path / "data",
            "output_dir": tmp_path / "out",
            "poll_interval": 60,
        },
        env={"REPLICATE_API_TOKEN": TOKEN},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            http_app(create_server(settings, base_url=box.base_url), settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", box, tmp_path
    server.should_exit = True
    thread.join(5)
    box.stop()


async def test_a_webhook_saves_the_files_with_no_poll(webhook_server):
    url, box, tmp_path = webhook_server
    async with httpx2.AsyncClient() as http:
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            made = await client.call_tool(
                "create_prediction",
                {"model": "black-forest-labs/flux-schnell", "input": {"prompt": "a kite"}},
            )
            prediction_id = made.structured_content["id"]
            db = sqlite3.connect(tmp_path / "data" / "ledger.sqlite3")
            try:
                with anyio.fail_after(15):
                    while not db.execute(
                        "SELECT 1 FROM archived_files WHERE prediction_id=?", (prediction_id,)
                    ).fetchall():
                        await anyio.sleep(0.05)
                status = db.execute("SELECT status FROM predictions WHERE id=?", (prediction_id,)).fetchone()[
                    0
                ]
            finally:
                db.close()
    assert status == "succeeded"
    assert any(Path(tmp_path / "out" / prediction_id).iterdir())
    upstream = httpx2.get(
        f"{box.base_url}/predictions/{prediction_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert upstream["webhook"] == f"{url}/webhooks/replicate"
    assert upstream["webhook_events_filter"] == ["start", "output", "logs", "completed"]
    polls = box.stats()["requests"].get("GET /v1/predictions/{prediction_id}", 0)
    assert polls == 0, polls


async def test_a_forged_delivery_is_refused(webhook_server):
    url, _, _ = webhook_server
    headers = {
        "webhook-id": "msg_forged",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    }
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{url}/webhooks/replicate", content=b'{"id":"abc","status":"succeeded"}', headers=headers
        )
    assert response.status_code == 401
