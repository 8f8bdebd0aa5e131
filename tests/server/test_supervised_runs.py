"""A prediction belongs to the server: lost answers, failed creates, lifetimes,
calls that go away, no one asking.

Every test goes through a real MCP client session against the sandbox, with the sandbox's fault injection
where users meet faults: on the create itself.
"""

import json
import sqlite3
import uuid
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

HELLO = "replicate/hello-world"
FLUX = "black-forest-labs/flux-schnell"
SLOW = "sandbox/text-to-video"  # about 200 model seconds: 2 s at the tests' time scale
CREATE_ROUTES = ("POST /v1/predictions", "POST /v1/models/{owner}/{name}/predictions")


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def creates(sandbox) -> int:
    requests = sandbox.stats()["requests"]
    return sum(requests.get(route, 0) for route in CREATE_ROUTES)


@pytest.fixture
def faults(sandbox):
    url = f"{sandbox.url}/_sandbox/faults"

    def inject(kind: str, method: str = "POST", path: str = "/v1/", count: int = 1) -> None:
        body = {"queue": [{"kind": kind, "method": method, "path": path, "count": count}]}
        httpx2.post(url, json=body).raise_for_status()

    yield inject
    httpx2.delete(url).raise_for_status()


def upstream(sandbox, text: str) -> list[dict]:
    """Every prediction the sandbox holds whose input text is `text` (each test uses a text of its own)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    found, url = [], f"{sandbox.base_url}/predictions"
    while url:
        page = httpx2.get(url, headers=headers).json()
        found += [p for p in page["results"] if (p.get("input") or {}).get("text") == text]
        url = page.get("next")
    return found


def ledger_rows(data_dir: Path, sql: str, *params) -> list[sqlite3.Row]:
    db = sqlite3.connect(data_dir / "ledger.sqlite3")
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", ["drop_after", "500_after"])
async def test_a_lost_answer_is_found_not_run_twice(make_server, sandbox, faults, mode, kind, tmp_path):
    text = unique(kind)
    before = creates(sandbox)
    faults(kind)
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool("run_model", {"model": HELLO, "input": {"text": text}})
    data = result.structured_content
    assert not result.is_error, text_of(result)
    assert data["status"] == "succeeded" and data["output"] == f"hello {text}"
    assert any(
        f"found the prediction it made, {data['id']}: it was not run twice" in n for n in data["notes"]
    )
    assert creates(sandbox) == before + 1
    assert [p["id"] for p in upstream(sandbox, text)] == [data["id"]]
    intents = ledger_rows(tmp_path / "data", "SELECT state, prediction_id FROM intents")
    assert [(r["state"], r["prediction_id"]) for r in intents] == [("created", data["id"])]


@pytest.mark.parametrize("kind", ["500", "drop"])
async def test_a_create_that_made_nothing_says_it_is_safe_to_retry(
    make_server, sandbox, faults, mode, kind, tmp_path
):
    text = unique(kind)
    faults(kind)
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool("create_prediction", {"model": HELLO, "input": {"text": text}})
        assert result.is_error
        message = text_of(result)
        assert "no prediction was created, so nothing is billed. It is safe to call again." in message
        assert "unexpectedly" not in message and TOKEN not in message
        assert upstream(sandbox, text) == []
        again = await client.call_tool("run_model", {"model": HELLO, "input": {"text": text}})
        assert again.structured_content["output"] == f"hello {text}"
    assert len(upstream(sandbox, text)) == 1
    states = ledger_rows(tmp_path / "data", "SELECT state FROM intents ORDER BY created_at")
    assert [r["state"] for r in states] == ["not_created", "created"]


async def test_an_unknown_outcome_is_never_retried_and_is_settled_later(
    make_server, sandbox, faults, tmp_path
):
    text = unique("unknown")
    faults("drop_after")
    faults("503", method="GET", path="/v1/predictions", count=30)  # the list that would tell fails too
    async with Client(make_server()) as client:
        result = await client.call_tool("run_model", {"model": HELLO, "input": {"text": text}})
        assert result.is_error
        assert "Do not retry yet: this server keeps checking" in text_of(result)
        httpx2.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()
        with anyio.fail_after(20):
            while not ledger_rows(tmp_path / "data", "SELECT 1 FROM intents WHERE state='created'"):
                await anyio.sleep(0.1)
    made = upstream(sandbox, text)
    assert len(made) == 1
    rows = ledger_rows(tmp_path / "data", "SELECT prediction_id FROM intents")
    assert [r["prediction_id"] for r in rows] == [made[0]["id"]]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("402", "Insufficient credit: You have insufficient credit to run this model."),
        ("429", "Replicate's rate limit was hit"),
    ],
)
async def test_api_errors_on_create_say_what_to_do(make_server, faults, mode, kind, expected):
    faults(kind, count=10)
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(
            "create_prediction", {"model": HELLO, "input": {"text": unique(kind)}}
        )
    message = text_of(result)
    assert result.is_error and expected in message, message
    assert "unexpectedly" not in message and "ExceptionGroup" not in message
    if kind == "402":
        assert message.endswith(
            "Nothing was run or billed. Add credit at https://replicate.com/account/billing, then call again."
        )
    else:
        assert message.endswith("Retry in about 1s.")


@pytest.mark.parametrize(
    ("cancel_after", "expected"),
    [
        ("1s", "cancel_after must be between 5s and 1h on this server (got '1s')"),
        ("2h", "cancel_after must be between 5s and 1h on this server (got '2h')"),
        ("soon", "cancel_after: 'soon' is not a duration; use seconds or a form like 30s, 5m, 1h30m"),
    ],
)
async def test_lifetimes_are_checked_before_anything_is_sent(
    make_server, sandbox, mode, cancel_after, expected
):
    before = creates(sandbox)
    async with Client(make_server(), mode=mode) as client:
        result = await client.call_tool(
            "create_prediction", {"model": HELLO, "input": {"text": "x"}, "cancel_after": cancel_after}
        )
    assert result.is_error and text_of(result).startswith(
        f"Error executing tool create_prediction: {expected}"
    )
    assert creates(sandbox) == before


async def test_every_create_carries_a_lifetime(make_server, sandbox):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with Client(make_server(cancel_after="20m")) as client:
        default = await client.call_tool(
            "create_prediction", {"model": HELLO, "input": {"text": unique("life")}}
        )
        chosen = await client.call_tool(
            "create_prediction", {"model": HELLO, "input": {"text": unique("life")}, "cancel_after": "30s"}
        )
    spans = []
    for result in (default, chosen):
        p = httpx2.get(
            f"{sandbox.base_url}/predictions/{result.structured_content['id']}", headers=headers
        ).json()
        assert p["deadline"], p
        spans.append(_seconds(p["deadline"]) - _seconds(p["created_at"]))
    # the sandbox runs 100x fast: 20 min and 30 s of model time are 12 s and 0.3 s of wall time
    assert spans[0] == pytest.approx(12.0, abs=0.05) and spans[1] == pytest.approx(0.3, abs=0.05)


def _seconds(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def test_wait_reports_each_id_on_its_own(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        made = await client.call_tool(
            "create_prediction", {"model": HELLO, "input": {"text": unique("each")}}
        )
        good = made.structured_content["id"]
        result = await client.call_tool("wait_for_prediction", {"ids": [good, "doesnotexist0000000000000a"]})
    data = result.structured_content
    assert not result.is_error, text_of(result)
    assert [f["id"] for f in data["finished"]] == [good] and data["finished"][0]["status"] == "succeeded"
    assert data["problems"] == [
        {
            "id": "doesnotexist0000000000000a",
            "error": "no prediction has this id; list_predictions shows recent ones",
        }
    ]


async def test_files_are_saved_with_no_call_looking(make_server, tmp_path, mode):
    async with Client(make_server(), mode=mode) as client:
        made = await client.call_tool(
            "create_prediction", {"model": FLUX, "input": {"prompt": "a quiet harbour"}}
        )
        prediction_id = made.structured_content["id"]
        folder = tmp_path / "outputs" / prediction_id
        with anyio.fail_after(20):
            while not (folder.is_dir() and any(p.suffix == ".webp" for p in folder.iterdir())):
                await anyio.sleep(0.05)
    rows = ledger_rows(
        tmp_path / "data", "SELECT path FROM archived_files WHERE prediction_id=?", prediction_id
    )
    assert [Path(r["path"]).parent for r in rows] == [folder]


async def _started_id(data_dir: Path) -> str:
    with anyio.fail_after(10):
        while True:
            if (data_dir / "ledger.sqlite3").exists():
                rows = ledger_rows(data_dir, "SELECT id FROM predictions ORDER BY seq DESC LIMIT 1")
                if rows:
                    return rows[0]["id"]
            await anyio.sleep(0.02)


@pytest.mark.parametrize("keep_running", [False, True])
async def test_a_call_that_goes_away_cancels_its_run_unless_kept(
    make_server, sandbox, tmp_path, keep_running
):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with Client(make_server()) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(
                client.call_tool,
                "run_model",
                {"model": SLOW, "input": {"prompt": "a long pan"}, "keep_running": keep_running},
            )
            prediction_id = await _started_id(tmp_path / "data")
            await anyio.sleep(0.3)
            group.cancel_scope.cancel()
        with anyio.fail_after(20):
            while (
                status := httpx2.get(
                    f"{sandbox.base_url}/predictions/{prediction_id}", headers=headers
                ).json()["status"]
            ) in ("starting", "processing"):
                await anyio.sleep(0.05)
        if keep_running:
            assert status == "succeeded"
            with anyio.fail_after(20):
                while not ledger_rows(
                    tmp_path / "data", "SELECT 1 FROM archived_files WHERE prediction_id=?", prediction_id
                ):
                    await anyio.sleep(0.05)
        else:
            assert status == "canceled"
    kept = ledger_rows(
        tmp_path / "data", "SELECT keep_running, status FROM predictions WHERE id=?", prediction_id
    )
    assert [dict(r) for r in kept] == [{"keep_running": int(keep_running), "status": status}]


async def test_a_returned_handle_belongs_to_the_agent(make_server, tmp_path):
    async with Client(make_server()) as client:
        handle = await client.call_tool(
            "run_model", {"model": SLOW, "input": {"prompt": "x"}, "wait_seconds": 0.2}
        )
        data = handle.structured_content
        assert data["status"] in ("starting", "processing") and "wait_for_prediction" in data["next"]
        rows = ledger_rows(tmp_path / "data", "SELECT keep_running FROM predictions WHERE id=?", data["id"])
        assert [r["keep_running"] for r in rows] == [1]
        done = await client.call_tool("wait_for_prediction", {"ids": data["id"], "wait_seconds": 30})
        assert done.structured_content["finished"][0]["status"] == "succeeded"


async def test_waiting_calls_share_one_follower(make_server, sandbox):
    async with Client(make_server()) as client:
        made = await client.call_tool(
            "create_prediction", {"model": SLOW, "input": {"prompt": unique("share")}}
        )
        prediction_id = made.structured_content["id"]
        sandbox.reset_stats()
        results = []

        async def wait() -> None:
            results.append(
                await client.call_tool("wait_for_prediction", {"ids": prediction_id, "wait_seconds": 30})
            )

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(wait)
    assert [r.structured_content["finished"][0]["status"] for r in results] == ["succeeded"] * 5
    polls = sandbox.stats()["requests"].get("GET /v1/predictions/{prediction_id}", 0)
    # one follower: one GET per 0.05 s interval at most over ~2 s, not five callers' worth
    assert polls <= 2 / 0.05 + 5, polls


def _json(result) -> dict:
    return json.loads(text_of(result))
