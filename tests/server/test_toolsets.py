"""Toolsets, deployments, account and files, model docs, Replicate's docs, chains of models:
over the MCP wire."""

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from replicate_mcp.config import ConfigError, load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server
from replicate_mcp.server.docs import bounded_markdown
from tests.server.conftest import TOKEN
from tests.server.test_protocol import tool_list_sizes

pytestmark = pytest.mark.anyio

FLUX = "black-forest-labs/flux-schnell"
HELLO = "replicate/hello-world"
CORE = {
    "search_models",
    "list_collections",
    "get_model",
    "validate_input",
    "run_model",
    "create_prediction",
    "get_prediction",
    "wait_for_prediction",
    "cancel_prediction",
    "list_predictions",
    "upload_file",
    "run_batch",
    "replicate_docs",
}
TRAINING = {"train_model", "get_training", "list_trainings", "cancel_training"}
DEPLOYMENTS = {
    "list_deployments",
    "get_deployment",
    "create_deployment",
    "update_deployment",
    "delete_deployment",
}
ACCOUNT = {"get_account", "list_hardware", "list_files", "get_file", "delete_file"}
WRITING = {
    "run_model",
    "create_prediction",
    "cancel_prediction",
    "upload_file",
    "run_batch",
    "train_model",
    "cancel_training",
    "create_deployment",
    "update_deployment",
    "delete_deployment",
    "delete_file",
}


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def names(server, mode="auto") -> tuple[set[str], int, list]:
    async with Client(server, mode=mode) as client:
        tools = (await client.list_tools()).tools
    return {t.name for t in tools}, tool_list_sizes(tools)[0], tools


async def test_toolsets_choose_the_tools_within_budget(make_server, mode):
    default, size, _ = await names(make_server(), mode)
    assert default == CORE and size <= 8_000
    everything, size, tools = await names(make_server(toolsets=("all",)), mode)
    assert everything == CORE | TRAINING | DEPLOYMENTS | ACCOUNT and size <= 16_000, size
    for tool in tools:
        assert tool.annotations.read_only_hint is (tool.name not in WRITING), tool.name
    chosen, _, _ = await names(make_server(toolsets=("deployments", "account")), mode)
    assert chosen == DEPLOYMENTS | ACCOUNT
    reading, _, _ = await names(make_server(toolsets=("all",), read_only=True), mode)
    assert reading == (CORE | TRAINING | DEPLOYMENTS | ACCOUNT) - WRITING


def test_toolsets_setting_from_flag_and_environment():
    env = {"REPLICATE_MCP_TOOLSETS": "training, Deployments"}
    assert load_settings({}, env=env).toolsets == ("training", "deployments")
    assert load_settings({"toolsets": ("all",)}, env={}).toolsets == (
        "core",
        "training",
        "deployments",
        "account",
    )
    assert load_settings({}, env={}).toolsets == ("core",)
    with pytest.raises(ConfigError) as refused:
        load_settings({}, env={"REPLICATE_MCP_TOOLSETS": "core,billing"})
    assert "--toolsets / REPLICATE_MCP_TOOLSETS" in str(refused.value)
    assert "'billing' is not a toolset; choose from core, training, deployments, account, all" in str(
        refused.value
    )
    with pytest.raises(ConfigError, match="--max-cost-per-run / REPLICATE_MCP_MAX_COST_PER_RUN"):
        load_settings({}, env={"REPLICATE_MCP_MAX_COST_PER_RUN": "-1"})


async def test_deployments_list_get_create_update_run_and_delete(make_server, sandbox, mode):
    async with Client(make_server(toolsets=("core", "deployments", "account")), mode=mode) as client:
        owner = (await client.call_tool("get_account", {})).structured_content["username"]
        listed = (await client.call_tool("list_deployments", {})).structured_content["deployments"]
        assert f"{owner}/hello-world-dep" in [d["deployment"] for d in listed]

        name = f"hello-{mode}"
        made = await client.call_tool(
            "create_deployment",
            {"name": name, "model": HELLO, "hardware": "gpu-t4", "min_instances": 0, "max_instances": 2},
        )
        assert not made.is_error, text_of(made)
        data = made.structured_content
        assert (
            data["deployment"] == f"{owner}/{name}" and data["model"] == HELLO and len(data["version"]) == 64
        )
        assert (data["hardware"], data["min_instances"], data["max_instances"], data["release"]) == (
            "gpu-t4",
            0,
            2,
            1,
        )
        assert data["billing"].startswith(
            "per second of instance uptime on gpu-t4: $0.000225/s, about $0.81 an hour"
        )
        assert data["run_with"] == f"run_model with model 'deployments/{owner}/{name}'"

        run = await client.call_tool(
            "run_model", {"model": f"deployments/{owner}/{name}", "input": {"text": "dep"}}
        )
        assert run.structured_content["output"] == "hello dep", text_of(run)

        updated = (
            await client.call_tool(
                "update_deployment", {"name": f"{owner}/{name}", "min_instances": 1, "hardware": "cpu"}
            )
        ).structured_content
        assert (
            updated["hardware"],
            updated["min_instances"],
            updated["max_instances"],
            updated["release"],
        ) == ("cpu", 1, 2, 2)
        assert updated["billing"].endswith("; 1 always on ≈ $8.64 a day")
        got = (await client.call_tool("get_deployment", {"name": f"{owner}/{name}"})).structured_content
        assert got == updated

        kept = await client.call_tool("delete_deployment", {"name": f"{owner}/{name}"})
        assert kept.is_error
        assert f"confirm: deleting {owner}/{name} cannot be undone" in text_of(kept)
        assert not (await client.call_tool("get_deployment", {"name": f"{owner}/{name}"})).is_error
        gone = await client.call_tool("delete_deployment", {"name": f"{owner}/{name}", "confirm": True})
        assert gone.structured_content == {"deleted": f"{owner}/{name}"}
        missing = await client.call_tool("get_deployment", {"name": f"{owner}/{name}"})
        assert missing.is_error and f"name: no deployment {owner}/{name} on this account" in text_of(missing)


async def test_deployment_tools_name_the_bad_field(make_server, mode):
    async with Client(make_server(toolsets=("deployments",)), mode=mode) as client:
        cases = [
            (
                {"name": "x", "model": HELLO, "hardware": "gpu-quantum"},
                "hardware: 'gpu-quantum' is not a hardware SKU",
            ),
            (
                {"name": "x", "model": HELLO, "hardware": "cpu", "min_instances": 9},
                "min_instances must be from 0 to 5",
            ),
            (
                {"name": "x", "model": HELLO, "hardware": "cpu", "max_instances": 21},
                "max_instances must be from 0 to 20",
            ),
            (
                {"name": "x", "model": HELLO, "hardware": "cpu", "min_instances": 2, "max_instances": 1},
                "min_instances (2) must not be above max_instances (1)",
            ),
            (
                {"name": "Bad Name", "model": HELLO, "hardware": "cpu"},
                "name: 'Bad Name' is not a deployment name",
            ),
            (
                {"name": "x", "model": "nobody/nothing-here", "hardware": "cpu"},
                "model: 'nobody/nothing-here' was not found",
            ),
            (
                {"name": "x", "model": FLUX, "hardware": "cpu"},
                "model: black-forest-labs/flux-schnell is an official model",
            ),
        ]
        for arguments, expected in cases:
            refused = await client.call_tool("create_deployment", arguments)
            assert refused.is_error and expected in text_of(refused), (arguments, text_of(refused))
        nothing = await client.call_tool("update_deployment", {"name": "someone/else"})
        assert nothing.is_error and "name: no deployment someone/else" in text_of(nothing)
        bad_name = await client.call_tool("get_deployment", {"name": "just-a-name"})
        assert bad_name.is_error and "name: 'just-a-name' is not owner/name" in text_of(bad_name)


async def test_account_hardware_and_files(make_server, sandbox, mode, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "note.txt").write_text("chained" * 10)
    server = make_server(toolsets=("core", "account"), allow_dirs=(folder,))
    async with Client(server, mode=mode) as client:
        account = (await client.call_tool("get_account", {})).structured_content
        assert account["username"] and account["type"] == "user"
        assert account["estimated_spend"] == "$0.00 estimated since this server started"

        hardware = (await client.call_tool("list_hardware", {})).structured_content
        assert hardware["prices_as_of"] == "2026-12-01"
        skus = {h["sku"]: h.get("usd_per_second") for h in hardware["hardware"]}
        assert skus["cpu"] == 0.0001 and skus["gpu-h100"] == 0.001525 and skus["gpu-l40s"] == 0.000975

        uploaded = (
            await client.call_tool("upload_file", {"path": str(folder / "note.txt")})
        ).structured_content
        files = (await client.call_tool("list_files", {})).structured_content["files"]
        mine = [f for f in files if f["url"] == uploaded["url"]]
        assert len(mine) == 1 and mine[0]["by_this_server"] is True and mine[0]["name"] == "note.txt"
        one = (await client.call_tool("get_file", {"id": mine[0]["id"]})).structured_content
        assert one["metadata"] == {"uploaded_by": "replicate-mcp"} and one["size"] == 70
        deleted = await client.call_tool("delete_file", {"id": mine[0]["id"]})
        assert deleted.structured_content == {"deleted": mine[0]["id"]}
        gone = await client.call_tool("get_file", {"id": mine[0]["id"]})
        assert gone.is_error and f"id: no file {mine[0]['id']} on this account" in text_of(gone)
        again = await client.call_tool("delete_file", {"id": mine[0]["id"]})
        assert again.is_error and "already deleted or expired" in text_of(again)
        bad = await client.call_tool("get_file", {"id": "../../etc/passwd"})
        assert bad.is_error and "id: '../../etc/passwd' is not a file id" in text_of(bad)
        # the deleted upload is not offered again: the same content is uploaded anew
        fresh = (await client.call_tool("upload_file", {"path": str(folder / "note.txt")})).structured_content
        assert fresh["reused"] is False and fresh["url"] != uploaded["url"]


async def test_model_docs_and_versions(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        card = (
            await client.call_tool("get_model", {"model": HELLO, "docs": True, "versions": 3})
        ).structured_content
        assert card["docs"].startswith("(from http")
        assert card["docs"].splitlines()[0].endswith("/replicate/hello-world/llms.txt)")
        assert "# replicate/hello-world" in card["docs"] and "## Input schema" in card["docs"]
        assert "A tiny model that says hello." in card["docs"]
        assert [set(v) for v in card["versions"]] == [{"id", "created_at"}]
        assert card["versions"][0]["id"] == card["version"]

        plain = (await client.call_tool("get_model", {"model": HELLO})).structured_content
        assert "docs" not in plain and "versions" not in plain

        official = (await client.call_tool("get_model", {"model": FLUX, "versions": 5})).structured_content
        assert "versions" not in official  # official models run their latest; Replicate lists none

        trainer = (
            await client.call_tool("get_model", {"model": "ostris/flux-dev-lora-trainer"})
        ).structured_content
        assert "input_images" in trainer["training_inputs"] and "steps" in trainer["training_inputs"]

        bad = await client.call_tool("get_model", {"model": HELLO, "versions": 99})
        assert bad.is_error and "versions" in text_of(bad)


async def test_replicate_docs_answers_from_the_markdown_pages(make_server, sandbox, mode):
    async with Client(make_server(), mode=mode) as client:
        answer = (
            await client.call_tool("replicate_docs", {"question": "how do I verify webhooks"})
        ).structured_content
        first = answer["pages"][0]
        assert first["title"] == "Webhooks" and first["url"] == f"{sandbox.url}/docs/topics/webhooks"
        assert "## Verifying webhooks" in first["markdown"] and "webhook-signature" in first["markdown"]
        assert "Billing" in answer["other_pages"]
        retention = (
            await client.call_tool("replicate_docs", {"question": "data retention of outputs"})
        ).structured_content
        assert retention["pages"][0]["title"] == "Prediction lifetimes"
        assert "removed after one hour" in retention["pages"][0]["markdown"]
        nothing = (await client.call_tool("replicate_docs", {"question": "zebra quantum"})).structured_content
        assert nothing["pages"] == [] and nothing["next"].startswith("no page matched")
        empty = await client.call_tool("replicate_docs", {"question": "  "})
        assert empty.is_error and "question: say what to look up" in text_of(empty)
    requests = sandbox.stats()["requests"]
    assert requests["GET /docs/llms.txt"] >= 1


def test_bounded_markdown_keeps_every_heading():
    text = (
        "# Title\n" + "intro line\n" * 50 + "## One\n" + "body one\n" * 200 + "## Two\n" + "body two\n" * 200
    )
    cut = bounded_markdown(text, 600)
    assert [line for line in cut.splitlines() if line.startswith("#")] == ["# Title", "## One", "## Two"]
    assert len(cut) <= 700 and cut.count("…") == 3
    assert bounded_markdown("# Short\nall of it", 600) == "# Short\nall of it"


async def test_an_output_feeds_the_next_model(make_server, sandbox, mode):
    async with Client(make_server(), mode=mode) as client:
        # created without Prefer: wait, so its outputs are URLs (a held create may answer data: URIs)
        made = (
            await client.call_tool("create_prediction", {"model": FLUX, "input": {"prompt": "a fox"}})
        ).structured_content
        waited = (await client.call_tool("wait_for_prediction", {"ids": made["id"]})).structured_content
        image = waited["finished"][0]
        saved = image["files"][0]
        uri = f"replicate://predictions/{image['id']}/files/0"
        for given in (uri, saved["path"]):
            result = await client.call_tool(
                "run_model", {"model": "sandbox/upscaler", "input": {"image": given}}
            )
            data = result.structured_content
            assert data["status"] == "succeeded", text_of(result)
            assert f"image: the output of {image['id']} file 0, sent by its original URL" in data["notes"]
            sent = (await client.call_tool("get_prediction", {"id": data["id"]})).structured_content
            assert sent["id"] == data["id"]
        nowhere = await client.call_tool(
            "run_model",
            {
                "model": "sandbox/upscaler",
                "input": {"image": f"replicate://predictions/{image['id']}/files/7"},
            },
        )
        assert nowhere.is_error and f"prediction {image['id']} has no saved file 7" in text_of(nowhere)
        odd = await client.call_tool(
            "run_model", {"model": "sandbox/upscaler", "input": {"image": "replicate://models/x"}}
        )
        assert odd.is_error and "is not an output file's URI" in text_of(odd)


async def test_an_expired_output_is_uploaded_from_the_saved_copy(tmp_path):
    with start_sandbox(SandboxConfig(time_scale=0.01, seed=3, cold_boot=0.5, data_retention=30)) as short:
        settings = load_settings(
            {
                "data_dir": tmp_path / "d",
                "output_dir": tmp_path / "o",
                "base_url": short.base_url,
                "poll_interval": 0.05,
            },
            env={"REPLICATE_API_TOKEN": TOKEN},
        )
        async with Client(create_server(settings, base_url=short.base_url)) as client:
            made = (
                await client.call_tool("create_prediction", {"model": FLUX, "input": {"prompt": "x"}})
            ).structured_content
            image = (await client.call_tool("wait_for_prediction", {"ids": made["id"]})).structured_content[
                "finished"
            ][0]
            assert image["status"] == "succeeded" and image["files"][0]["url"].startswith("http")
            with anyio.fail_after(30):
                while not (
                    await client.call_tool("get_prediction", {"id": image["id"]})
                ).structured_content.get("data_removed", False) and not _removed(short, image["id"]):
                    await anyio.sleep(0.1)
            uploads = short.stats()["requests"].get("POST /v1/files", 0)
            result = await client.call_tool(
                "run_model", {"model": "sandbox/upscaler", "input": {"image": image["files"][0]["path"]}}
            )
            data = result.structured_content
            assert data["status"] == "succeeded", text_of(result)
            [note] = [n for n in data["notes"] if n.startswith("image:")]
            assert note.startswith(
                f"image: the output of {image['id']} file 0 is no longer served by Replicate; "
                "uploaded the saved copy -> "
            )
            assert short.stats()["requests"]["POST /v1/files"] == uploads + 1
            assert Path(image["files"][0]["path"]).is_file()


def _removed(sandbox, prediction_id: str) -> bool:
    import httpx2

    got = httpx2.get(
        f"{sandbox.base_url}/predictions/{prediction_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    return bool(json.loads(got.text).get("data_removed"))
