"""Every tool through a real MCP client session, in both protocol eras, against the sandbox over loopback."""

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

FLUX = "black-forest-labs/flux-schnell"
SLOW = "sandbox/text-to-video"  # about 200 model seconds: 2 s at the tests' time scale


def creates(sandbox) -> int:
    requests = sandbox.stats()["requests"]
    return sum(
        n for route, n in requests.items() if route.startswith("POST") and route.endswith("/predictions")
    )


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def start_hello_worlds(client, count: int) -> list[str]:
    """Start `count` hello-world predictions at once (inputs n0, n1, …); returns their ids."""
    ids: list[str] = []

    async def start(n: int) -> None:
        made = await client.call_tool(
            "create_prediction", {"model": "replicate/hello-world", "input": {"text": f"n{n}"}}
        )
        ids.append(made.structured_content["id"])

    async with anyio.create_task_group() as group:
        for n in range(count):
            group.start_soon(start, n)
    return ids


async def test_search_collections_and_model_card(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        found = await client.call_tool("search_models", {"query": "image", "limit": 5})
        assert not found.is_error, text_of(found)
        names = [m["model"] for m in found.structured_content["models"]]
        assert FLUX in names

        collections = await client.call_tool("list_collections", {})
        slugs = [c["slug"] for c in collections.structured_content["collections"]]
        assert slugs
        one = await client.call_tool("list_collections", {"slug": slugs[0]})
        assert one.structured_content["models"], text_of(one)

        card = (await client.call_tool("get_model", {"model": FLUX})).structured_content
        assert card["official"] is True and "version" not in card
        assert "prompt*" in card["inputs"] and "aspect_ratio" in card["inputs"]
        assert card["output"] == "files"
        assert card["example_input"]["prompt"]

        community = (
            await client.call_tool("get_model", {"model": "replicate/hello-world"})
        ).structured_content
        assert community["official"] is False and len(community["version"]) == 64


async def test_validate_input_reports_every_problem_and_sends_nothing(make_server, sandbox, mode):
    before = creates(sandbox)
    async with Client(make_server(), mode=mode) as client:
        bad = {"prompt": "a fox", "aspect_ratio": "16x9", "num_ouputs": 2, "num_inference_steps": 9}
        report = (await client.call_tool("validate_input", {"model": FLUX, "input": bad})).structured_content
        assert report["valid"] is False
        fields = {e["field"] for e in report["errors"]}
        assert {"aspect_ratio", "num_ouputs", "num_inference_steps"} <= fields
        assert any(e.get("suggestion") == "16:9" for e in report["errors"])

        good = await client.call_tool(
            "validate_input", {"model": FLUX, "input": {"prompt": "a fox", "num_outputs": "2"}}
        )
        assert good.structured_content["valid"] is True
        assert good.structured_content["normalized_input"]["num_outputs"] == 2
        assert good.structured_content["coercions"]

        refused = await client.call_tool("run_model", {"model": FLUX, "input": bad})
        assert refused.is_error
        message = text_of(refused)
        assert "nothing was sent" in message and "num_outputs" in message and "16:9" in message
    assert creates(sandbox) == before


async def test_run_model_returns_text_files_and_thumbnails(make_server, sandbox, mode, tmp_path):
    async with Client(make_server(), mode=mode) as client:
        hello = await client.call_tool(
            "run_model", {"model": "replicate/hello-world", "input": {"text": "agent"}}
        )
        assert hello.structured_content["status"] == "succeeded", text_of(hello)
        assert hello.structured_content["output"] == "hello agent"

        result = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a fox", "num_outputs": 2}}
        )
        data = result.structured_content
        assert data["status"] == "succeeded", text_of(result)
        assert len(data["files"]) == 2
        for f in data["files"]:
            path = Path(f["path"])
            assert path.is_file() and path.is_relative_to(tmp_path / "outputs")
            assert f["mime_type"].startswith("image/")
        images = [b for b in result.content if b.type == "image"]
        links = [b for b in result.content if b.type == "resource_link"]
        assert len(images) == 2 and len(links) == 2

        resource = await client.read_resource(links[0].uri)
        assert resource.contents[0].mime_type == data["files"][0]["mime_type"]
        assert resource.contents[0].blob


async def test_language_model_output_is_joined(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(
            "run_model",
            {"model": "meta/meta-llama-3-8b-instruct", "input": {"prompt": "Say hi", "max_tokens": 40}},
        )
        data = result.structured_content
        assert data["status"] == "succeeded", text_of(result)
        assert isinstance(data["output"], str) and len(data["output"]) > 10
        assert "files" not in data


async def test_long_run_returns_handle_then_wait_collects_it(make_server, mode):
    progress: list[float] = []

    async def on_progress(value, total, message):
        progress.append(value)

    async with Client(make_server(), mode=mode) as client:
        handle = await client.call_tool(
            "run_model", {"model": SLOW, "input": {"prompt": "a lighthouse"}, "wait_seconds": 1}
        )
        data = handle.structured_content
        assert data["status"] in ("starting", "processing"), text_of(handle)
        assert "wait_for_prediction" in data["next"]

        done = await client.call_tool(
            "wait_for_prediction", {"ids": data["id"], "wait_seconds": 30}, progress_callback=on_progress
        )
        finished = done.structured_content["finished"]
        assert [f["id"] for f in finished] == [data["id"]] and finished[0]["status"] == "succeeded"
        assert finished[0]["files"][0]["path"]
        assert progress and progress == sorted(set(progress))


async def test_progress_strictly_increases_with_messages(make_server):
    seen: list[tuple[float, str]] = []

    async def on_progress(value, total, message):
        seen.append((value, message or ""))

    async with Client(make_server()) as client:
        result = await client.call_tool(
            "run_model",
            {"model": SLOW, "input": {"prompt": "x"}, "wait_seconds": 30},
            progress_callback=on_progress,
        )
        assert result.structured_content["status"] == "succeeded", text_of(result)
    values = [v for v, _ in seen]
    assert len(values) >= 3 and all(b > a for a, b in zip(values, values[1:], strict=False))
    assert any("%" in m for _, m in seen), seen


async def test_create_get_list_cancel(make_server, sandbox, mode):
    async with Client(make_server(), mode=mode) as client:
        created = (
            await client.call_tool(
                "create_prediction", {"model": "stability-ai/sdxl", "input": {"prompt": "x"}}
            )
        ).structured_content
        assert created["status"] in ("starting", "processing")
        got = (await client.call_tool("get_prediction", {"id": created["id"]})).structured_content
        assert got["id"] == created["id"]
        listed = (await client.call_tool("list_predictions", {})).structured_content
        assert created["id"] in [p["id"] for p in listed["predictions"]]
        canceled = (await client.call_tool("cancel_prediction", {"id": created["id"]})).structured_content
        assert canceled["status"] == "canceled"

        missing = await client.call_tool("get_prediction", {"id": "nonexistentid0000000000000"})
        assert missing.is_error and "Not found" in text_of(missing)


async def test_client_cancel_cancels_upstream(make_server, sandbox):
    server = make_server()
    async with Client(server) as client:
        with anyio.move_on_after(1.5):
            await client.call_tool("run_model", {"model": SLOW, "input": {"prompt": "x"}, "wait_seconds": 40})
        await anyio.sleep(0.5)  # the shielded cleanup runs on the server after the client gave up
        page = (await client.call_tool("list_predictions", {})).structured_content["predictions"]
    newest = page[0]
    assert newest["status"] == "canceled", page[:3]


async def test_created_predictions_survive_client_cancel(make_server):
    async with Client(make_server()) as client:
        created = (
            await client.call_tool(
                "create_prediction", {"model": "stability-ai/sdxl", "input": {"prompt": "x"}}
            )
        ).structured_content
        with anyio.move_on_after(0.05):
            await client.call_tool("wait_for_prediction", {"ids": [created["id"]], "wait_seconds": 30})
        await anyio.sleep(0.3)
        state = (await client.call_tool("get_prediction", {"id": created["id"]})).structured_content
        assert state["status"] != "canceled"


async def test_ten_concurrent_predictions(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        ids = await start_hello_worlds(client, 10)
        done = (
            await client.call_tool("wait_for_prediction", {"ids": ids, "wait_seconds": 30})
        ).structured_content
        assert len(done["finished"]) == 10 and not done["running"]
        assert sorted(f["output"] for f in done["finished"]) == sorted(f"hello n{n}" for n in range(10))


async def test_read_only_and_allow_models(make_server):
    async with Client(make_server(read_only=True)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert not names & {"run_model", "create_prediction", "cancel_prediction", "upload_file"}
        assert {"search_models", "get_model", "validate_input", "get_prediction"} <= names

    async with Client(make_server(allow_models=("replicate/*",))) as client:
        ok = await client.call_tool("get_model", {"model": "replicate/hello-world"})
        assert not ok.is_error
        refused = await client.call_tool("run_model", {"model": FLUX, "input": {"prompt": "x"}})
        assert refused.is_error and "--allow-models" in text_of(refused)


async def test_missing_token_is_a_clear_error(sandbox, tmp_path):
    from replicate_mcp.config import load_settings
    from replicate_mcp.server import create_server

    settings = load_settings({"data_dir": tmp_path, "output_dir": tmp_path / "o"}, env={})
    async with Client(create_server(settings, base_url=sandbox.base_url)) as client:
        result = await client.call_tool("run_model", {"model": FLUX, "input": {"prompt": "x"}})
        assert result.is_error and "REPLICATE_API_TOKEN" in text_of(result)
        found = await client.call_tool("search_models", {"query": "image"})  # search needs no token
        assert not found.is_error


async def test_bad_token_and_bad_reference_errors_never_show_the_token(sandbox, tmp_path):
    from replicate_mcp.config import load_settings
    from replicate_mcp.server import create_server

    secret = "r8_not_valid_for_this_sandbox"
    settings = load_settings(
        {"data_dir": tmp_path, "output_dir": tmp_path / "o"}, env={"REPLICATE_API_TOKEN": secret}
    )
    sandbox_settings = create_server(settings, base_url=sandbox.base_url)
    async with Client(sandbox_settings) as client:
        bad_ref = await client.call_tool("get_model", {"model": "not a model"})
        assert bad_ref.is_error and "owner/name" in text_of(bad_ref)
        for result in (bad_ref, await client.call_tool("get_prediction", {"id": "x" * 26})):
            assert secret not in json.dumps(result.model_dump(mode="json"))
    assert TOKEN not in json.dumps(sandbox.stats())


async def test_long_output_is_cut_to_the_cap_with_a_note(make_server):
    async with Client(make_server(max_response_chars=2_000)) as client:
        result = await client.call_tool(
            "run_model", {"model": "replicate/hello-world", "input": {"text": "long " * 1_000}}
        )
        data = result.structured_content
        assert data["status"] == "succeeded", text_of(result)
        assert len(text_of(result)) <= 2_000
        assert any(
            "cut" in note and f"replicate://predictions/{data['id']}" in note for note in data["notes"]
        ), data["notes"]
        full = await client.read_resource(f"replicate://predictions/{data['id']}")
        assert json.loads(full.contents[0].text)["output"] == "hello " + "long " * 1_000


async def test_waiting_for_many_loses_none_and_looks_the_model_up_once(make_server, sandbox):
    async with Client(make_server(max_response_chars=3_000)) as client:
        sandbox.reset_stats()
        ids = await start_hello_worlds(client, 40)
        assert sandbox.stats()["requests"].get("GET /v1/models/{owner}/{name}", 0) == 1
        done = await client.call_tool("wait_for_prediction", {"ids": ids, "wait_seconds": 30})
        data = done.structured_content
        assert len(text_of(done)) <= 3_000
        shown = [f["id"] for f in data["finished"]]
        assert len(ids) == 40 and shown and data["unshown"] and not data["running"], data["running"]
        assert sorted(shown + data["unshown"]) == sorted(ids), (
            set(ids) - set(shown) - set(data["unshown"]),
            set(shown) & set(data["unshown"]),
        )
        assert "unshown" in data["next"]
