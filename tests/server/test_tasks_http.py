"""MCP Tasks over streamable HTTP, as a remote client uses them: a 2026-07-28 client that declares the
extension gets tasks, a 2025 client the synchronous tools, and a request that needs the extension without
declaring it answers -32021 with HTTP 400."""

import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.server.tasks import TASKS
from tests.server.http_running import free_port, running_http
from tests.server.task_client import TasksClient, call, cancel_task, until_done
from tests.server.test_tasks import HELLO, SLOW, upstream

pytestmark = pytest.mark.anyio


@pytest.fixture
def http_url(make_settings, sandbox):
    from replicate_mcp.server import create_server

    settings = make_settings(transport="http", port=free_port())
    with running_http(create_server(settings, base_url=sandbox.base_url), settings) as base:
        yield f"{base}/mcp"


async def test_a_run_is_a_task_over_http(http_url, sandbox):
    async with Client(streamable_http_client(http_url), mode="auto", extensions=[TasksClient()]) as client:
        created = await call(client, "run_model", HELLO)
        assert created["resultType"] == "task" and created["status"] == "working"
        task, seen = await until_done(client, created["taskId"])
        assert seen[-1] == "completed"
        shown = task["result"]["structuredContent"]
        assert shown["id"] == created["taskId"] and shown["output"] == "hello tasks"
        schema = next(t for t in (await client.list_tools()).tools if t.name == "run_model").output_schema
        jsonschema.validate(shown, schema)

        slow = await call(client, "create_prediction", SLOW)
        assert await cancel_task(client, slow["taskId"]) == {"resultType": "complete"}
        task, _ = await until_done(client, slow["taskId"])
        assert task["status"] == "cancelled"
    assert upstream(sandbox, slow["taskId"])["status"] == "canceled"


async def test_a_2025_client_over_http_gets_the_synchronous_tool(http_url):
    async with Client(streamable_http_client(http_url), mode="legacy", extensions=[TasksClient()]) as client:
        result = await call(client, "run_model", HELLO)
        assert "taskId" not in result
        assert result["structuredContent"]["status"] == "succeeded"
        assert result["structuredContent"]["output"] == "hello tasks"


async def test_tasks_methods_without_the_extension_are_a_400_with_32021(http_url):
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": "tasks/get", "params": {"taskId": "abc123", "_meta": meta}}
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tasks/get",
        "mcp-name": "abc123",
    }
    async with httpx2.AsyncClient() as http:
        response = await http.post(http_url, json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert response.json()["id"] == 7
    assert error["code"] == -32021
    assert error["data"] == {"requiredCapabilities": {"extensions": {TASKS: {}}}}
    assert TASKS in error["message"] and "get_prediction" in error["message"]
