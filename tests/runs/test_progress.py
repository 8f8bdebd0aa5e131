"""Progress values and messages from real log excerpts:
diffusers, an LLM, trainers, whisper, streamed text."""

from __future__ import annotations

import pytest

from replicate_mcp.api import Prediction
from replicate_mcp.runs import ProgressTracker, tqdm_percent
from replicate_mcp.runs.progress import describe, last_log_line, log_percent, text_tail

# stability-ai/sdxl, recorded from the API (logs of a 50-step run, cut after 52 %).
SDXL = (
    "Using seed: 42069\nPrompt: a studio photo of a rainbow colored corgi\ntxt2img mode\n"
    "  0%|          | 0/50 [00:00<?, ?it/s]\n"
    "  4%|▍         | 2/50 [00:00<00:02, 16.47it/s]\n"
    " 48%|████▊     | 24/50 [00:01<00:01, 17.17it/s]\n"
    " 52%|█████▏    | 26/50 [00:01<00:01, 17.20it/s]\n"
)
SDXL_DONE = (
    SDXL
    + "100%|██████████| 50/50 [00:02<00:00, 17.19it/s]\n100%|██████████| 50/50 [00:02<00:00, 17.09it/s]\n"
)

# meta/meta-llama-3-8b (vLLM), recorded: its only percentages are KV-cache usage figures.
VLLM = (
    "INFO 04-18 17:21:53 async_llm_engine.py:508] Received request 4020a08dfa1e411785b84ec42c00c6c7: prompt: "
    "'Story title: 3 llamas go for a walk', sampling_params: SamplingParams(n=1, "
    "best_of=1, max_tokens=512)\r\n"
    " stdoutINFO 04-18 17:21:54 metrics.py:218] Avg prompt throughput: 6.2 tokens/s, "
    "Avg generation throughput: 18.4 tokens/s, Running: 1 reqs, Swapped: 0 reqs, Pending: 0 reqs, "
    "GPU KV cache usage: 0.0%, CPU KV cache usage: 0.0%\r\n"
    " stdoutINFO 04-18 17:21:55 async_llm_engine.py:120] Finished request "
    "4020a08dfa1e411785b84ec42c00c6c7.\r\n"
    " stdoutTokens/second: 79.92277125263657\r\n"
)
# meta/meta-llama-3-8b-instruct, recorded: its logs before the first token.
LLAMA_INSTRUCT = (
    "Random seed used: `57440`\nNote: Random seed will not impact output if greedy decoding is used.\n"
    "Formatted prompt: `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
    "assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nJohnny has 8 billion parameters. "
    "What does this mean?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`"
)
# A latent-diffusion model, recorded: `Step n of m:` lines, then a closing line with no figure.
STEP_OF = "using DPM-2 sampler\nStep 0 of 200:\nStep 10 of 200:\nStep 180 of 200:\nStep 190 of 200:\nDone!"
# A trainer printing `step n/m` (the form of kohya / diffusers training scripts).
TRAINER = (
    "Found 12 images; captioning with LLaVA...\nStarting training\n"
    "epoch 1/4 step 100/1000 loss=0.4387 lr=4.0e-04\n"
    "epoch 1/4 step 250/1000 loss=0.3121 lr=4.0e-04\n"
    "saving checkpoint to output/checkpoint-250 at 2024/06/01 12:30\n"
)
# openai/whisper: language detection, then tqdm over audio frames.
WHISPER = (
    "Transcribe with large-v3 model.\nDetected language: English\n"
    "  0%|          | 0/1981 [00:00<?, ?frames/s]\n"
    " 45%|████▌     | 891/1981 [00:02<00:02, 429.13frames/s]\n"
)


pytestmark = pytest.mark.anyio


def prediction(status: str, logs: str | None = None, output=None) -> Prediction:
    return Prediction(id="p1", status=status, logs=logs, output=output)


@pytest.mark.parametrize(
    ("logs", "percent", "line"),
    [
        (SDXL, 52.0, "26/50 [00:01<00:01, 17.20it/s]"),
        (SDXL_DONE, 100.0, "50/50 [00:02<00:00, 17.09it/s]"),
        (VLLM, None, "stdoutTokens/second: 79.92277125263657"),
        (STEP_OF, 95.0, "Done!"),
        (TRAINER, 25.0, "saving checkpoint to output/checkpoint-250 at 2024/06/01 12:30"),
        (WHISPER, 45.0, "891/1981 [00:02<00:02, 429.13frames/s]"),
        (
            LLAMA_INSTRUCT,
            None,
            "Johnny has 8 billion parameters. What does this mean?<|eot_id|><|start_header_i…",
        ),
    ],
    ids=["sdxl", "sdxl-done", "vllm", "step-of", "trainer", "whisper", "llama-instruct"],
)
def test_real_logs(logs, percent, line):
    assert log_percent(logs) == percent
    assert last_log_line(logs) == line


@pytest.mark.parametrize(
    ("line", "percent"),
    [
        ("  45%|████▌     | 9/20 [00:03<00:04,  2.50it/s]", 45.0),
        ("Downloading model.safetensors:  15%|█▌        | 31.5M/209M [00:00<00:01, 98.6MB/s]", 15.0),
        ("12/50 [00:03<00:09, 3.90it/s]", 24.0),
        ("12/50 [00:03<00:09]", 24.0),
        ("12/50 3.90it/s", 24.0),
        ("12/50 it/s", 24.0),
        ("3/4 [00:04<00:01,  1.05s/it]", 75.0),
        ("step 12/50", 24.0),
        ("Step: 12/50 loss 0.1", 24.0),
        ("Step 12 of 50", 24.0),
        ("[12/50] loss=0.21", 24.0),
        ("epoch 3/10", 30.0),
        ("Upscaling: 45%", 45.0),
        ("progress 62.5 %", 62.5),
        ("\tTile 2/4", 50.0),
        ("epoch 2/10 step 30/40", 75.0),  # the rightmost figure of a line
        ("x 1/3 [00:01<00:02, 1.00it/s] then 17%|█▋        |", 17.0),  # a tqdm bar wins within its line
    ],
)
def test_progress_forms(line, percent):
    assert log_percent(line) == percent


@pytest.mark.parametrize(
    "line",
    [
        "0/0 [00:00<?, ?it/s]",
        "step 0/0",
        "step 60/50",
        "[7/5]",
        "150%",
        "120%|██████████| 12/10 [00:01<00:00, 9.1it/s]",
        "started 2024/06/01 12:30:00",
        "log saved at 2024/06 [12:30]",
        "06/01 [12:30]",
        "at 12:30",
        "GPU KV cache usage: 0.0%, CPU KV cache usage: 0.0%",
        "a 45% discount was applied yesterday",
        "ratio 3/4 of the image",
        "",
    ],
)
def test_garbage_gives_no_percentage(line):
    assert log_percent(line) is None


def test_the_last_figure_in_the_logs_wins_and_garbage_after_it_does_not_hide_it():
    assert log_percent("step 90/100\nepoch 1/10\n") == 10.0
    assert (
        log_percent(" 80%|████████  | 8/10 [00:01<00:00, 8it/s]\nstep 60/50\n0/0 [00:00<?, ?it/s]\n") == 80.0
    )
    assert log_percent(None) is None


def test_tqdm_rewrites_its_line_with_carriage_returns():
    logs = (
        "Loading pipeline...\n  0%|          | 0/8 [00:00<?, ?it/s]\r 12%|█▎        | 1/8 "
        "[00:00<00:03,  2.0it/s]"
    )
    logs += "\r 25%|██▌       | 2/8 [00:00<00:02,  2.1it/s]\r\n\n   \r"
    assert log_percent(logs) == 25.0
    assert last_log_line(logs) == "2/8 [00:00<00:02, 2.1it/s]"


def test_ansi_escapes_of_nested_bars_are_dropped():
    logs = "\n\n\nDDIM Sampler:  10%|█         | 5/50 [00:00<00:04, 10.36it/s]\x1b[A\x1b[A\n"
    assert log_percent(logs) == 10.0
    assert last_log_line(logs) == "DDIM Sampler: 5/50 [00:00<00:04, 10.36it/s]"


def test_long_lines_are_shortened_to_80_characters():
    line = last_log_line("ok\n" + "Loading weights from " + "x" * 200 + "\n")
    assert len(line) == 80 and line.startswith("Loading weights from xxx") and line.endswith("x…")


def test_tqdm_percent_is_log_percent():
    assert tqdm_percent is log_percent


def test_text_tail_of_a_streaming_model():
    assert text_tail(["Hello", ",", " world", "!\n\n", "Bye"]) == "Hello, world! Bye"
    tokens = [
        "The",
        " key",
        " idea",
        " is",
        " to",
        " start",
        " from",
        " what",
        " you",
        " already",
        " know",
    ] * 5
    tail = text_tail(tokens)
    assert len(tail) <= 80 and tail.startswith("…") and tail.endswith(" you already know")
    assert text_tail(["https://replicate.delivery/x/out-0.webp"]) is None
    assert text_tail([]) is None and text_tail("text") is None and text_tail([1, 2]) is None


def test_describe_each_state():
    assert describe(prediction("starting")) == (5.0, "booting")
    assert describe(prediction("starting", logs="Downloading weights\n")) == (
        5.0,
        "booting: Downloading weights",
    )
    assert describe(prediction("processing")) == (10.0, "running")
    assert describe(prediction("processing", logs=SDXL)) == (
        10.0 + 0.85 * 52,
        "running 52%: 26/50 [00:01<00:01, 17.20it/s]",
    )
    assert describe(prediction("processing", logs=TRAINER)) == (
        10.0 + 0.85 * 25,
        "running 25%: saving checkpoint to output/checkpoint-250 at 2024/06/01 12:30",
    )
    assert describe(prediction("processing", logs=LLAMA_INSTRUCT, output=["Johnny", "'s", " model"])) == (
        10.0,
        "running: Johnny's model",
    )
    assert describe(prediction("succeeded", logs=SDXL_DONE)) == (100.0, "succeeded")
    assert describe(prediction("failed")) == (100.0, "failed")


async def test_tracker_values_strictly_increase_and_the_end_is_100():
    reports: list[tuple[float, str]] = []

    async def report(value: float, message: str) -> None:
        reports.append((value, message))

    tracker = ProgressTracker(report)
    await tracker.update(prediction("starting"))
    await tracker.update(prediction("starting"))  # nothing new: not reported again
    await tracker.update(prediction("processing", logs=SDXL))
    await tracker.update(
        prediction("processing", logs=SDXL[: SDXL.index(" 48%")])
    )  # a lower figure is nudged up
    await tracker.update(prediction("processing", logs=SDXL_DONE))
    await tracker.update(prediction("succeeded", logs=SDXL_DONE))
    values = [value for value, _ in reports]
    assert [message for _, message in reports] == [
        "booting",
        "running 52%: 26/50 [00:01<00:01, 17.20it/s]",
        "running 4%: 2/50 [00:00<00:02, 16.47it/s]",
        "running 100%: 50/50 [00:02<00:00, 17.09it/s]",
        "succeeded",
    ]
    assert values[:2] == [5.0, 10.0 + 0.85 * 52]
    assert values[2] == pytest.approx(values[1] + (99.5 - values[1]) / 20)
    assert values[3] == 95.0 and values[4] == 100.0
    assert values == sorted(set(values))


async def test_a_streaming_model_moves_progress_with_each_new_text():
    reports: list[tuple[float, str]] = []

    async def report(value: float, message: str) -> None:
        reports.append((value, message))

    tracker = ProgressTracker(report)
    chunks = ["Sure", "!", " Here", " is", " a", " haiku", "."]
    for end in range(1, len(chunks) + 1):
        await tracker.update(prediction("processing", logs=LLAMA_INSTRUCT, output=chunks[:end]))
    assert [message for _, message in reports][-1] == "running: Sure! Here is a haiku."
    assert len(reports) == len(chunks)
    assert [value for value, _ in reports] == sorted({value for value, _ in reports})
