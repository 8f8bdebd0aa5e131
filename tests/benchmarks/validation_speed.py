"""Validation speed: `python -m tests.benchmarks.validation_speed [N]`
(figures for P6; no test times these)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from replicate_mcp.schema import load_schema, validate_input

from .schema_sizes import SAMPLES, sample_schemas

FLUX_DEV = "black-forest-labs__flux-dev"


def measure(n: int = 2000, directory: Path | None = None) -> dict:
    """Warm validation median (µs) of flux-dev's default_example input, and cold load+compile times (ms)."""
    directory = directory or SAMPLES
    model = json.loads((directory / f"{FLUX_DEV}.model.json").read_text())
    example = model["default_example"]["input"]
    schema = load_schema(model["latest_version"]["openapi_schema"], version_id=f"bench:{FLUX_DEV}")
    if not validate_input(schema, example).valid:
        raise RuntimeError("flux-dev's default example should be valid")
    warm = _median_us(lambda: validate_input(schema, example), n)
    slow = _median_us(lambda: list(schema.validator.iter_errors(example)), max(n // 10, 50))
    cold = {}
    for name, doc in sample_schemas(directory).items():
        started = time.perf_counter()
        compiled = load_schema(doc)  # no version id: never cached
        list(compiled.validator.iter_errors({}))  # make jsonschema do its lazy work once
        cold[name] = (time.perf_counter() - started) * 1e3
    return {
        "warm_validate_us_median": round(warm, 1),
        "jsonschema_iter_errors_us_median": round(slow, 1),
        "cold_compile_ms_median": round(statistics.median(cold.values()), 2),
        "cold_compile_ms_max": round(max(cold.values()), 2),
        "cold_compile_ms_total": round(sum(cold.values()), 2),
        "schemas": len(cold),
    }


def _median_us(run, n: int) -> float:
    for _ in range(min(n, 100)):
        run()
    samples = []
    for _ in range(n):
        started = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e3


if __name__ == "__main__":
    sys.stdout.write(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 2000), indent=2) + "\n")
