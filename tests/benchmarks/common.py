"""What every benchmark needs: a sandbox, server settings, a stdio subprocess,
counting what the model sees."""

from __future__ import annotations

import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import StdioServerParameters

from replicate_mcp.config import Settings, load_settings
from replicate_mcp.sandbox import RunningSandbox, SandboxConfig, start_sandbox
from replicate_mcp.server import create_server

TOKEN = "r8_benchmark_token_0123456789"  # any r8_ token is valid on the sandbox
HELLO = "replicate/hello-world"
MARKER_VARIABLE = "REPLICATE_MCP_BENCH_MARKER"


@dataclass
class Figure:
    """One row of the table (and one entry of the JSON)."""

    id: str
    metric: str
    value: float | int | str | None
    target: str = ""
    ok: bool | None = None  # None: no target to judge against
    note: str = ""
    runs: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0.9: p90) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@contextmanager
def sandbox(**config: Any) -> Iterator[RunningSandbox]:
    config.setdefault("seed", 7)
    config.setdefault("cold_boot", 0.5)
    running = start_sandbox(SandboxConfig(**config))
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="replicate-mcp-bench-") as name:
        yield Path(name)


def settings(root: Path, **overrides: Any) -> Settings:
    overrides.setdefault("data_dir", root / "data")
    overrides.setdefault("output_dir", root / "outputs")
    return load_settings(overrides, env={"REPLICATE_API_TOKEN": TOKEN})


def server(running: RunningSandbox, root: Path, **overrides: Any):
    overrides.setdefault("base_url", running.base_url)  # a sandbox URL allows a poll_interval under 2 s
    return create_server(settings(root, **overrides), base_url=running.base_url)


def stdio_params(
    running: RunningSandbox,
    root: Path,
    *,
    marker: str = "",
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": running.url,
        "REPLICATE_MCP_DATA_DIR": str(root / "data"),
        "REPLICATE_MCP_OUTPUT_DIR": str(root / "outputs"),
        MARKER_VARIABLE: marker,
        **(extra_env or {}),
    }
    return StdioServerParameters(command=sys.executable, args=["-m", "replicate_mcp", *args], env=env)


def find_marked_process(marker: str) -> int | None:
    """The pid of our child whose environment carries the marker (psutil-free: reads /proc)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                return int(entry.name)
        except OSError:
            continue
    return None


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def text_chars(result: Any) -> int:
    return sum(len(block.text) for block in result.content if block.type == "text")


def image_chars(result: Any) -> int:
    return sum(len(block.data) for block in result.content if block.type == "image")


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset_peak_rss() -> bool:
    """Start this process's VmHWM afresh (Linux: 5 > /proc/self/clear_refs);
    False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def sandbox_process(*args: str) -> Iterator[str]:
    """A sandbox in its own process (`python -m replicate_mcp sandbox ARGS`),
    so it weighs nothing here; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "replicate_mcp", "sandbox", "--port", str(port), "--seed", "7", *args]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox process did not start: {' '.join(command)}") from None
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
