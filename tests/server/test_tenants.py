"""Tenants are isolated: one person can never list, read, wait on, cancel or download another's predictions.

Both ways a server can know who calls: each person's own Replicate token (`--auth replicate-token`, two
sandbox accounts), and a team's identity provider (`--auth oauth`: everyone runs on the team's token, so the
server itself must keep them apart).
"""

from __future__ import annotations

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server

from .http_running import free_port, running_http
from .test_auth_oauth import Issuer

pytestmark = pytest.mark.anyio

ALICE, BOB = "r8_alice_tenant_0123456789", "r8_bob_tenant_0123456789"
FLUX = "black-forest-labs/flux-schnell"


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


@pytest.fixture(scope="module")
def two_accounts():
    running = start_sandbox(
        SandboxConfig(time_scale=0.01, seed=5, cold_boot=0.5, accounts={ALICE: "alice", BOB: "bob"})
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def issuer():
    running = Issuer()
    yield running
    running.http.shutdown()


async def check_isolation(base: str, alice: str, bob: str, mode: str) -> None:
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {alice}"}) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:
            made = await client.call_tool("run_model", {"model": FLUX, "input": {"prompt": "alice's fox"}})
            data = made.structured_content
            assert data["status"] == "succeeded", text_of(made)
            prediction_id = data["id"]
            link = next(b for b in made.content if b.type == "resource_link")
            assert (await client.read_resource(link.uri)).contents[0].blob
            listed = await client.call_tool("list_predictions", {})
            assert prediction_id in [p["id"] for p in listed.structured_content["predictions"]]

    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {bob}"}) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:
            for tool, arguments in (
                ("get_prediction", {"id": prediction_id}),
                ("cancel_prediction", {"id": prediction_id}),
            ):
                refused = await client.call_tool(tool, arguments)
                assert refused.is_error and "Not found" in text_of(refused), (tool, text_of(refused))
                assert "alice" not in text_of(refused).lower()
            waited = await client.call_tool("wait_for_prediction", {"ids": [prediction_id]})
            assert (
                waited.structured_content["finished"] == []
                and waited.structured_content["problems"][0]["id"] == prediction_id
            )
            listed = await client.call_tool("list_predictions", {})
            assert prediction_id not in [p["id"] for p in listed.structured_content["predictions"]]
            with pytest.raises(Exception):  # noqa: B017 - the SDK raises its McpError for a resource error
                await client.read_resource(link.uri)


async def test_own_tokens_keep_accounts_apart(make_settings, two_accounts, mode):
    settings = make_settings(
        transport="http", port=free_port(), auth="replicate-token", base_url=two_accounts.base_url
    )
    with running_http(create_server(settings, base_url=two_accounts.base_url), settings) as base:
        await check_isolation(base, ALICE, BOB, mode)


async def test_a_shared_team_token_keeps_people_apart(make_settings, sandbox, issuer, mode):
    port = free_port()
    settings = make_settings(
        transport="http",
        port=port,
        auth="oauth",
        oauth_issuer=issuer.url,
        oauth_audience=f"http://127.0.0.1:{port}/mcp",
    )
    with running_http(create_server(settings, base_url=sandbox.base_url), settings) as base:
        audience = f"{base}/mcp"
        await check_isolation(
            base,
            issuer.token(audience, sub="alice@example.com"),
            issuer.token(audience, sub="bob@example.com"),
            mode,
        )


async def test_each_person_has_their_own_limit_of_runs_in_flight(make_settings, two_accounts):
    settings = make_settings(
        transport="http",
        port=free_port(),
        auth="replicate-token",
        base_url=two_accounts.base_url,
        max_runs_per_tenant=2,
    )
    slow = {"model": "sandbox/text-to-video", "input": {"prompt": "a long pan"}}
    with running_http(create_server(settings, base_url=two_accounts.base_url), settings) as base:

        async def create(token: str):
            async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}) as http:
                async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                    return await client.call_tool("create_prediction", slow)

        first, second = await create(ALICE), await create(ALICE)
        assert not first.is_error and not second.is_error
        third = await create(ALICE)
        assert third.is_error
        assert text_of(third) == (
            "Error executing tool create_prediction: Nothing was started: 2 of your runs are "
            "still going, the most this server allows each person (--max-runs-per-tenant 2). "
            "Wait for one with wait_for_prediction, or cancel one, then call again."
        )
        assert not (await create(BOB)).is_error  # another person's runs do not count against Alice


async def test_task_ids_are_per_person(make_settings, two_accounts):
    """A task is the owner's: another person's tasks/get and tasks/cancel answer it as unknown (-32602)."""
    from mcp.shared.exceptions import MCPError

    from tests.server.task_client import TasksClient, call, cancel_task, get_task, until_done

    settings = make_settings(
        transport="http", port=free_port(), auth="replicate-token", base_url=two_accounts.base_url
    )
    with running_http(create_server(settings, base_url=two_accounts.base_url), settings) as base:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {ALICE}"}) as http:
            async with Client(
                streamable_http_client(f"{base}/mcp", http_client=http),
                mode="auto",
                extensions=[TasksClient()],
            ) as alice:
                created = await call(
                    alice,
                    "create_prediction",
                    {"model": "sandbox/text-to-video", "input": {"prompt": "alice's task"}},
                )
                task_id = created["taskId"]
                async with httpx2.AsyncClient(headers={"authorization": f"Bearer {BOB}"}) as bob_http:
                    async with Client(
                        streamable_http_client(f"{base}/mcp", http_client=bob_http),
                        mode="auto",
                        extensions=[TasksClient()],
                    ) as bob:
                        for probe in (get_task, cancel_task):
                            with pytest.raises(MCPError) as refused:
                                await probe(bob, task_id)
                            assert refused.value.error.code == -32602
                task, seen = await until_done(alice, task_id)
                assert (
                    seen[-1] == "completed" and task["result"]["structuredContent"]["status"] == "succeeded"
                )
