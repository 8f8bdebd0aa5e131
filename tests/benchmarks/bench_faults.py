"""P8: runs through the MCP layer while a quarter of the sandbox's API requests fail.

Agents call run_model or create_prediction on hello-world, each with an input of its own, while the sandbox
answers 429/500/503 or drops the connection at random, and some creates are made but their answer is lost
(drop_after / 500_after queued on the create route). An agent retries only when the error says it is safe; a
create_prediction's id is then waited for. At the end, with the faults off, every prediction the sandbox holds
is compared with the ids the agents got and with the server's ledger.
"""

from __future__ import annotations

import random
import re
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client

from .common import HELLO, TOKEN, Figure, sandbox, server, text_of, workdir

RUNS = 200
AGENTS = 20  # calls in flight at once
TIME_SCALE = 0.01
POLL_INTERVAL = 0.05  # the server's poll spacing, scaled like the sandbox's clock (2 s on Replicate)
RATES = {"429": 0.05, "500": 0.06, "503": 0.05, "drop": 0.05}  # of every API request: 21 %
LOST_ANSWER = 0.25  # about one create in four is made, then its answer is lost
ATTEMPTS = 5
SETTLE_SECONDS = 30.0
RETENTION = (
    1e7  # model seconds: inputs stay listed for the whole run (Replicate's hour is 36 s at this scale)
)
SAFE = ("safe to call again", "Retry in")  # the only errors after which an agent calls again
NEXT_STEP = re.compile(
    r"call again|retry|add credit|check |fix |ask the user|set |call \w+|"
    r"wait_for_prediction|list_predictions|get_prediction|search_models",
    re.IGNORECASE,
)
UNCLEAR_WORDS = ("unexpectedly", "ExceptionGroup")


def unclear(message: str) -> bool:
    return any(word in message for word in UNCLEAR_WORDS) or not NEXT_STEP.search(message)


class Agents:
    """What the agents did: ids they were given, errors they saw, retries they made."""

    def __init__(self, client: Client, control: httpx2.AsyncClient, seed: int) -> None:
        self.client = client
        self.control = control
        self.rng = random.Random(seed)
        self.ids: dict[str, str] = {}  # input text -> id the agent got
        self.errors: list[tuple[str, str]] = []
        self.gave_up: list[str] = []  # texts whose agent was told not to retry (or ran out of attempts)
        self.retries = 0
        self.calls = 0
        self.lost_answers_queued = 0
        self.waited: Counter[str] = Counter()

    async def lose_an_answer(self) -> None:
        kind = self.rng.choice(["drop_after", "500_after"])
        entry = {"kind": kind, "method": "POST", "path": "/v1/predictions", "count": 1}
        (await self.control.post("/_sandbox/faults", json={"queue": [entry]})).raise_for_status()
        self.lost_answers_queued += 1

    async def call(self, tool: str, arguments: dict[str, Any]) -> tuple[Any, str | None]:
        self.calls += 1
        try:
            result = await self.client.call_tool(tool, arguments)
        except Exception as exc:  # a protocol failure reaches the agent as an error too
            message = f"{type(exc).__name__}: {exc}"
            self.errors.append((tool, message))
            return None, message
        if result.is_error:
            message = text_of(result)
            self.errors.append((tool, message))
            return result, message
        return result, None

    async def run(self, n: int, tag: str) -> None:
        text = f"p8-{tag}-{n}"
        tool = "run_model" if n % 2 == 0 else "create_prediction"
        for attempt in range(ATTEMPTS):
            if self.rng.random() < LOST_ANSWER:
                await self.lose_an_answer()
            result, error = await self.call(tool, {"model": HELLO, "input": {"text": text}})
            if error is None:
                self.ids[text] = result.structured_content["id"]
                break
            if not any(phrase in error for phrase in SAFE) or attempt == ATTEMPTS - 1:
                self.gave_up.append(text)
                return
            self.retries += 1
            await anyio.sleep(0.05)
        if tool == "create_prediction":
            result, error = await self.call(
                "wait_for_prediction", {"ids": self.ids[text], "wait_seconds": 20}
            )
            if error is None:
                finished = result.structured_content.get("finished") or []
                self.waited[finished[0]["status"] if finished else "still running"] += 1


def _rows(data_dir: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{data_dir / 'ledger.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


async def _settle(data_dir: Path) -> int:
    """Wait (bounded) until the server has settled every create whose outcome it did not know; those left."""
    deadline = time.perf_counter() + SETTLE_SECONDS
    while True:
        open_ = _rows(data_dir, "SELECT count(*) FROM intents WHERE state IN ('sending', 'unknown')")[0][0]
        if not open_ or time.perf_counter() > deadline:
            return open_
        await anyio.sleep(0.1)


async def _upstream(http: httpx2.AsyncClient, base_url: str) -> list[dict[str, Any]]:
    found, url = [], f"{base_url}/predictions"
    while url:
        page = (await http.get(url)).raise_for_status().json()
        found += page["results"]
        url = page.get("next")
    return found


async def fault_run(runs: int, *, seed: int = 11) -> dict[str, Any]:
    tag = f"{seed}"
    with sandbox(time_scale=TIME_SCALE, seed=seed, data_retention=RETENTION) as running, workdir() as root:
        data_dir = root / "data"
        async with (
            httpx2.AsyncClient(base_url=running.url, timeout=30) as control,
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api,
            Client(server(running, root, poll_interval=POLL_INTERVAL), mode="auto") as client,
        ):
            (await control.post("/_sandbox/faults", json={"rates": RATES})).raise_for_status()
            agents = Agents(client, control, seed)
            limiter = anyio.CapacityLimiter(AGENTS)

            async def one(n: int) -> None:
                async with limiter:
                    await agents.run(n, tag)

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for n in range(runs):
                    group.start_soon(one, n)
            wall = time.perf_counter() - started
            (await control.delete("/_sandbox/faults")).raise_for_status()
            unsettled = await _settle(data_dir)
            upstream = await _upstream(api, running.base_url)
        stats = running.stats()
        ledger_ids = {row[0] for row in _rows(data_dir, "SELECT id FROM predictions")}
        intents = Counter(row[0] for row in _rows(data_dir, "SELECT state FROM intents"))
    by_text: dict[str, list[str]] = {}
    for prediction in upstream:  # the sandbox is this benchmark's own: every prediction in it counts
        by_text.setdefault((prediction.get("input") or {}).get("text", ""), []).append(prediction["id"])
    given = set(agents.ids.values())
    made = {prediction["id"] for prediction in upstream}
    lost = sorted(made - given - ledger_ids)
    duplicates = {text: ids for text, ids in by_text.items() if len(ids) > 1}
    unclear_errors = [(tool, message) for tool, message in agents.errors if unclear(message)]
    return {
        "runs": runs,
        "wall_seconds": round(wall, 2),
        "tool_calls": agents.calls,
        "retries_after_safe_errors": agents.retries,
        "got_an_id": len(agents.ids),
        "gave_up": len(agents.gave_up),
        "waited": dict(agents.waited),
        "upstream_predictions": len(made),
        "held_by_ledger_not_given": len((made - given) & ledger_ids),
        "lost_ids": lost,
        "duplicates": duplicates,
        "errors": len(agents.errors),
        "error_kinds": dict(Counter(_kind(message) for _, message in agents.errors).most_common()),
        "unclear_errors": [f"{tool}: {message[:300]}" for tool, message in unclear_errors],
        "lost_answers_queued": agents.lost_answers_queued,
        "intents": dict(intents),
        "intents_unsettled_after_wait": unsettled,
        "api_requests": stats["total"],
        "fault_rates": RATES,
    }


def _kind(message: str) -> str:
    """An error message without its ids and numbers, to count alike errors together."""
    first = message.split(". ")[0]
    return re.sub(r"\b[a-z0-9]{26}\b|\d+(\.\d+)?", "#", first)[:140]


async def run(quick: bool, *, runs: int | None = None) -> list[Figure]:
    count = runs or (60 if quick else RUNS)
    result = await fault_run(count)
    lost, duplicates, unclear_n = (
        len(result["lost_ids"]),
        len(result["duplicates"]),
        len(result["unclear_errors"]),
    )
    faults = ", ".join(f"{kind} {rate:.0%}" for kind, rate in RATES.items())
    sample = f"; first: {result['unclear_errors'][0][:90]}" if result["unclear_errors"] else ""
    return [
        Figure(
            "P8",
            f"{count} runs under faults: lost ids",
            lost,
            "0",
            lost == 0,
            f"{result['upstream_predictions']} predictions upstream, {result['got_an_id']} ids given to "
            f"agents, {result['held_by_ledger_not_given']} more held by the ledger",
            1,
            result,
        ),
        Figure(
            "P8",
            "  duplicate runs (one input, several predictions)",
            duplicates,
            "0",
            duplicates == 0,
            f"{result['retries_after_safe_errors']} retries, "
            "each after a 'safe to call again'/'Retry in' error",
            1,
        ),
        Figure(
            "P8",
            "  unclear errors",
            unclear_n,
            "0",
            unclear_n == 0,
            f"of {result['errors']} errors in {result['tool_calls']} calls{sample}",
            1,
        ),
        Figure(
            "P8",
            "  wall time",
            f"{result['wall_seconds']:.1f} s",
            "",
            None,
            f"faults on every API request: {faults}; {result['lost_answers_queued']} creates made with their "
            "answer lost (drop_after/500_after); "
            f"{result['gave_up']} runs given up on a 'do not retry' error",
            1,
        ),
    ]
