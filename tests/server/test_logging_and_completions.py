"""MCP logging (2025 protocol versions only) and completion/complete, as clients meet them, in both eras."""

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from replicate_mcp.server.client_logging import MAX_CHARS

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:The logging capability is deprecated")]

SDXL = {"model": "stability-ai/sdxl", "input": {"prompt": "a lighthouse", "num_inference_steps": 20}}
PROMPT = PromptReference(type="ref/prompt", name="run_a_model")
MODELS = ResourceTemplateReference(type="ref/resource", uri="replicate://models/{owner}/{name}")
PREDICTIONS = ResourceTemplateReference(type="ref/resource", uri="replicate://predictions/{id}")


async def test_a_client_that_set_a_level_gets_the_run_s_log_lines_once(make_server):
    messages = []

    async def on_log(params):
        messages.append(params)

    async with Client(make_server(), mode="legacy", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is not None
        await client.set_logging_level("info")
        result = await client.call_tool("run_model", SDXL)
        prediction_id = result.structured_content["id"]
        assert result.structured_content["status"] == "succeeded"
        sent = len(messages)
        await client.call_tool("wait_for_prediction", {"prediction_ids": [prediction_id]})

    assert len(messages) == sent >= 1  # waiting again sends nothing it already sent
    assert {(m.level, m.logger) for m in messages} == {("info", "replicate")}
    assert {m.data["prediction"] for m in messages} == {prediction_id}
    assert messages[-1].data["status"] == "succeeded"
    text = "\n".join(m.data["logs"] for m in messages)
    assert "Prompt: a lighthouse" in text and "20/20" in text
    assert all(len(m.data["logs"]) <= MAX_CHARS + 80 for m in messages)
    lines = [line for m in messages for line in m.data["logs"].splitlines() if "%|" in line]
    assert len(lines) == len(set(lines))  # each progress line once


@pytest.mark.parametrize("level", [None, "warning"])
async def test_no_log_lines_without_a_level_of_info_or_lower(make_server, level):
    messages = []

    async def on_log(params):
        messages.append(params)

    async with Client(make_server(), mode="legacy", logging_callback=on_log) as client:
        if level is not None:
            await client.set_logging_level(level)
        result = await client.call_tool("run_model", SDXL)
        assert result.structured_content["status"] == "succeeded"
    assert messages == []


async def test_2026_clients_have_no_logging_and_get_log_lines_as_progress(make_server):
    messages, progress = [], []

    async def on_log(params):
        messages.append(params)

    async def on_progress(value, total, message):
        progress.append(message)

    async with Client(make_server(), mode="auto", logging_callback=on_log) as client:
        assert client.server_capabilities.logging is None
        with pytest.raises(MCPError) as refused:
            await client.set_logging_level("info")
        assert refused.value.error.code == -32601
        result = await client.call_tool("run_model", SDXL, progress_callback=on_progress)
        assert result.structured_content["status"] == "succeeded"
    assert messages == []
    assert any(message and "%" in message for message in progress)


async def test_model_names_complete_from_runs_here_then_search(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        assert client.server_capabilities.completions is not None
        await client.call_tool("run_model", {"model": "replicate/hello-world", "input": {"text": "x"}})
        seen = (await client.complete(PROMPT, {"name": "model", "value": "hello"})).completion
        assert seen.values[0] == "replicate/hello-world"
        found = (await client.complete(PROMPT, {"name": "model", "value": "flux"})).completion
        assert "black-forest-labs/flux-schnell" in found.values
        assert all(value.count("/") == 1 and "flux" in value for value in found.values)
        assert found.total == len(found.values) and found.has_more is False


async def test_resource_template_arguments_complete(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        owners = (await client.complete(MODELS, {"name": "owner", "value": "stab"})).completion
        assert owners.values == ["stability-ai"]
        names = (
            await client.complete(
                MODELS, {"name": "name", "value": "s"}, context_arguments={"owner": "stability-ai"}
            )
        ).completion
        assert set(names.values) == {"sdxl", "stable-diffusion"}
        run = await client.call_tool(
            "create_prediction", {"model": "replicate/hello-world", "input": {"text": "y"}}
        )
        prediction_id = run.structured_content["id"]
        ids = (await client.complete(PREDICTIONS, {"name": "id", "value": prediction_id[:4]})).completion
        assert ids.values == [prediction_id]
        assert (await client.complete(PREDICTIONS, {"name": "id", "value": "zzzz"})).completion.values == []


async def test_arguments_it_does_not_know_get_no_suggestions(make_server):
    async with Client(make_server(), mode="legacy") as client:
        other = PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        assert (await client.complete(other, {"name": "arg1", "value": "par"})).completion.values == []
        assert (await client.complete(PROMPT, {"name": "task", "value": "make"})).completion.values == []
