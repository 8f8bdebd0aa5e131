"""Issue 12, item 19: the caller's predictions and saved files are listed as resources, and a subscriber is
told when a prediction changes, in both protocol eras (resources/subscribe in 2025, subscriptions/listen in
2026); with --auth, a person lists and follows only their own."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceUpdatedNotification

from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server

from .http_running import free_port, running_http

pytestmark = pytest.mark.anyio

HELLO = "replicate/hello-world"
FLUX = "black-forest-labs/flux-schnell"
SDXL = "stability-ai/sdxl"  # 50 steps at 2.5 steps/s: about 2 s of wall clock at time scale 0.1
ALICE, BOB = "r8_alice_resources_0123456789", "r8_bob_resources_0123456789"
NOT_YOURS = (
    "No prediction of yours is known for {}: subscribe to a replicate://predictions/{{id}} URI (or one of "
    "its files) listed by resources/list."
)


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def uri_of(prediction_id: str, file: int | None = None) -> str:
    uri = f"replicate://predictions/{prediction_id}"
    return uri if file is None else f"{uri}/files/{file}"


async def run(client, model: str, input: dict) -> dict:
    result = await client.call_tool("run_model", {"model": model, "input": input})
    assert result.structured_content["status"] == "succeeded", text_of(result)
    return result.structured_content


async def subscribe(client, uri: str) -> None:
    with warnings.catch_warnings():  # resources/subscribe is 2025-only, as the SDK's deprecation says
        warnings.simplefilter("ignore")
        await client.subscribe_resource(uri)


# --- resources/list -----------------------------------------------------------------------------------------


async def test_recent_predictions_and_their_files_are_listed_newest_first(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        assert (await client.list_resources()).resources == []
        hello = await run(client, HELLO, {"text": "listed"})
        flux = await run(client, FLUX, {"prompt": "a listed fox", "num_outputs": 2})
        listed = (await client.list_resources()).resources
        assert [r.uri for r in listed] == [
            uri_of(flux["id"]),
            uri_of(flux["id"], 0),
            uri_of(flux["id"], 1),
            uri_of(hello["id"]),
        ]
        prediction, first, second, text = listed
        assert (prediction.name, prediction.title, prediction.mime_type) == (
            f"prediction {flux['id']}",
            f"{FLUX} (succeeded)",
            "application/json",
        )
        assert prediction.description.startswith(f"{FLUX}, succeeded, created ")
        assert prediction.description.endswith("; 2 saved file(s)")
        assert text.description.endswith("; 0 saved file(s)")
        for listed_file, saved in ((first, flux["files"][0]), (second, flux["files"][1])):
            assert (listed_file.name, listed_file.mime_type, listed_file.size) == (
                Path(saved["path"]).name,
                saved["mime_type"],
                Path(saved["path"]).stat().st_size,
            )
            blob = (await client.read_resource(listed_file.uri)).contents[0]
            assert blob.mime_type == saved["mime_type"] and blob.blob
        full = json.loads((await client.read_resource(prediction.uri)).contents[0].text)
        assert full["id"] == flux["id"] and len(full["saved_files"]) == 2


# --- subscriptions ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_sandbox():
    running = start_sandbox(SandboxConfig(time_scale=0.1, seed=11, cold_boot=0.5))
    yield running
    running.stop()


@pytest.fixture
def slow_server(make_settings, slow_sandbox):
    return lambda: create_server(
        make_settings(base_url=slow_sandbox.base_url), base_url=slow_sandbox.base_url
    )


async def start(client, model: str = SDXL) -> str:
    started = await client.call_tool(
        "create_prediction", {"model": model, "input": {"prompt": "a followed fox"}}
    )
    assert started.structured_content["status"] in ("starting", "processing"), text_of(started)
    return started.structured_content["id"]


async def read_json(client, uri: str) -> dict:
    return json.loads((await client.read_resource(uri)).contents[0].text)


async def test_2026_listen_announces_each_change_then_the_saved_file(slow_server):
    async with Client(slow_server(), mode="auto") as client:
        assert client.protocol_version == "2026-07-28"
        assert client.server_capabilities.resources.subscribe is True
        prediction_id = await start(client)
        wanted = [uri_of(prediction_id), uri_of(prediction_id, 0), uri_of("noSuchPrediction0")]
        seen = []
        async with client.listen(resource_subscriptions=wanted) as stream:
            assert stream.honored.resource_subscriptions == wanted[:2]  # an unknown id is not followed
            with anyio.fail_after(60):
                async for event in stream:
                    seen.append(event.uri)
                    if event.uri == wanted[1]:
                        break
        assert seen[-1] == wanted[1] and len(seen) >= 2 and set(seen[:-1]) == {wanted[0]}
        final = await read_json(client, wanted[0])
        assert final["status"] == "succeeded" and len(final["saved_files"]) == 1


async def test_2025_subscribe_announces_each_change_then_the_saved_file(slow_server):
    updates: list[str] = []

    async def on_message(message) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(message.params.uri)

    async with Client(slow_server(), mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.resources.subscribe is True
        prediction_id = await start(client)
        await subscribe(client, uri_of(prediction_id))
        await subscribe(client, uri_of(prediction_id, 0))
        with anyio.fail_after(60):
            while uri_of(prediction_id, 0) not in updates:
                await anyio.sleep(0.05)
            while (await read_json(client, uri_of(prediction_id)))["status"] != "succeeded":
                await anyio.sleep(0.05)
        assert updates.count(uri_of(prediction_id, 0)) == 1 and updates.count(uri_of(prediction_id)) >= 1
        assert set(updates) == {uri_of(prediction_id), uri_of(prediction_id, 0)}
        with pytest.raises(MCPError) as refused:
            await subscribe(client, uri_of("noSuchPrediction0"))
        assert str(refused.value) == NOT_YOURS.format(uri_of("noSuchPrediction0"))


# --- tenants ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_accounts():
    running = start_sandbox(
        SandboxConfig(time_scale=0.01, seed=13, cold_boot=0.5, accounts={ALICE: "alice", BOB: "bob"})
    )
    yield running
    running.stop()


async def test_each_person_lists_and_follows_only_their_own(make_settings, two_accounts, mode):
    settings = make_settings(
        transport="http", port=free_port(), auth="replicate-token", base_url=two_accounts.base_url
    )
    with running_http(create_server(settings, base_url=two_accounts.base_url), settings) as base:
        made: dict[str, list[str]] = {}
        for token, model, input in ((ALICE, FLUX, {"prompt": "alice's fox"}), (BOB, HELLO, {"text": "bob"})):
            async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}) as http:
                async with Client(
                    streamable_http_client(f"{base}/mcp", http_client=http), mode=mode
                ) as client:
                    data = await run(client, model, input)
                    made[token] = [
                        uri_of(data["id"]),
                        *(uri_of(data["id"], n) for n in range(len(data.get("files", [])))),
                    ]
                    assert [r.uri for r in (await client.list_resources()).resources] == made[token]
        assert len(made[ALICE]) == 2 and len(made[BOB]) == 1

        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {BOB}"}) as http:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:
                if mode == "legacy":
                    for uri in made[ALICE]:
                        with pytest.raises(MCPError) as refused:
                            await subscribe(client, uri)
                        assert str(refused.value) == NOT_YOURS.format(uri)
                    await subscribe(client, made[BOB][0])
                else:
                    async with client.listen(resource_subscriptions=[*made[ALICE], *made[BOB]]) as stream:
                        assert stream.honored.resource_subscriptions == made[BOB]
