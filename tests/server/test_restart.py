"""kill -9 of the server mid-run, then a restart on the same data folder: nothing started is lost.

The server runs as a real stdio subprocess (as clients start it); the test kills it with SIGKILL while calls
are under way, lets the predictions finish upstream with no server at all, and starts it again.
"""

import os
import signal
import sqlite3
import sys
import uuid
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters

from tests.server.conftest import TOKEN

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SLOW = "sandbox/text-to-video"  # about 200 model seconds: 2 s at the tests' time scale


def server_params(sandbox, data_dir: Path, out_dir: Path) -> StdioServerParameters:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "REPLICATE_API_TOKEN": TOKEN,
        "REPLICATE_BASE_URL": sandbox.url,
        "REPLICATE_MCP_POLL_INTERVAL": "0.05",
    }
    args = ["-m", "replicate_mcp", "--data-dir", str(data_dir), "--output-dir", str(out_dir)]
    return StdioServerParameters(command=sys.executable, args=args, env=env)


def server_pid(data_dir: Path) -> int:
    """The server process started with this data folder (found in /proc: the client does not expose it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"replicate_mcp" in argv and str(data_dir).encode() in argv:
            return int(entry.name)
    raise LookupError("no server process found")


def rows(data_dir: Path, sql: str, *params) -> list[tuple]:
    db = sqlite3.connect(data_dir / "ledger.sqlite3")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def upstream(sandbox, prefix: str) -> dict[str, str]:
    """id -> status of every sandbox prediction whose prompt starts with `prefix`."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    found, url = {}, f"{sandbox.base_url}/predictions"
    while url:
        page = httpx2.get(url, headers=headers).json()
        for p in page["results"]:
            if str((p.get("input") or {}).get("prompt", "")).startswith(prefix):
                found[p["id"]] = p["status"]
        url = page.get("next")
    return found


async def until(condition, seconds: float = 30) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.05)


async def killed_mid_calls(
    params: StdioServerParameters, data_dir: Path, calls: list[tuple[str, dict]], kill_when
) -> None:
    """Start `calls` at once; SIGKILL the server as soon as `kill_when()` holds; swallow the dead session."""
    try:
        async with Client(params) as client:
            async with anyio.create_task_group() as group:
                for name, arguments in calls:
                    group.start_soon(client.call_tool, name, arguments)
                await until(lambda: (data_dir / "ledger.sqlite3").exists() and kill_when(), 20)
                os.kill(server_pid(data_dir), signal.SIGKILL)
                with anyio.move_on_after(10):
                    await anyio.sleep_forever()
                group.cancel_scope.cancel()
    except Exception:  # the session died with its server: that is the point
        pass


async def test_kill_9_during_run_model_then_restart_archives_the_output(sandbox, tmp_path):
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    params = server_params(sandbox, data_dir, out_dir)
    prefix = f"kill-{uuid.uuid4().hex[:8]}"
    await killed_mid_calls(
        params,
        data_dir,
        [("run_model", {"model": SLOW, "input": {"prompt": prefix}})],
        lambda: rows(data_dir, "SELECT id FROM predictions"),
    )
    [(prediction_id, status)] = rows(data_dir, "SELECT id, status FROM predictions")
    assert status in ("starting", "processing")
    await until(lambda: upstream(sandbox, prefix).get(prediction_id) == "succeeded")
    assert not (out_dir / prediction_id).exists()  # nobody was there to save it

    async with Client(params) as client:
        await client.list_tools()
        await until(
            lambda: rows(data_dir, "SELECT 1 FROM archived_files WHERE prediction_id=?", prediction_id)
        )
        result = await client.call_tool("get_prediction", {"id": prediction_id})
    assert result.structured_content["status"] == "succeeded"
    [saved] = result.structured_content["files"]
    assert Path(saved["path"]).is_file() and Path(saved["path"]).parent == out_dir / prediction_id
    assert rows(data_dir, "SELECT status FROM predictions WHERE id=?", prediction_id) == [("succeeded",)]


async def test_kill_9_during_a_burst_of_creates_loses_no_prediction(sandbox, tmp_path):
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    params = server_params(sandbox, data_dir, out_dir)
    prefix = f"burst-{uuid.uuid4().hex[:8]}"
    calls = [("create_prediction", {"model": SLOW, "input": {"prompt": f"{prefix}-{n}"}}) for n in range(12)]
    await killed_mid_calls(params, data_dir, calls, lambda: rows(data_dir, "SELECT 1 FROM intents"))
    intents_before = rows(data_dir, "SELECT count(*) FROM intents")[0][0]
    assert intents_before >= 1

    await until(lambda: all(s == "succeeded" for s in upstream(sandbox, prefix).values()))
    made = upstream(sandbox, prefix)
    async with Client(params) as client:
        await client.list_tools()
        await until(lambda: not rows(data_dir, "SELECT 1 FROM intents WHERE state IN ('sending', 'unknown')"))
        await until(
            lambda: len(rows(data_dir, "SELECT DISTINCT prediction_id FROM archived_files")) >= len(made)
        )
    recorded = {r[0] for r in rows(data_dir, "SELECT id FROM predictions")}
    assert set(made) <= recorded, "every prediction that exists upstream is in the ledger"
    archived = {r[0] for r in rows(data_dir, "SELECT DISTINCT prediction_id FROM archived_files")}
    assert set(made) <= archived
    settled = dict(rows(data_dir, "SELECT state, count(*) FROM intents GROUP BY state"))
    assert settled.get("created", 0) == len(made)
    assert sum(settled.values()) == intents_before


@pytest.mark.parametrize("kind", ["drop_after", "500_after"])
async def test_over_stdio_a_lost_create_answer_is_found_and_nobody_needs_to_ask(sandbox, tmp_path, kind):
    """A real subprocess: the create's answer is lost, then nobody asks again; the file is on disk anyway."""
    data_dir, out_dir = tmp_path / "data", tmp_path / "out"
    prefix = f"{kind}-{uuid.uuid4().hex[:8]}"
    faults = f"{sandbox.url}/_sandbox/faults"
    httpx2.post(
        faults, json={"queue": [{"kind": kind, "method": "POST", "path": "/v1/", "count": 1}]}
    ).raise_for_status()
    try:
        async with Client(server_params(sandbox, data_dir, out_dir)) as client:
            made = await client.call_tool("create_prediction", {"model": SLOW, "input": {"prompt": prefix}})
            assert not made.is_error, made.content
            prediction_id = made.structured_content["id"]
            assert any("it was not run twice" in note for note in made.structured_content["notes"])
            await until(
                lambda: rows(data_dir, "SELECT 1 FROM archived_files WHERE prediction_id=?", prediction_id)
            )
    finally:
        httpx2.delete(faults).raise_for_status()
    assert list(upstream(sandbox, prefix)) == [prediction_id]
    assert any((out_dir / prediction_id).iterdir())
