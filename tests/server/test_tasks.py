"""MCP Tasks over the real server, as a client of the extension uses them: a run is a task whose id is the
prediction id, polled with tasks/get until its result (the tool's own result) is inlined."""

import anyio
import httpx2
import jsonschema
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.server.conftest import TOKEN
from tests.server.task_client import TasksClient, call, cancel_task, get_task, until_done

pytestmark = pytest.mark.anyio

HELLO = {"model": "replicate/hello-world", "input": {"text": "tasks"}}
SLOW = {"model": "sandbox/text-to-video", "input": {"prompt": "a task that runs long"}}
FAILING = {
    "model": "sandbox/upscaler",
    "input": {"image": "https://replicate.delivery/sandbox/upscaler/example/input.png", "scale": 8},
}


def upstream(sandbox, prediction_id: str) -> dict:
    response = httpx2.get(
        f"{sandbox.base_url}/predictions/{prediction_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    response.raise_for_status()
    return response.json()


async def output_schema(client: Client, tool: str) -> dict:
    return next(t for t in (await client.list_tools()).tools if t.name == tool).output_schema


@pytest.mark.parametrize("tool", ["run_model", "create_prediction"])
async def test_a_run_is_a_task_named_by_its_prediction(make_server, sandbox, tool):
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        created = await call(client, tool, HELLO)
        assert created["resultType"] == "task"
        assert created["status"] == "working"
        assert created["ttlMs"] == 3_600_000 and created["pollIntervalMs"] == 1000
        assert "result" not in created and "content" not in created
        task_id = created["taskId"]
        assert upstream(sandbox, task_id)["input"] == {"text": "tasks"}  # the task id is the prediction id

        task, seen = await until_done(client, task_id)
        assert seen[-1] == "completed"
        assert task["resultType"] == "complete"
        result = task["result"]
        assert "isError" not in result
        assert result["structuredContent"]["id"] == task_id
        assert result["structuredContent"]["status"] == "succeeded"
        assert result["structuredContent"]["output"] == "hello tasks"
        jsonschema.validate(result["structuredContent"], await output_schema(client, tool))
        again = await get_task(client, task_id)
        assert again["status"] == "completed" and again["result"] == result


async def test_the_inlined_result_is_the_one_the_tool_returns(make_server):
    async with (
        Client(make_server(), mode="auto", extensions=[TasksClient()]) as tasks,
        Client(make_server(), mode="auto") as plain,
    ):
        task, _ = await until_done(tasks, (await call(tasks, "run_model", HELLO))["taskId"])
        direct = (await plain.call_tool("run_model", HELLO)).model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
    for shown in (task["result"]["structuredContent"], direct["structuredContent"]):
        shown.pop("id"), shown.pop("created_at"), shown.pop("metrics")
        assert [note.split(" (")[0].startswith("cost ≈ $") for note in shown.pop("notes")] == [
            True
        ]  # its own time
    assert task["result"]["structuredContent"] == direct["structuredContent"]


async def test_a_failed_model_is_a_completed_task_with_a_tool_error(make_server):
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        created = await call(client, "run_model", FAILING)
        task, _ = await until_done(client, created["taskId"])
        assert task["status"] == "completed"
        assert "error" not in task
        assert task["result"]["isError"] is True
        shown = task["result"]["structuredContent"]
        assert shown["status"] == "failed"
        assert "out of memory" in shown["error"].lower()
        assert shown["logs"]  # the end of the logs, as run_model shows a failed run
        jsonschema.validate(shown, await output_schema(client, "run_model"))


async def test_refused_input_starts_nothing_and_is_a_plain_tool_error(make_server, sandbox):
    before = upstream_count(sandbox)
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        result = await call(client, "run_model", {"model": "replicate/hello-world", "input": {"txt": "typo"}})
    assert result["resultType"] == "complete" and result["isError"] is True
    assert "taskId" not in result
    assert "text" in result["content"][0]["text"]  # names the field to use
    assert upstream_count(sandbox) == before


def upstream_count(sandbox) -> int:
    page = httpx2.get(f"{sandbox.base_url}/predictions", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return len(page["results"]) + (1000 if page.get("next") else 0)


async def test_cancel_cancels_upstream_and_is_idempotent(make_server, sandbox):
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        task_id = (await call(client, "create_prediction", SLOW))["taskId"]
        assert await cancel_task(client, task_id) == {"resultType": "complete"}
        task, _ = await until_done(client, task_id)
        assert task["status"] == "cancelled"
        assert "result" not in task and "error" not in task
        assert upstream(sandbox, task_id)["status"] == "canceled"
        assert await cancel_task(client, task_id) == {"resultType": "complete"}


async def test_an_unknown_task_is_invalid_params(make_server):
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        for ask in (get_task, cancel_task):
            with pytest.raises(MCPError) as raised:
                await ask(client, "no-such-task-id")
            assert raised.value.code == -32602
            assert "no-such-task-id" in str(raised.value)


async def test_clients_that_do_not_declare_tasks_get_the_synchronous_tools(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool("run_model", HELLO)
        assert result.is_error is False
        assert result.structured_content["status"] == "succeeded"
        with pytest.raises(MCPError) as raised:
            await get_task(client, result.structured_content["id"])
    # 2026-07-28 without the extension: the capability is missing; 2025: the method does not exist there
    assert raised.value.code == (-32021 if mode == "auto" else -32601)


async def test_legacy_clients_declaring_tasks_still_get_the_synchronous_tools(make_server):
    async with Client(make_server(), mode="legacy", extensions=[TasksClient()]) as client:
        result = await client.call_tool("run_model", HELLO)
    assert result.structured_content["status"] == "succeeded"


async def test_a_task_nobody_polls_still_ends_and_is_archived(make_server):
    server = make_server()
    async with Client(server, mode="auto", extensions=[TasksClient()]) as client:
        task_id = (
            await call(
                client,
                "run_model",
                {"model": "black-forest-labs/flux-schnell", "input": {"prompt": "never polled"}},
            )
        )["taskId"]
        tracked = server.services.supervisor.known(task_id)
        with anyio.fail_after(30):
            await tracked.done.wait()
        entry = server.services.ledger.get(task_id)
        assert entry.status == "succeeded"
        assert entry.keep_running is True  # a task is the client's: a dropped connection does not cancel it
        files = server.services.ledger.files(task_id)
        assert files and all(f.path and open(f.path, "rb").read(4) for f in files)


async def test_a_task_outlives_a_server_restart(make_server, sandbox):
    async with Client(make_server(), mode="auto", extensions=[TasksClient()]) as client:
        task_id = (
            await call(
                client,
                "create_prediction",
                {"model": "sandbox/text-to-video", "input": {"prompt": "across a restart"}},
            )
        )["taskId"]
    # A new process on the same data folder (the first one is gone): it answers from the ledger and Replicate.
    server = make_server()
    async with Client(server, mode="auto", extensions=[TasksClient()]) as client:
        task, _ = await until_done(client, task_id)
        assert task["status"] == "completed"
        shown = task["result"]["structuredContent"]
        assert shown["id"] == task_id and shown["status"] == "succeeded"
        assert shown["files"][0]["path"] == server.services.ledger.files(task_id)[0].path
        assert task["createdAt"] <= task["lastUpdatedAt"]
