"""`replicate-mcp demo`: a scripted tour through a real MCP client session
(stdio) against the embedded sandbox."""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
import time

import anyio
from mcp import Client, StdioServerParameters


def say(text: str = "") -> None:
    print(text, flush=True)


def show(label: str, result) -> dict:
    data = result.structured_content or {}
    if result.is_error:
        say(f"  ✗ {label}:")
        for block in result.content:
            if block.type == "text":
                say(textwrap.indent(block.text, "    "))
        return data
    say(f"  ✓ {label}")
    return data


async def tour(time_scale: float) -> int:
    workdir = tempfile.mkdtemp(prefix="replicate-mcp-demo-")
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "replicate_mcp",
            "serve",
            "--sandbox",
            "--sandbox-time-scale",
            str(time_scale),
            "--data-dir",
            workdir,
            "--output-dir",
            f"{workdir}/outputs",
        ],
    )
    started = time.perf_counter()
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        say(
            f"1. Connected over stdio in {time.perf_counter() - started:.1f}s: {len(tools)} tools "
            f"({', '.join(t.name for t in tools)})"
        )

        say("\n2. search_models('fast image generation')")
        found = show(
            "search", await client.call_tool("search_models", {"query": "fast image generation", "limit": 3})
        )
        for hit in found.get("models", []):
            say(f"     {hit['model']}: {hit.get('description', '')[:70]}")

        say("\n3. get_model('black-forest-labs/flux-schnell'): the compact input schema")
        card = show(
            "model card", await client.call_tool("get_model", {"model": "black-forest-labs/flux-schnell"})
        )
        say(textwrap.indent(card.get("inputs", ""), "     "))

        bad = {
            "prompt": "a red fox in the snow",
            "aspect_ratio": "16x9",
            "num_ouputs": 2,
            "num_inference_steps": 9,
        }
        say(f"\n4. run_model with a faulty input {json.dumps(bad)}: refused before anything is sent")
        show(
            "refused",
            await client.call_tool("run_model", {"model": "black-forest-labs/flux-schnell", "input": bad}),
        )

        good = {
            "prompt": "a red fox in the snow",
            "aspect_ratio": "16:9",
            "num_outputs": 2,
            "num_inference_steps": 4,
        }
        say(f"\n5. run_model with the fixes applied {json.dumps(good)}")

        async def show_progress(progress: float, total: float | None, message: str | None) -> None:
            say(f"     … {progress:5.1f}% {message or ''}")

        result = await client.call_tool(
            "run_model",
            {"model": "black-forest-labs/flux-schnell", "input": good},
            progress_callback=show_progress,
        )
        ran = show(f"status {result.structured_content.get('status')}", result)
        for f in ran.get("files", []):
            say(f"     saved {f.get('path')}  ({f.get('mime_type')}; from {f['url']})")
        images = [b for b in result.content if b.type == "image"]
        say(f"     {len(images)} thumbnail(s) attached for the model to see")

        say("\n6. run_model on a language model (text streamed, then joined)")
        result = await client.call_tool(
            "run_model",
            {
                "model": "meta/meta-llama-3-8b-instruct",
                "input": {"prompt": "Write a haiku about foxes", "max_tokens": 60},
            },
            progress_callback=show_progress,
        )
        text = show("joined text", result).get("output", "")
        say(textwrap.indent(textwrap.fill(text, 90), "     "))

        say("\n7. A slow model with a 1 s wait: run_model returns a handle, wait_for_prediction collects it")
        handle = show(
            "handle",
            await client.call_tool(
                "run_model",
                {"model": "stability-ai/sdxl", "input": {"prompt": "a lighthouse"}, "wait_seconds": 1},
            ),
        )
        say(f"     {handle.get('id')}: {handle.get('status')}; next: {handle.get('next')}")
        done = show(
            "waited",
            await client.call_tool(
                "wait_for_prediction",
                {"ids": [handle["id"]], "wait_seconds": 40},
                progress_callback=show_progress,
            ),
        )
        for item in done.get("finished", []):
            say(f"     {item['id']}: {item['status']}, {len(item.get('files', []))} file(s) saved")
    say(f"\nDone in {time.perf_counter() - started:.1f}s. Files are in {workdir}/outputs")
    return 0


def run_demo(time_scale: float = 0.05) -> int:
    return anyio.run(tour, time_scale)
