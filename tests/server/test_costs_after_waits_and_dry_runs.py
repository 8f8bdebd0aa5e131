"""The cost after a run where wait_for_prediction and run_batch show it, and a dry run that accepts the chains
a run accepts: over the MCP wire, both eras."""

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

FLUX = "black-forest-labs/flux-schnell"
HELLO = "replicate/hello-world"
UPSCALER = "sandbox/upscaler"


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def costs(item: dict) -> list[str]:
    return [note for note in item.get("notes") or [] if note.startswith("cost")]


async def test_wait_for_prediction_shows_each_finished_runs_cost(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        images = await client.call_tool(
            "create_prediction", {"model": FLUX, "input": {"prompt": "a fox", "num_outputs": 2}}
        )
        hello = await client.call_tool("create_prediction", {"model": HELLO, "input": {"text": "waited"}})
        ids = [images.structured_content["id"], hello.structured_content["id"]]
        waited = await client.call_tool("wait_for_prediction", {"ids": ids, "wait_seconds": 60})
    finished = {item["id"]: item for item in waited.structured_content["finished"]}
    assert sorted(finished) == sorted(ids), text_of(waited)
    assert costs(finished[ids[0]]) == [
        "cost ≈ $0.006 (2 images × $0.003; approximate, prices as of 2026-10-07)"
    ]
    seconds = finished[ids[1]]["metrics"]["predict_time"]
    [note] = costs(finished[ids[1]])
    assert note.startswith("cost ≈ $") and f"{seconds:.1f} s (predict_time) × $0.000225–$0.001525/s" in note


async def test_run_batch_shows_each_runs_cost(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        batch = await client.call_tool(
            "run_batch",
            {
                "model": FLUX,
                "wait_seconds": 60,
                "inputs": [{"prompt": "one", "num_outputs": 1}, {"prompt": "three", "num_outputs": 3}],
            },
        )
    finished = batch.structured_content["finished"]
    assert len(finished) == 2 and not batch.structured_content["running"], text_of(batch)
    assert sorted(costs(item)[0] for item in finished) == [
        "cost ≈ $0.003 (1 image × $0.003; approximate, prices as of 2026-10-07)",
        "cost ≈ $0.009 (3 images × $0.003; approximate, prices as of 2026-10-07)",
    ]


async def test_validate_input_accepts_the_saved_outputs_run_model_accepts(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        made = (
            await client.call_tool("create_prediction", {"model": FLUX, "input": {"prompt": "a fox"}})
        ).structured_content
        image = (await client.call_tool("wait_for_prediction", {"ids": made["id"]})).structured_content[
            "finished"
        ][0]
        uri = f"replicate://predictions/{image['id']}/files/0"
        for given in (uri, image["files"][0]["path"]):
            report = await client.call_tool("validate_input", {"model": UPSCALER, "input": {"image": given}})
            assert report.structured_content["valid"] is True, text_of(report)
            assert report.structured_content["normalized_input"]["image"] == given
            run = await client.call_tool("run_model", {"model": UPSCALER, "input": {"image": given}})
            assert run.structured_content["status"] == "succeeded", text_of(run)

        missing = await client.call_tool(
            "validate_input",
            {"model": UPSCALER, "input": {"image": f"replicate://predictions/{image['id']}/files/7"}},
        )
        assert missing.structured_content["valid"] is False
        assert missing.structured_content["errors"] == [
            {
                "field": "image",
                "message": f"`image`: prediction {image['id']} has no saved file 7; get_prediction "
                "lists its files",
            }
        ]
        odd = await client.call_tool(
            "validate_input", {"model": UPSCALER, "input": {"image": "replicate://models/x"}}
        )
        assert odd.structured_content["valid"] is False
        assert odd.structured_content["errors"][0]["message"] == (
            "`image`: 'replicate://models/x' is not an output file's URI; "
            "use replicate://predictions/<id>/files/<n> as get_prediction lists them"
        )
