"""P4: get_prediction through an MCP client (in memory and over stdio) against a raw HTTP GET of the same, for
a text model and for an image model (its files saved and previews attached to every answer)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp import Client

from .common import HELLO, TOKEN, Figure, median, sandbox, server, stdio_params, workdir

TARGET = 1.5
SIMULATED_LATENCY = (
    0.02  # wall seconds added to every API request by the sandbox's "slow" fault, as a far API would
)
FLUX = "black-forest-labs/flux-schnell"


@dataclass(frozen=True)
class Case:
    label: str
    model: str
    input: dict[str, Any]
    images: int  # image previews every get_prediction answer must carry

    @property
    def server_options(self) -> dict[str, Any]:
        return {} if self.images else {"archive": False}

    @property
    def stdio_args(self) -> tuple[str, ...]:
        return () if self.images else ("--no-archive",)


CASES = (
    Case("text", HELLO, {"text": "latency"}, images=0),
    Case("image", FLUX, {"prompt": "a latency fox", "num_outputs": 1}, images=1),
)


async def _timings(call: Callable[[], Awaitable[object]], repetitions: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        await call()
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


async def _succeeded_prediction(http: httpx2.AsyncClient, base_url: str, case: Case) -> str:
    model = (await http.get(f"{base_url}/models/{case.model}")).raise_for_status().json()
    response = await http.post(
        f"{base_url}/predictions",
        headers={"Prefer": "wait=30"},
        json={"version": model["latest_version"]["id"], "input": case.input},
    )
    response.raise_for_status()
    prediction = response.json()
    while prediction["status"] not in ("succeeded", "failed", "canceled"):
        await anyio.sleep(0.05)
        prediction = (await http.get(f"{base_url}/predictions/{prediction['id']}")).json()
    if prediction["status"] != "succeeded":
        raise RuntimeError(f"latency prediction ended {prediction['status']}")
    return prediction["id"]


def _through(client: Client, prediction_id: str, case: Case) -> Callable[[], Awaitable[object]]:
    async def call() -> None:
        result = await client.call_tool("get_prediction", {"id": prediction_id})
        if result.is_error:
            raise RuntimeError(result.content[0].text[:300])
        images = sum(1 for block in result.content if block.type == "image")
        if images != case.images:
            raise RuntimeError(
                f"get_prediction answered {images} image previews for the {case.label} model, "
                f"not {case.images}"
            )

    return call


async def run(quick: bool) -> list[Figure]:
    repetitions = 20 if quick else 50
    figures = []
    for case in CASES:
        figures.extend(await _loopback(case, repetitions))
    for case in CASES:
        far = await _with_latency(case, max(10, repetitions // 2))
        ratio = far["memory_ms"] / far["raw_ms"]
        figures.append(
            Figure(
                "P4",
                f"  {case.label} ({case.model}), API {SIMULATED_LATENCY * 1e3:.0f} ms away (in memory)",
                round(ratio, 2),
                f"<= {TARGET}x",
                ratio <= TARGET,
                f"{far['memory_ms']:.2f} ms vs raw {far['raw_ms']:.2f} ms "
                "(sandbox slow fault on every request)",
                far["repetitions"],
            )
        )
    return figures


async def _loopback(case: Case, repetitions: int) -> list[Figure]:
    with sandbox(time_scale=0.01) as running, workdir() as root:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            prediction_id = await _succeeded_prediction(http, running.base_url, case)
            url = f"{running.base_url}/predictions/{prediction_id}"

            async def raw() -> None:
                (await http.get(url)).raise_for_status()

            raw_before = await _timings(raw, repetitions)
            async with Client(server(running, root, **case.server_options), mode="auto") as client:
                memory = await _timings(_through(client, prediction_id, case), repetitions)
            async with Client(stdio_params(running, root, args=case.stdio_args)) as client:
                stdio = await _timings(_through(client, prediction_id, case), repetitions)
            raw_after = await _timings(raw, repetitions)
    raw_ms = median(raw_before + raw_after)
    details = {
        "raw_ms": raw_ms,
        "memory_ms": median(memory),
        "stdio_ms": median(stdio),
        "prediction": prediction_id,
        "model": case.model,
        "image_previews": case.images,
    }
    figures = []
    for label, samples in (("in memory", memory), ("stdio", stdio)):
        ratio = median(samples) / raw_ms
        figures.append(
            Figure(
                "P4",
                f"get_prediction latency / raw GET, {case.label} ({case.model}, {label})",
                round(ratio, 2),
                f"<= {TARGET}x",
                ratio <= TARGET,
                f"{median(samples):.2f} ms vs raw {raw_ms:.2f} ms loopback "
                f"(+{median(samples) - raw_ms:.2f} ms)",
                repetitions,
                details,
            )
        )
    return figures


async def _with_latency(case: Case, repetitions: int) -> dict[str, float]:
    """The same comparison with every API request held SIMULATED_LATENCY seconds, as over a real network."""
    with (
        sandbox(time_scale=0.01, fault_slow=1.0, slow_seconds=SIMULATED_LATENCY) as running,
        workdir() as root,
    ):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
            prediction_id = await _succeeded_prediction(http, running.base_url, case)
            url = f"{running.base_url}/predictions/{prediction_id}"

            async def raw() -> None:
                (await http.get(url)).raise_for_status()

            async with Client(server(running, root, **case.server_options), mode="auto") as client:
                memory = await _timings(_through(client, prediction_id, case), repetitions, warmup=3)
            direct = await _timings(raw, repetitions, warmup=3)
    return {"raw_ms": median(direct), "memory_ms": median(memory), "repetitions": repetitions}
