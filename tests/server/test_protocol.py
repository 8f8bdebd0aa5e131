"""The server as clients meet it: tool list size and portability, stdio subprocess, streamable HTTP."""

import json
import os
import socket
import sys
import threading
import time

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client, StdioServerParameters

from replicate_mcp.server import http_app
from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

VISIBLE_LIMIT = 8_000
WHOLE_LIMIT = 20_000


def tool_list_sizes(tools) -> tuple[int, int]:
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    visible = [{k: t[k] for k in ("name", "description", "inputSchema") if k in t} for t in dumped]
    compact = {"separators": (",", ":")}
    return len(json.dumps(visible, **compact)), len(json.dumps({"tools": dumped}, **compact))


def walk(schema):
    yield schema
    if isinstance(schema, dict):
        for value in schema.values():
            yield from walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk(value)


async def test_tool_list_is_small_and_portable(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        tools = (await client.list_tools()).tools
    visible, whole = tool_list_sizes(tools)
    assert len(tools) == 13  # the core toolset: the 11 run tools, run_batch and replicate_docs
    assert visible <= VISIBLE_LIMIT, visible
    assert whole <= WHOLE_LIMIT, whole
    for tool in tools:
        schema = tool.input_schema
        assert schema["type"] == "object" and not {"oneOf", "anyOf", "allOf"} & schema.keys()
        assert not any(isinstance(node, dict) and "$ref" in node for node in walk(schema)), tool.name
        assert len(tool.name) <= 64 and tool.description and tool.annotations is not None


async def test_instructions_and_prompt(make_server):
    async with Client(make_server(), mode="legacy") as client:
        assert "search_models" in (client.instructions or "")
        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["run_a_model"]
        prompt = await client.get_prompt("run_a_model", {"task": "draw a fox"})
        assert "draw a fox" in prompt.messages[0].content.text


async def test_stdio_subprocess_runs_a_model(sandbox, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": sandbox.url,  # without /v1: the server adds it
        "REPLICATE_MCP_DATA_DIR": str(tmp_path / "data"),
        "REPLICATE_MCP_OUTPUT_DIR": str(tmp_path / "out"),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "replicate_mcp"], env=env)
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        assert "run_model" in {t.name for t in tools}
        result = await client.call_tool(
            "run_model", {"model": "replicate/hello-world", "input": {"text": "stdio"}}
        )
        assert result.structured_content["output"] == "hello stdio"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(make_settings, sandbox):
    from replicate_mcp.server import create_server

    port = _free_port()
    settings = make_settings(transport="http", port=port, http_token="s3cret-http-token")
    app = http_app(create_server(settings, base_url=sandbox.base_url), settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(5)


async def test_http_transport_needs_the_bearer_token_and_a_local_origin(http_server):
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with httpx2.AsyncClient() as http:
        missing = await http.post(http_server, json=hello, headers=headers)
        assert missing.status_code == 401
        auth = {**headers, "authorization": "Bearer s3cret-http-token"}
        foreign = await http.post(http_server, json=hello, headers={**auth, "origin": "https://evil.example"})
        assert foreign.status_code == 403
        ok = await http.post(
            http_server, json=hello, headers={**auth, "origin": http_server.removesuffix("/mcp")}
        )
        assert ok.status_code == 200

    async with httpx2.AsyncClient(headers={"authorization": "Bearer s3cret-http-token"}) as http:
        from mcp.client.streamable_http import streamable_http_client

        async with Client(streamable_http_client(http_server, http_client=http)) as client:
            result = await client.call_tool(
                "run_model", {"model": "replicate/hello-world", "input": {"text": "http"}}
            )
            assert result.structured_content["output"] == "hello http"
    await anyio.sleep(0)
