"""A small MCP Tasks client for the tests: declares `io.modelcontextprotocol/tasks`, receives
`CreateTaskResult`s as they are, and sends `tasks/get` / `tasks/cancel` as a client of the extension would."""

from typing import Any, Literal

import anyio
from mcp import Client
from mcp.client.extension import ClientExtension, ResultClaim
from mcp_types import Request, RequestParams, Result
from pydantic import ConfigDict, Field

TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = {"completed", "failed", "cancelled"}


class CreatedTask(Result):
    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"]


class TaskState(Result):
    model_config = ConfigDict(extra="allow")


class TaskRef(RequestParams):
    task_id: str = Field(alias="taskId")


class GetTask(Request[TaskRef, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"


class CancelTask(Request[TaskRef, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"


class TasksClient(ClientExtension):
    identifier = TASKS

    def claims(self):
        async def resolve(created, ctx):
            raise AssertionError("the tests read CreateTaskResult themselves (allow_claimed=True)")

        return [ResultClaim(result_type="task", model=CreatedTask, resolve=resolve)]


def wire(result: Any) -> dict[str, Any]:
    data = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    data.pop("_meta", None)
    return data


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool call's result as sent: a CreateTaskResult or a CallToolResult."""
    return wire(await client.session.call_tool(name, arguments, allow_claimed=True))


async def get_task(client: Client, task_id: str) -> dict[str, Any]:
    return wire(await client.session.send_request(GetTask(params=TaskRef(taskId=task_id)), TaskState))


async def cancel_task(client: Client, task_id: str) -> dict[str, Any]:
    return wire(await client.session.send_request(CancelTask(params=TaskRef(taskId=task_id)), TaskState))


async def until_done(client: Client, task_id: str, timeout: float = 30) -> tuple[dict[str, Any], list[str]]:
    """Poll tasks/get as a client would; the final task and the statuses seen on the way."""
    seen: list[str] = []
    with anyio.fail_after(timeout):
        while True:
            task = await get_task(client, task_id)
            if not seen or seen[-1] != task["status"]:
                seen.append(task["status"])
            if task["status"] in TERMINAL:
                return task, seen
            await anyio.sleep(task["pollIntervalMs"] / 1000 / 20)  # the sandbox's clock runs fast
