"""Trainings as MCP Tasks, as a client of the extension uses them: `train_model` answers a task whose id is
the training id, `tasks/get` inlines the result `get_training` returns once it is over, `tasks/cancel` cancels
it upstream; in memory, over streamable HTTP and across a restart. Other clients get the synchronous tool."""

import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.server.conftest import TOKEN
from tests.server.http_running import free_port, running_http
from tests.server.task_client import TasksClient, call, cancel_task, get_task, until_done

pytestmark = pytest.mark.anyio

TRAINER = "ostris/flux-dev-lora-trainer"
TOOLSETS = ("core", "training", "account")


def upstream(sandbox, training_id: str) -> dict:
    response = httpx2.get(
        f"{sandbox.base_url}/trainings/{training_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    response.raise_for_status()
    return response.json()


async def owner_of(client: Client) -> str:
    return (await client.call_tool("get_account", {})).structured_content["username"]


def training(owner: str, name: str, steps: int = 40) -> dict:
    return {
        "trainer": TRAINER,
        "destination": f"{owner}/{name}",
        "input": {"input_images": "https://example.com/photos.zip", "trigger_word": "TOK", "steps": steps},
    }


async def output_schema(client: Client, tool: str) -> dict:
    return next(t for t in (await client.list_tools()).tools if t.name == tool).output_schema


async def test_a_training_is_a_task_named_by_its_training(make_server, sandbox):
    async with Client(make_server(toolsets=TOOLSETS), mode="auto", extensions=[TasksClient()]) as client:
        owner = await owner_of(client)
        created = await call(client, "train_model", training(owner, "task-lora"))
        assert created["resultType"] == "task" and created["status"] == "working", created
        assert "result" not in created and "content" not in created
        task_id = created["taskId"]
        assert upstream(sandbox, task_id)["input"]["trigger_word"] == "TOK"  # the task id is the training id
        assert created["ttlMs"] == 5 * 3_600_000  # its 4 h lifetime, and the hour after it
        assert created["pollIntervalMs"] == 1000

        task, seen = await until_done(client, task_id, timeout=120)
        assert seen[-1] == "completed" and task["resultType"] == "complete"
        result = task["result"]
        assert "isError" not in result
        shown = result["structuredContent"]
        assert shown["id"] == task_id and shown["status"] == "succeeded"
        assert shown["version"].startswith(f"{owner}/task-lora:")
        assert shown["next"] == f"run_model with model {shown['version']!r}"
        jsonschema.validate(shown, await output_schema(client, "train_model"))
        direct = await client.call_tool("get_training", {"id": task_id})  # not a task tool: answered as it is
        assert direct.structured_content == shown


async def test_cancel_cancels_the_training_upstream(make_server, sandbox):
    async with Client(make_server(toolsets=TOOLSETS), mode="auto", extensions=[TasksClient()]) as client:
        task_id = (await call(client, "train_model", training(await owner_of(client), "task-cancel", 5000)))[
            "taskId"
        ]
        assert await cancel_task(client, task_id) == {"resultType": "complete"}
        task, _ = await until_done(client, task_id)
        assert task["status"] == "cancelled"
        assert "result" not in task and "error" not in task
        assert upstream(sandbox, task_id)["status"] == "canceled"
        assert await cancel_task(client, task_id) == {"resultType": "complete"}


async def test_a_refused_training_starts_nothing_and_is_a_plain_tool_error(make_server, sandbox):
    before = sandbox.stats()["requests"].get(
        "POST /v1/models/{owner}/{name}/versions/{version_id}/trainings", 0
    )
    async with Client(make_server(toolsets=TOOLSETS), mode="auto", extensions=[TasksClient()]) as client:
        bad = training(await owner_of(client), "never")
        bad["input"]["steps"] = "many"
        result = await call(client, "train_model", bad)
    assert result["resultType"] == "complete" and result["isError"] is True and "taskId" not in result
    assert "steps" in result["content"][0]["text"]
    assert (
        sandbox.stats()["requests"].get("POST /v1/models/{owner}/{name}/versions/{version_id}/trainings", 0)
        == before
    )


async def test_other_clients_get_the_synchronous_train_model(make_server, mode):
    extensions = (
        [TasksClient()] if mode == "legacy" else []
    )  # a 2025 client declaring tasks gets them neither
    async with Client(make_server(toolsets=TOOLSETS), mode=mode, extensions=extensions) as client:
        result = await call(client, "train_model", training(await owner_of(client), f"sync-{mode}"))
    assert "taskId" not in result
    assert result["structuredContent"]["status"] in ("starting", "processing")


async def test_a_training_task_outlives_a_server_restart(make_server):
    async with Client(make_server(toolsets=TOOLSETS), mode="auto", extensions=[TasksClient()]) as client:
        task_id = (await call(client, "train_model", training(await owner_of(client), "task-restart")))[
            "taskId"
        ]
    async with Client(make_server(toolsets=TOOLSETS), mode="auto", extensions=[TasksClient()]) as client:
        task, _ = await until_done(client, task_id, timeout=120)
        assert task["status"] == "completed"
        assert task["result"]["structuredContent"]["id"] == task_id
        assert task["result"]["structuredContent"]["status"] == "succeeded"
        assert task["ttlMs"] == 5 * 3_600_000
        assert (await get_task(client, task_id))["result"] == task["result"]


async def test_a_training_is_a_task_over_http(make_settings, sandbox):
    from replicate_mcp.server import create_server

    settings = make_settings(transport="http", port=free_port(), toolsets=TOOLSETS)
    with running_http(create_server(settings, base_url=sandbox.base_url), settings) as base:
        async with Client(
            streamable_http_client(f"{base}/mcp"), mode="auto", extensions=[TasksClient()]
        ) as client:
            created = await call(client, "train_model", training(await owner_of(client), "task-http"))
            assert created["resultType"] == "task"
            task, seen = await until_done(client, created["taskId"], timeout=120)
            assert seen[-1] == "completed"
            shown = task["result"]["structuredContent"]
            assert shown["id"] == created["taskId"] and shown["status"] == "succeeded"
            jsonschema.validate(shown, await output_schema(client, "train_model"))
