"""The real-time tier: the sandbox at time_scale 1.0 shows progress the way Replicate does,
while a model runs.

Three runs start together on one real-speed sandbox (so the tier costs the longest of them, about 6 s) and are
polled every 0.1 s through our ReplicateClient, each poll fed to a ProgressTracker as a waiting tool would:
- black-forest-labs/flux-dev with only a prompt: tqdm percentages rise while it runs;
- meta/meta-llama-3-8b-instruct and meta/meta-llama-3-70b-instruct:
  logs first, then text that grows before the end.
Assertions are about order (what is seen before what), never about durations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import pytest

from replicate_mcp.api import Prediction, ReplicateClient
from replicate_mcp.runs import ProgressTracker, log_percent
from replicate_mcp.sandbox import SandboxConfig, start_sandbox

pytestmark = pytest.mark.slow

TOKEN = "r8_real_speed_test_token"
POLL = 0.1
IMAGE = ("black-forest-labs/flux-dev", {"prompt": "a lighthouse on a cliff at dusk"})
LLAMA_8B = ("meta/meta-llama-3-8b-instruct", {"prompt": "Explain how a rocket engine works"})
LLAMA_70B = ("meta/meta-llama-3-70b-instruct", {"prompt": "Explain how a rocket engine works"})


@dataclass
class Observed:
    polls: list[Prediction] = field(default_factory=list)  # every state seen, create answer first
    reports: list[tuple[float, str]] = field(default_factory=list)  # what a tool's progress would have shown

    @property
    def final(self) -> Prediction:
        return self.polls[-1]

    @property
    def running(self) -> list[Prediction]:
        return [p for p in self.polls if p.status == "processing"]


async def _follow(client: ReplicateClient, model: str, input: dict, seen: Observed) -> None:
    async def report(value: float, message: str) -> None:
        seen.reports.append((value, message))

    tracker = ProgressTracker(report)
    prediction = await client.create_prediction(model=model, input=input)
    while True:
        seen.polls.append(prediction)
        await tracker.update(prediction)
        if prediction.is_terminal:
            return
        await anyio.sleep(POLL)
        prediction = await client.get_prediction(prediction.id)


@pytest.fixture(scope="module")
def observed() -> dict[str, Observed]:
    runs = {model: Observed() for model, _ in (IMAGE, LLAMA_8B, LLAMA_70B)}

    async def main(base_url: str) -> None:
        async with ReplicateClient(TOKEN, base_url=base_url) as client, anyio.create_task_group() as group:
            for model, input in (IMAGE, LLAMA_8B, LLAMA_70B):
                group.start_soon(_follow, client, model, input, runs[model])

    with start_sandbox(SandboxConfig(time_scale=1.0, seed=5)) as sandbox:
        anyio.run(main, sandbox.base_url)
    return runs


def test_image_model_percentages_rise_while_it_runs(observed):
    seen = observed[IMAGE[0]]
    assert seen.final.status == "succeeded" and len(seen.final.output) == 1
    assert log_percent(seen.final.logs) == 100.0
    while_running = [log_percent(p.logs) for p in seen.running]
    percents = [value for value in while_running if value is not None]
    assert percents == sorted(percents)
    assert (
        len(set(p for p in percents if p < 100)) >= 3
    )  # several steps seen before the end, not just 0 and 100
    messages = [message for _, message in seen.reports]
    assert messages[-1] == "succeeded"
    counters = [message for message in messages if message.startswith("running ") and "/28 [" in message]
    assert len(counters) >= 3  # percentages with tqdm's counter of 28 steps, as the run went
    assert [value for value, _ in seen.reports] == sorted({value for value, _ in seen.reports})


@pytest.mark.parametrize("model", [LLAMA_8B[0], LLAMA_70B[0]])
def test_language_model_logs_then_streams_text_before_the_end(model, observed):
    seen = observed[model]
    final_text = "".join(seen.final.output)
    assert seen.final.status == "succeeded" and len(seen.final.output) >= 20
    first_text = next(p for p in seen.running if p.output)
    assert first_text.logs.startswith("Random seed used: `")  # the logs came before the first token
    partial = ["".join(p.output) for p in seen.running if p.output]
    assert len(set(partial)) >= 2  # the text grew between polls while the model ran
    assert all(final_text.startswith(text) for text in partial)
    assert any(len(text) < len(final_text) for text in partial)
    streamed = [message for _, message in seen.reports if message.startswith("running: ")]
    assert len(streamed) >= 2 and seen.reports[-1][1] == "succeeded"
    assert [value for value, _ in seen.reports] == sorted({value for value, _ in seen.reports})
