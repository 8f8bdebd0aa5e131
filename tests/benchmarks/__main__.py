"""`python -m tests.benchmarks [--quick] [--out bench-results.json] [--only P1,P4]`:
one table, the same as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import anyio

from . import (
    bench_disk,
    bench_faults,
    bench_inflight,
    bench_latency,
    bench_load,
    bench_progress,
    bench_replicas,
    bench_requests,
    bench_scenario,
    bench_startup,
    bench_tools,
    bench_validation,
)
from .common import Figure

BENCHMARKS = {
    "P1": bench_tools.run,
    "P2": bench_scenario.run,
    "P3": bench_requests.run,
    "P4": bench_latency.run,
    "P5": bench_load.run,
    "P6": bench_validation.run,
    "P7": bench_startup.run,
    "P8": bench_faults.run,
    "P9": bench_progress.run,
    "P10": bench_disk.run,
    "P11": bench_inflight.run,
    "P12": bench_replicas.run,
}
COLUMNS = ("id", "metric", "value", "target", "ok", "runs", "note")


def _quiet_logs() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for name in ("httpx2", "httpx", "mcp", "uvicorn", "uvicorn.access", "uvicorn.error", "replicate_mcp"):
        logging.getLogger(name).setLevel(logging.WARNING if name != "uvicorn.access" else logging.ERROR)


def _cell(figure: Figure, column: str) -> str:
    value = getattr(figure, column)
    if column == "ok":
        return "-" if value is None else ("ok" if value else "MISS")
    if column == "value" and isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return "" if value is None else str(value)


def table(figures: list[Figure]) -> str:
    rows = [[_cell(f, c) for c in COLUMNS] for f in figures]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    widths[-1] = len(COLUMNS[-1])  # the note runs free at the end
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }


async def run_all(selected: list[str], quick: bool) -> tuple[list[Figure], list[str]]:
    figures: list[Figure] = []
    failures: list[str] = []
    for key in selected:
        started = time.perf_counter()
        try:
            produced = await BENCHMARKS[key](quick)
        except Exception as exc:
            failures.append(key)
            traceback.print_exc(file=sys.stderr)
            produced = [
                Figure(key, "benchmark failed", None, "", False, f"{type(exc).__name__}: {exc}"[:200])
            ]
        for figure in produced:
            figure.details.setdefault("seconds", round(time.perf_counter() - started, 2))
        figures.extend(produced)
    return figures, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"), help="JSON output file")
    parser.add_argument("--only", help="comma-separated ids, e.g. P1,P4 (default: all)")
    args = parser.parse_args(argv)
    selected = [k.strip().upper() for k in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [k for k in selected if k not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark ids: {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    _quiet_logs()
    started = time.perf_counter()
    figures, failures = anyio.run(run_all, selected, args.quick)
    seconds = time.perf_counter() - started
    print(table(figures))
    print(
        f"\nruns = repetitions behind each median; {seconds:.0f} s in all"
        f"{' (--quick)' if args.quick else ''}; JSON: {args.out}"
    )
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "figures": [dataclasses.asdict(f) for f in figures],
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
