"""Task status notifications (the Tasks extension on 2026-07-28): a `subscriptions/listen` naming task ids in
`tasksStatus` gets `notifications/tasks/status` for the caller's own runs, each what `tasks/get` answers at
that moment: working with its status messages at a bounded rate, then the end with the result inlined."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import count
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import NotificationBinding
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import NotificationParams
from pydantic import ConfigDict

from replicate_mcp.server import create_server
from replicate_mcp.server.prediction_resources import TASK_STATUS_INTERVAL
from tests.server.http_running import free_port, running_http
from tests.server.task_client import TasksClient, call, cancel_task, get_task

pytestmark = pytest.mark.anyio

SUBSCRIPTION = "io.modelcontextprotocol/subscriptionId"
VIDEO = {"model": "sandbox/text-to-video", "input": {"prompt": "a task followed by notifications"}}
HELLO = {"model": "replicate/hello-world", "input": {"text": "notified"}}
FAILING = {
    "model": "sandbox/upscaler",
    "input": {"image": "https://replicate.delivery/sandbox/upscaler/example/input.png", "scale": 8},
}
_ids = count(1)


class StatusParams(NotificationParams):
    model_config = ConfigDict(extra="allow")


class StatusClient(TasksClient):
    """Declares Tasks and keeps each notifications/tasks/status as it arrived (with the time it did)."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.arrived = anyio.Event()

    def notifications(self):
        async def keep(params: StatusParams) -> None:
            self.received.append((anyio.current_time(), params.model_dump(by_alias=True, exclude_none=True)))
            self.arrived.set()
            self.arrived = anyio.Event()

        return [
            NotificationBinding(method="notifications/tasks/status", params_type=StatusParams, handler=keep)
        ]

    async def until(self, task_id: str, status: str, timeout: float = 60) -> list[dict[str, Any]]:
        """The statuses received for `task_id` once one has `status`."""
        with anyio.fail_after(timeout):
            while True:
                mine = [state for _, state in self.received if state["taskId"] == task_id]
                if any(state["status"] == status for state in mine):
                    return mine
                await self.arrived.wait()


@asynccontextmanager
async def listen_tasks(client: Client, task_ids: list[str], **filters: Any) -> AsyncIterator[dict[str, Any]]:
    """A subscriptions/listen stream naming task ids, as the SDK's own listen() sends one;
    yields the honored filter."""
    session = client.session
    request_id = f"tasks-listen-{next(_ids)}"
    params = {"notifications": {"tasksStatus": task_ids, **filters}}
    data = {"method": "subscriptions/listen", "params": params}
    opts = {"request_id": request_id}
    session._stamp(data, opts)
    route = session._register_listen_route(request_id)
    failure: list[MCPError] = []

    async def drive() -> None:
        try:
            await session._dispatcher.send_raw_request(data["method"], data["params"], opts)
        except MCPError as exc:
            failure.append(exc)
            route.settle("lost", error=exc)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(drive)
            with anyio.fail_after(10):
                await route.acked.wait()
            if not failure:
                yield route.honored.model_dump(by_alias=True, exclude_none=True)
            tg.cancel_scope.cancel()
    finally:
        session._unregister_listen_route(request_id)
    if failure:
        raise failure[0]


async def test_a_listening_client_is_told_each_status_then_the_result(make_server):
    status = StatusClient()
    async with Client(make_server(), mode="auto", extensions=[status]) as client:
        task_id = (await call(client, "create_prediction", VIDEO))["taskId"]
        async with listen_tasks(client, [task_id, "noSuchTask0"]) as honored:
            assert honored == {"tasksStatus": [task_id]}  # an id that is not the caller's run is left out
            states = await status.until(task_id, "completed")
        assert [s["status"] for s in states[:-1]] == ["working"] * (len(states) - 1) and len(states) >= 3
        messages = [s["statusMessage"] for s in states[:-1]]
        assert len(set(messages)) == len(messages)  # each one a change
        assert any(m.startswith("running") for m in messages)
        final = states[-1]
        assert final[SUBSCRIPTION_KEY := "_meta"][SUBSCRIPTION].startswith("tasks-listen-")
        del final[SUBSCRIPTION_KEY]
        polled = await get_task(client, task_id)
        polled.pop("resultType")
        assert final == polled  # what tasks/get answers, result inlined
        assert final["result"]["structuredContent"]["status"] == "succeeded"
        times = [t for t, s in status.received if s["taskId"] == task_id and s["status"] == "working"]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(gap >= TASK_STATUS_INTERVAL * 0.9 for gap in gaps), gaps  # working news: bounded in rate


async def test_cancel_and_a_failed_model_are_notified(make_server):
    status = StatusClient()
    async with Client(make_server(), mode="auto", extensions=[status]) as client:
        slow = (await call(client, "create_prediction", VIDEO))["taskId"]
        failing = (await call(client, "run_model", FAILING))["taskId"]
        async with listen_tasks(client, [slow, failing]) as honored:
            assert sorted(honored["tasksStatus"]) == sorted([slow, failing])
            await cancel_task(client, slow)
            cancelled = (await status.until(slow, "cancelled"))[-1]
            failed = (await status.until(failing, "completed"))[-1]
    assert "result" not in cancelled and "error" not in cancelled
    assert failed["result"]["isError"] is True
    assert failed["result"]["structuredContent"]["status"] == "failed"


async def test_a_finished_task_is_told_once_with_its_result(make_server):
    status = StatusClient()
    async with Client(make_server(), mode="auto", extensions=[status]) as client:
        done = (await call(client, "run_model", HELLO))["taskId"]
        while (await get_task(client, done))["status"] != "completed":
            await anyio.sleep(0.05)
        async with listen_tasks(client, [done]):
            [state] = await status.until(done, "completed")
            await anyio.sleep(TASK_STATUS_INTERVAL * 2)
    assert [s for _, s in status.received] == [state]
    assert state["result"]["structuredContent"]["output"] == "hello notified"


async def test_tasks_status_without_the_extension_is_32021(make_server):
    async with Client(make_server(), mode="auto") as client:
        started = await client.call_tool("create_prediction", HELLO)
        with pytest.raises(MCPError) as raised:
            async with listen_tasks(client, [started.structured_content["id"]]):
                pass
    assert raised.value.code == -32021
    assert "tasksStatus" in str(raised.value) and "wait_for_prediction" in str(raised.value)


async def test_task_status_over_http(make_settings, sandbox):
    settings = make_settings(transport="http", port=free_port())
    status = StatusClient()
    with running_http(create_server(settings, base_url=sandbox.base_url), settings) as base:
        async with Client(streamable_http_client(f"{base}/mcp"), mode="auto", extensions=[status]) as client:
            task_id = (await call(client, "create_prediction", VIDEO))["taskId"]
            async with listen_tasks(client, [task_id]) as honored:
                assert honored == {"tasksStatus": [task_id]}
                states = await status.until(task_id, "completed")
    assert states[0]["status"] == "working" and states[-1]["status"] == "completed"
    assert states[-1]["result"]["structuredContent"]["id"] == task_id
