"""The real-time tier over MCP: a sandbox at time scale 1.0 and the server's real poll interval (2 s).

A fast clock hid that users saw no progress; here the client must see percentages move while an
image model runs and text arrive while a language model streams, before the result. Assertions
are about order, not durations.
"""

import pytest
from mcp import Client

from replicate_mcp.config import load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server
from tests.server.conftest import TOKEN

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

IMAGE = (
    "black-forest-labs/flux-dev",
    {"prompt": "a lighthouse at dusk", "num_inference_steps": 50},
)  # about 9 s
LANGUAGE = ("meta/meta-llama-3-8b-instruct", {"prompt": "Explain how a rocket engine works"})  # about 3 s


@pytest.fixture(scope="module")
def real_speed():
    running = start_sandbox(SandboxConfig(time_scale=1.0, seed=11))
    yield running
    running.stop()


@pytest.fixture
def server(real_speed, tmp_path):
    settings = load_settings(
        {"base_url": real_speed.base_url, "data_dir": tmp_path / "data", "output_dir": tmp_path / "out"},
        env={"REPLICATE_API_TOKEN": TOKEN},
    )
    assert settings.min_poll_interval == 2.0
    return create_server(settings, base_url=real_speed.base_url)


async def run_with_progress(server, model, input, mode):
    seen: list[tuple[float, str]] = []

    async def on_progress(value, total, message):
        seen.append((value, message or ""))

    async with Client(server, mode=mode) as client:
        result = await client.call_tool(
            "run_model", {"model": model, "input": input}, progress_callback=on_progress
        )
    return result, seen


async def test_image_model_percentages_move_before_the_end(server, mode):
    result, seen = await run_with_progress(server, *IMAGE, mode)
    assert result.structured_content["status"] == "succeeded"
    assert result.structured_content["files"]
    running = [(v, m) for v, m in seen if m.startswith("running ") and "%" in m]
    percents = [int(m.split("running ", 1)[1].split("%", 1)[0]) for _, m in running]
    assert len(set(percents)) >= 2, seen
    assert percents == sorted(percents) and percents[-1] < 100, seen
    assert seen[-1] == (100.0, "succeeded")
    values = [v for v, _ in seen]
    assert all(b > a for a, b in zip(values, values[1:], strict=False))


async def test_language_model_text_arrives_before_the_end(server, mode):
    result, seen = await run_with_progress(server, *LANGUAGE, mode)
    data = result.structured_content
    assert data["status"] == "succeeded"
    final = data["output"]
    flat = " ".join(final.split())
    texts = {
        " ".join(m.split(": ", 1)[1].lstrip("…").split())
        for _, m in seen
        if m.startswith("running") and ": " in m
    }
    streamed = [t for t in texts if t and t in flat]
    assert len(streamed) >= 2, seen  # the text grew while the call watched, and it is the answer's text
    assert all(final_text not in streamed for final_text in (flat,)), "previews came before the whole answer"
    assert seen[-1] == (100.0, "succeeded")
