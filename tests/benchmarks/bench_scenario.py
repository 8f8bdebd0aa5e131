"""P2: "find a fast image model, run it, give me the file", done the way an agent does it."""

from __future__ import annotations

from typing import Any

from mcp import Client

from .common import Figure, image_chars, median, sandbox, server, text_chars, workdir

QUERY = "fast image model"
PROMPT = "a red fox in the snow, photograph"


def _pick(hits: list[dict[str, Any]]) -> str:
    """First official hit that is about images; else the first hit."""
    for hit in hits:
        words = " ".join([hit.get("description") or "", *(hit.get("tags") or [])]).lower()
        if hit.get("official") and "image" in words:
            return hit["model"]
    return hits[0]["model"]


async def one_scenario(client: Client) -> dict[str, Any]:
    calls: list[tuple[str, Any]] = []

    async def call(name: str, arguments: dict[str, Any]) -> Any:
        result = await client.call_tool(name, arguments)
        calls.append((name, result))
        if result.is_error:
            raise RuntimeError(f"{name} failed: {result.content[0].text[:300]}")
        return result

    found = await call("search_models", {"query": QUERY})
    model = _pick(found.structured_content["models"])
    card = (await call("get_model", {"model": model})).structured_content
    run = await call("run_model", {"model": model, "input": card.get("example_input") or {"prompt": PROMPT}})
    data = run.structured_content
    return {
        "model": model,
        "status": data["status"],
        "files": [f.get("path") for f in data.get("files") or []],
        "tool_calls": len(calls),
        "text_chars": sum(text_chars(r) for _, r in calls),
        "image_base64_chars": sum(image_chars(r) for _, r in calls),
        "text_chars_by_call": {name: text_chars(r) for name, r in calls},
    }


async def run(quick: bool) -> list[Figure]:
    repetitions = 1 if quick else 3
    runs = []
    with sandbox(time_scale=0.01) as running:
        for _ in range(repetitions):
            with workdir() as root:
                async with Client(server(running, root), mode="auto") as client:
                    runs.append(await one_scenario(client))
    last = runs[-1]
    done = all(r["status"] == "succeeded" and r["files"] for r in runs)
    text = median([r["text_chars"] for r in runs])
    images = median([r["image_base64_chars"] for r in runs])
    by_call = ", ".join(f"{k} {v:,}" for k, v in last["text_chars_by_call"].items())
    return [
        Figure(
            "P2",
            "scenario: tool calls",
            last["tool_calls"],
            "3",
            last["tool_calls"] == 3 and done,
            f"{last['model']}; {'file saved' if done else 'NO FILE'}",
            repetitions,
            {"runs": runs},
        ),
        Figure("P2", "scenario: text chars returned to the model", int(text), "", None, by_call, repetitions),
        Figure(
            "P2",
            "scenario: base64 image chars (thumbnails)",
            int(images),
            "",
            None,
            "ImageContent blocks, separate from text",
            repetitions,
        ),
    ]
