"""P9: how late progress reaches the client, at real speed
(time scale 1.0, the real 2 s minimum between polls).

run_model on stability-ai/sdxl (tqdm percentages in its logs, 2.5 steps a second) with a
progress callback: for each new percentage the client sees, the latency is its receive time
minus the time the sandbox appended the log line showing that percentage
(`/_sandbox/predictions/{id}/events`). Then meta/meta-llama-3-8b-instruct: from the first token
the model emitted to the first progress message carrying text.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx2
from mcp import Client

from .common import Figure, median, percentile, sandbox, server, workdir

SDXL = "stability-ai/sdxl"
LLAMA = "meta/meta-llama-3-8b-instruct"
PROMPT = "a lighthouse on a cliff at dusk"
STEPS, QUICK_STEPS = 50, 20  # at 2.5 steps a second: 20 s and 8 s of denoising
LLAMA_INPUT = {"prompt": "Explain how a rocket engine works", "min_tokens": 600, "max_tokens": 700}
MEDIAN_GOAL = 2.0
TQDM = re.compile(r"(\d{1,3})%\|")
SHOWN_PERCENT = re.compile(r"^running (\d{1,3})%")


class Progress:
    """Every progress notification, stamped with the wall clock when it arrived."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float, str]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((time.time(), progress, message or ""))


async def _record(running, prediction_id: str) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.get(f"{running.url}/_sandbox/predictions/{prediction_id}/events")
        return response.raise_for_status().json()


def percent_latencies(events: list[dict[str, Any]], seen: list[tuple[float, float, str]]) -> dict[str, Any]:
    emitted: dict[int, float] = {}
    for event in events:
        if event["event"] == "logs":
            for line in event["data"].splitlines():
                for match in TQDM.finditer(line):
                    emitted.setdefault(int(match.group(1)), event["at"])
    shown: dict[int, float] = {}
    for received, _, message in seen:
        match = SHOWN_PERCENT.match(message)
        if match:
            shown.setdefault(int(match.group(1)), received)
    latencies = {p: shown[p] - emitted[p] for p in shown if p in emitted}
    # every percentage emitted, seen or skipped: how long until the client saw it or a later one
    staleness = {}
    for percent, at in emitted.items():
        later = [received for p, received in shown.items() if p >= percent]
        if later:
            staleness[percent] = min(later) - at
    return {"latencies": latencies, "staleness": staleness, "emitted": len(emitted), "shown": len(shown)}


def first_text(record: dict[str, Any], seen: list[tuple[float, float, str]]) -> dict[str, Any]:
    events = record["events"]
    chunks = [e for e in events if e["event"] == "output"]
    text = " ".join("".join(e["data"] for e in chunks).split())
    first_token = chunks[0]["at"] if chunks else None
    carrying = None
    for received, _, message in seen:
        head, _, detail = message.partition(": ")
        detail = detail.removeprefix("…").strip()
        if head.startswith("running") and detail and detail in text:
            carrying = received
            break
    done = next((e["at"] for e in events if e["event"] == "done"), None)
    return {
        "first_token_to_progress_text_s": None
        if first_token is None or carrying is None
        else carrying - first_token,
        "first_token_after_create_s": None if first_token is None else first_token - record["created_at"],
        "tokens": len(chunks),
        "run_seconds": None if done is None or first_token is None else done - first_token,
        "messages": len(seen),
    }


async def run(
    quick: bool,
    *,
    steps: int | None = None,
    time_scale: float = 1.0,
    poll_interval: float | None = None,
    llama_input: dict[str, Any] = LLAMA_INPUT,
) -> list[Figure]:
    """Real speed by default; the smoke test runs it small and fast (time_scale, poll_interval)."""
    steps = steps or (QUICK_STEPS if quick else STEPS)
    with sandbox(time_scale=time_scale) as running, workdir() as root:
        async with Client(
            server(running, root, archive=False, poll_interval=poll_interval), mode="auto"
        ) as client:
            await client.call_tool("get_model", {"model": SDXL})
            await client.call_tool("get_model", {"model": LLAMA})
            image = Progress()
            result = await client.call_tool(
                "run_model",
                {"model": SDXL, "input": {"prompt": PROMPT, "num_inference_steps": steps}},
                progress_callback=image,
            )
            image_id = result.structured_content["id"]
            image_status = result.structured_content["status"]
            text = Progress()
            result = await client.call_tool(
                "run_model", {"model": LLAMA, "input": llama_input}, progress_callback=text
            )
            text_id = result.structured_content["id"]
        image_events = (await _record(running, image_id))["events"]
        text_record = await _record(running, text_id)
    measured = percent_latencies(image_events, image.seen)
    values = list(measured["latencies"].values())
    mid, p90 = median(values), percentile(values, 0.9)
    streamed = first_text(text_record, text.seen)
    stale = list(measured["staleness"].values())
    gap = streamed["first_token_to_progress_text_s"]
    details = {
        **measured,
        "latencies": {str(k): round(v, 3) for k, v in measured["latencies"].items()},
        "staleness": {str(k): round(v, 3) for k, v in measured["staleness"].items()},
        "status": image_status,
        "steps": steps,
        "llama": streamed,
    }
    return [
        Figure(
            "P9",
            f"progress latency, sdxl {steps} steps, time scale {time_scale:g}: median",
            f"{mid:.2f} s",
            f"<= {MEDIAN_GOAL:g} s",
            mid <= MEDIAN_GOAL,
            f"p90 {p90:.2f} s, max {max(values, default=float('nan')):.2f} s; {measured['shown']} of "
            f"{measured['emitted']} percentages reached the client (run_model, 2 s minimum between polls)",
            len(values),
            details,
        ),
        Figure(
            "P9",
            "  every percentage emitted: until the client saw it or a later one",
            f"{median(stale):.2f} s",
            "",
            None,
            f"median; p90 {percentile(stale, 0.9):.2f} s, max {max(stale, default=float('nan')):.2f} s",
            len(stale),
        ),
        Figure(
            "P9",
            "  llama-3-8b: first token to first progress text",
            "never" if gap is None else f"{gap:.2f} s",
            "",
            None,
            f"{streamed['tokens']} tokens over {streamed['run_seconds'] or 0:.1f} s; "
            f"first token {streamed['first_token_after_create_s'] or 0:.2f} s after the create",
            1,
        ),
    ]
