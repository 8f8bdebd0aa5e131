"""The benchmark package imports and its P1 measurement works (figures only; no timing)."""

import shutil

import pytest

from tests.benchmarks.bench_tools import measure_tool_list
from tests.services import REDIS_MISSING

pytestmark = pytest.mark.anyio


async def test_tool_list_measurement():
    sizes = await measure_tool_list()
    assert sizes["tools"] == 13
    assert sizes["visible_chars"] > 0
    assert sizes["whole_chars"] > sizes["visible_chars"]


# The supervised-runs benchmarks (P8-P11), tiny and on a fast clock: they run and print their rows,
# nothing more.


def _printed(figures) -> str:
    from tests.benchmarks.__main__ import table

    printed = table(figures)
    assert "benchmark failed" not in printed
    return printed


async def test_fault_run_prints_its_rows():
    from tests.benchmarks import bench_faults

    printed = _printed(await bench_faults.run(True, runs=6))
    for metric in ("6 runs under faults: lost ids", "duplicate runs", "unclear errors", "wall time"):
        assert metric in printed


async def test_progress_latency_prints_its_rows():
    from tests.benchmarks import bench_progress

    figures = await bench_progress.run(
        True, steps=5, time_scale=0.01, poll_interval=0.02, llama_input={"prompt": "hi", "max_tokens": 30}
    )
    printed = _printed(figures)
    assert "progress latency, sdxl 5 steps, time scale 0.01: median" in printed
    assert "llama-3-8b: first token to first progress text" in printed


async def test_end_to_disk_prints_its_rows():
    from tests.benchmarks import bench_disk

    printed = _printed(await bench_disk.run(True, runs=1, time_scale=0.05, poll_interval=0.1))
    assert "completed_at to file on disk, no call asking (polling)" in printed
    assert "same (webhooks)" in printed


async def test_many_in_flight_prints_its_rows():
    from tests.benchmarks import bench_inflight

    printed = _printed(await bench_inflight.run(True, count=5, time_scale=0.01, poll_interval=0.05))
    assert "5 predictions in flight in one server: errors" in printed
    assert "finished and returned by wait_for_prediction" in printed and "peak RSS (VmHWM)" in printed


@pytest.mark.skipif(shutil.which("redis-server") is None, reason=REDIS_MISSING)
async def test_replicas_prints_its_rows():
    """P12 tiny: 3 replicas (one killed) and then 1, two people, a real Redis and S3 server; the one-replica
    run, where nothing is killed, must lose, duplicate and leak nothing."""
    from tests.benchmarks import bench_replicas

    work = bench_replicas.Workload(
        predictions=16,
        tenants=2,
        workers=2,
        cold_boot=1.0,
        lease_seconds=1.0,
        probe_every=4,
        settle_seconds=10,
    )
    figures = await bench_replicas.run(True, work=work)
    printed = _printed(figures)
    assert (
        "16 predictions from 2 tenants on 3 replicas, one SIGKILLed midway (issue 15's P8): lost" in printed
    )
    for metric in (
        "duplicated",
        "cross-tenant answers",
        "wall time, 3 replicas (one killed) vs 1 replica",
        "API requests per prediction, 3 replicas vs 1",
    ):
        assert metric in printed
    one = figures[0].details["one"]
    assert (one["upstream_predictions"], one["ids_given"], one["lost"]) == (16, 16, 0)
    assert (one["duplicates"], one["cross_tenant"], one["misfiled"]) == ({}, [], [])
    assert one["probes"] == 4 * 7  # ids 0, 4, 8, 12: four probes while running, three after
    assert figures[0].details["several"]["killed"]["ids_given"] >= 8
