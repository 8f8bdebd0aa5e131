"""P12 (issue 15's P8): a team on three replicas sharing Redis and an S3 store, one replica killed midway.

Ten people, each with their own Replicate token (`--auth replicate-token`, one sandbox account each),
start 1,000 predictions of flux-schnell through a round-robin balancer in front of three server processes,
then wait for them; when half the ids are given out, the replica holding the most leases gets SIGKILL. A
sample of ids is probed by another person (get, wait, cancel, the prediction and file resources), while
running and after. At the end:

- lost: predictions upstream (listed per account) that no call returned and the shared ledger does not hold,
  plus those the ledger never saw end, and succeeded ones whose file is not in the object store;
- duplicated: more than one upstream prediction for one (person, input);
- cross-tenant: probes not answered "not found";
- wall time and the sandbox's API request counters per prediction,
  beside one replica running the same workload.

The sandbox runs in its own process (time scale 1, rate limits raised as in P5); Redis and moto's S3 server
are real processes (`tests/services.py`). `python -m tests.benchmarks.bench_replicas --help` sets the sizes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.files.ledger import TERMINAL_STATUSES
from replicate_mcp.files.redis_ledger import RedisLedger
from tests.services import REDIS_MISSING, redis_server, s3_client, s3_server
from tests.team.replicas import Replica, RoundRobin, start_replicas

from .common import Figure, sandbox_process

PREDICTIONS, QUICK_PREDICTIONS = 1000, 200
TENANTS, REPLICAS = 10, 3
WORKERS = 4  # calls in flight at once per person
MODEL = "black-forest-labs/flux-schnell"
INPUT = {"megapixels": "0.25"}  # 512x512 webp: one file per prediction
COLD_BOOT = 4.0  # model seconds in `starting` (time scale 1): about 5.2 s a run, so hundreds are in flight
LEASE_SECONDS = 3.0  # how long a dead replica's runs wait before another takes them over
PROBE_EVERY = 20  # one id in 20 is probed by another person
WAIT_BATCH = 100
CALL_TIMEOUT = 90.0
SETTLE_SECONDS = 30.0  # after the agents: every unfinished run, unarchived file and unknown create settled
STATE_KEY = "b" * 43 + "="
SAFE = ("safe to call again", "Retry in")
SANDBOX_LIMITS = ("--create-limit", "100000", "--other-limit", "1000000", "--data-retention", "1e7")


@dataclass
class Workload:
    predictions: int = PREDICTIONS
    tenants: int = TENANTS
    workers: int = WORKERS
    cold_boot: float = COLD_BOOT
    lease_seconds: float = LEASE_SECONDS
    poll_rate: float | None = None  # the servers' --poll-rate (None: the server's default, per replica)
    probe_every: int = PROBE_EVERY
    settle_seconds: float = SETTLE_SECONDS


def token(tenant: int) -> str:
    return f"r8_bench_team_{tenant:02d}_0123456789"


def username(tenant: int) -> str:
    return f"tenant{tenant:02d}"


class Session:
    """One person's calls through the balancer, each in a Client of its own on a new connection.

    A new connection per call spreads the calls over the replicas (the balancer picks one per connection) and
    leaves no idle keep-alive connection for a replica to close under a request being sent: a call fails only
    when its replica dies. The first call discovers the server (2026-07-28, no session); later calls reuse
    that answer, as a client caching `server/discover` does.
    """

    def __init__(self, url: str, tenant: int, failures: Counter[str]) -> None:
        self.url = url
        self.tenant = tenant
        self.failures = failures
        self._http: httpx2.AsyncClient | None = None
        self._discover: Any = None
        self._version = "auto"

    async def run(self, action: Callable[[Client], Awaitable[Any]]) -> Any:
        if self._http is None:
            self._http = httpx2.AsyncClient(
                headers={"authorization": f"Bearer {token(self.tenant)}"},
                timeout=CALL_TIMEOUT,
                limits=httpx2.Limits(max_keepalive_connections=0),
            )
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                transport = streamable_http_client(f"{self.url}/mcp", http_client=self._http)
                async with Client(transport, mode=self._version, prior_discover=self._discover) as client:
                    if self._discover is None:
                        self._discover = client.session.discover_result
                        self._version = client.session.protocol_version
                    return await action(client)
        except Exception as exc:
            self.failures[_reason(exc)] += 1
            await self.close()
            raise

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()


def _reason(exc: BaseException) -> str:
    """The innermost exception of a (nested) group, as `Type: message`."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:160]


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


@dataclass
class Tally:
    """What the agents did and saw in one run."""

    given: dict[str, str] = field(default_factory=dict)  # prompt -> id the owner got
    owner: dict[str, int] = field(default_factory=dict)  # id -> tenant
    finished: dict[str, str] = field(default_factory=dict)  # id -> status returned to its owner
    cut_creates: list[str] = field(default_factory=list)  # prompts whose create call the kill cut
    refused_creates: list[str] = field(
        default_factory=list
    )  # prompts refused with an error not safe to retry
    retries: int = 0
    probes: Counter[str] = field(default_factory=Counter)  # kind -> probes answered "not found"
    leaks: list[str] = field(default_factory=list)  # probes answered otherwise
    probe_failures: list[str] = field(default_factory=list)  # probes the connection failed twice
    wait_errors: list[str] = field(default_factory=list)
    failed_calls: Counter[str] = field(default_factory=Counter)  # calls whose connection failed, by reason


def not_found(kind: str, result: Any, prediction_id: str) -> bool:
    """The answer the owner's stranger must get: Replicate's 404, or a wait that names the id as unknown."""
    if kind != "wait_for_prediction":
        return result.is_error and "Not found" in text_of(result)
    data = result.structured_content or {}
    problems = data.get("problems") or []
    return (
        not result.is_error
        and not data.get("finished")
        and [p["id"] for p in problems] == [prediction_id]
        and "no prediction has this id" in problems[0]["error"]
    )


RESOURCE_REFUSALS = ("unknown prediction", "no saved file")


async def probe(session: Session, tally: Tally, kind: str, prediction_id: str) -> None:
    """Another person asks for `prediction_id`; anything but "not found" is a cross-tenant answer."""

    async def ask(client: Client) -> tuple[bool, str]:
        if kind.startswith("resource"):
            uri = f"replicate://predictions/{prediction_id}" + ("/files/0" if kind == "resource file" else "")
            try:
                contents = await client.read_resource(uri)
            except Exception as exc:
                if any(words in str(exc) for words in RESOURCE_REFUSALS):
                    return True, str(exc)
                if type(exc).__name__ == "McpError":
                    return False, f"{type(exc).__name__}: {exc}"
                raise
            return False, f"read {len(contents.contents)} contents"
        arguments: dict[str, Any] = {"id": prediction_id}
        if kind == "wait_for_prediction":
            arguments = {"ids": [prediction_id], "wait_seconds": 1, "images": False}
        result = await client.call_tool(kind, arguments)
        return not_found(kind, result, prediction_id), text_of(result)[:200]

    for attempt in range(2):
        try:
            refused, answer = await session.run(ask)
            break
        except Exception as exc:
            if attempt == 1:
                tally.probe_failures.append(f"{kind} {prediction_id}: {type(exc).__name__}: {exc}"[:200])
                return
    if refused:
        tally.probes[kind] += 1
    else:
        tally.leaks.append(f"{kind} {prediction_id} by {username(session.tenant)}: {answer}")


async def agent(url: str, tenant: int, prompts: list[tuple[int, str]], work: Workload, tally: Tally) -> None:
    """One worker of one person: create each prediction
    (retrying only on a "safe to call again"), then wait."""
    own = Session(url, tenant, tally.failed_calls)
    other = Session(url, (tenant + 1) % work.tenants, tally.failed_calls)
    mine: list[str] = []
    probed: list[str] = []
    try:
        for n, prompt in prompts:
            arguments = {"model": MODEL, "input": {"prompt": prompt, **INPUT}}
            for attempt in range(5):
                try:
                    made = await own.run(lambda c, a=arguments: c.call_tool("create_prediction", a))
                except Exception:
                    tally.cut_creates.append(prompt)  # sent or not, unknown: never sent twice
                    break
                if not made.is_error:
                    prediction_id = made.structured_content["id"]
                    tally.given[prompt] = prediction_id
                    tally.owner[prediction_id] = tenant
                    mine.append(prediction_id)
                    break
                if not any(phrase in text_of(made) for phrase in SAFE) or attempt == 4:
                    tally.refused_creates.append(f"{prompt}: {text_of(made)[:200]}")
                    break
                tally.retries += 1
                await anyio.sleep(0.2)
            if mine and n % work.probe_every == 0 and mine[-1] == tally.given.get(prompt):
                probed.append(mine[-1])
                for kind in ("get_prediction", "cancel_prediction", "wait_for_prediction", "resource"):
                    await probe(other, tally, kind, mine[-1])
        waiting = list(mine)
        while waiting:
            batch = waiting[:WAIT_BATCH]
            try:
                result = await own.run(
                    lambda c, b=batch: c.call_tool(
                        "wait_for_prediction", {"ids": b, "wait_seconds": 30, "images": False}
                    )
                )
            except Exception as exc:
                tally.wait_errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue  # a wait is safe to repeat
            if result.is_error:
                tally.wait_errors.append(text_of(result)[:200])
                await anyio.sleep(1)
                continue
            for item in result.structured_content["finished"]:
                tally.finished[item["id"]] = item["status"]
            for problem in result.structured_content.get("problems") or []:
                tally.wait_errors.append(f"{problem['id']}: {problem['error']}"[:200])
                tally.finished.setdefault(problem["id"], "problem")
            waiting = [i for i in waiting if i not in tally.finished]
        for prediction_id in probed:
            for kind in ("get_prediction", "resource", "resource file"):
                await probe(other, tally, kind, prediction_id)
    finally:
        await own.close()
        await other.close()


async def killer(
    replicas: list[Replica], redis_url: str, tally: Tally, half: int, killed: dict[str, Any]
) -> None:
    """When half the ids are given out, SIGKILL the replica holding the most leases."""
    leases = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        while len(tally.given) < half:
            await anyio.sleep(0.05)
        holders = Counter()
        for key in leases.scan_iter("rmcp:lease:*", count=1000):
            holder = leases.get(key) or ""
            for replica in replicas:
                if f"-{replica.process.pid}-" in holder:
                    holders[replica.port] += 1
        victim = max(replicas, key=lambda r: holders[r.port])
        victim.kill()
        killed.update(
            port=victim.port,
            leases_held=holders[victim.port],
            leases_all=sum(holders.values()),
            ids_given=len(tally.given),
            at=time.perf_counter(),
        )
    finally:
        leases.close()


async def _get_json(http: httpx2.AsyncClient, url: str, **kwargs: Any) -> Any:
    return (await http.get(url, **kwargs)).raise_for_status().json()


async def upstream_of(http: httpx2.AsyncClient, base: str, tenant: int) -> list[dict[str, Any]]:
    found, url = [], f"{base}/v1/predictions"
    while url:
        page = await _get_json(http, url, headers={"authorization": f"Bearer {token(tenant)}"})
        found += page["results"]
        url = page.get("next")
    return found


def settle(ledger: RedisLedger, seconds: float) -> dict[str, int]:
    """Wait (bounded) until no prediction is unfinished or unarchived, no create unresolved; what is left."""
    deadline = time.monotonic() + seconds
    while True:
        left = {
            "pending": len(ledger.pending()),
            "unarchived": len(ledger.unarchived()),
            "unresolved_intents": len(ledger.unresolved_intents()),
        }
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


async def team_run(
    replica_count: int,
    work: Workload,
    *,
    kill: bool,
    redis_url: str,
    s3_url: str,
    s3_env: dict[str, str],
    root: Path,
    label: str,
) -> dict[str, Any]:
    redis.Redis.from_url(redis_url).flushdb()
    archive = f"{s3_url}/{label}"
    accounts = [arg for t in range(work.tenants) for arg in ("--account", f"{token(t)}={username(t)}")]
    extra = [
        "--auth",
        "replicate-token",
        "--lease-seconds",
        str(work.lease_seconds),
        "--log-level",
        "WARNING",
    ]
    if work.poll_rate:
        extra += ["--poll-rate", str(work.poll_rate)]
    with sandbox_process(
        "--time-scale", "1", "--cold-boot", str(work.cold_boot), *SANDBOX_LIMITS, *accounts
    ) as url:
        replicas = start_replicas(
            replica_count,
            tmp=root / label,
            sandbox_url=url,
            redis_url=redis_url,
            s3_url=archive,
            s3_env={**s3_env, "REPLICATE_MCP_STATE_KEY": STATE_KEY},
            extra=extra,
        )
        balancer = RoundRobin([r.port for r in replicas])
        tally, killed = Tally(), {}
        try:
            async with httpx2.AsyncClient(timeout=60) as http:
                (await http.post(f"{url}/_sandbox/stats/reset")).raise_for_status()
                started = time.perf_counter()
                async with anyio.create_task_group() as group:
                    if kill:
                        group.start_soon(killer, replicas, redis_url, tally, work.predictions // 2, killed)
                    for tenant in range(work.tenants):
                        prompts = [
                            (n, f"p12-{label}-{tenant}-{n}")
                            for n in range(work.predictions)
                            if n % work.tenants == tenant
                        ]
                        for w in range(work.workers):
                            group.start_soon(
                                agent, balancer.url, tenant, prompts[w :: work.workers], work, tally
                            )
                agents_done = time.perf_counter()
                ledger = RedisLedger.from_url(redis_url)
                left = await anyio.to_thread.run_sync(settle, ledger, work.settle_seconds)
                settled = time.perf_counter()
                stats = await _get_json(http, f"{url}/_sandbox/stats")
                upstream = {t: await upstream_of(http, url, t) for t in range(work.tenants)}
        finally:
            balancer.close()
            for replica in replicas:
                if replica.process.poll() is None:
                    replica.process.terminate()
                    replica.process.wait(10)
    return _count(
        work,
        tally,
        killed,
        ledger,
        upstream,
        stats,
        left,
        s3_env,
        archive,
        replica_count,
        wall=agents_done - started,
        settle=settled - agents_done,
        started=started,
    )


def _count(
    work: Workload,
    tally: Tally,
    killed: dict[str, Any],
    ledger: RedisLedger,
    upstream: dict[int, list[dict[str, Any]]],
    stats: dict[str, Any],
    left: dict[str, int],
    s3_env: dict[str, str],
    archive: str,
    replica_count: int,
    *,
    wall: float,
    settle: float,
    started: float,
) -> dict[str, Any]:
    bucket, _, prefix = archive.removeprefix("s3://").partition("/")
    s3 = s3_client(s3_env)
    stored: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        stored |= {f"s3://{bucket}/{o['Key']}" for o in page.get("Contents", [])}
    given = set(tally.given.values())
    unrecorded, unfollowed, unarchived, misfiled, statuses = [], [], [], [], Counter()
    by_input: dict[tuple[int, str], list[str]] = {}
    for tenant, predictions in upstream.items():
        for p in predictions:
            by_input.setdefault((tenant, str((p.get("input") or {}).get("prompt"))), []).append(p["id"])
            statuses[p["status"]] += 1
            entry = ledger.get(p["id"])
            if entry is None:
                if p["id"] not in given:
                    unrecorded.append(p["id"])
                else:
                    unfollowed.append(p["id"])
                continue
            if entry.tenant != username(tenant):
                misfiled.append(f"{p['id']} of {username(tenant)} filed under {entry.tenant}")
            if entry.status not in TERMINAL_STATUSES:
                unfollowed.append(p["id"])
            elif entry.status == "succeeded" and (
                not entry.files or any(f.stored not in stored for f in entry.files)
            ):
                unarchived.append(p["id"])
    ledger.close()
    duplicates = {f"{username(t)}: {prompt}": ids for (t, prompt), ids in by_input.items() if len(ids) > 1}
    made = sum(len(v) for v in upstream.values())
    requests: dict[str, int] = stats["requests"]
    api = {route: n for route, n in requests.items() if " /v1/" in route}
    creates = sum(
        n for route, n in api.items() if route.startswith("POST ") and route.endswith("/predictions")
    )
    polls = api.get("GET /v1/predictions/{id}", 0)
    not_returned = [i for i in given if tally.finished.get(i) not in TERMINAL_STATUSES]
    probes = sum(tally.probes.values()) + len(tally.leaks)
    return {
        "replicas": replica_count,
        "predictions": work.predictions,
        "tenants": work.tenants,
        "killed": {k: (round(v - started, 2) if k == "at" else v) for k, v in killed.items()},
        "wall_seconds": round(wall, 2),
        "settle_seconds": round(settle, 2),
        "left_after_settle": left,
        "upstream_predictions": made,
        "upstream_statuses": dict(statuses),
        "ids_given": len(given),
        "cut_creates": len(tally.cut_creates),
        "failed_calls": dict(tally.failed_calls),
        "refused_creates": tally.refused_creates[:5],
        "retries_after_safe_errors": tally.retries,
        "not_returned_finished_to_owner": len(not_returned),
        "lost_unrecorded": unrecorded,
        "lost_unfollowed": unfollowed,
        "lost_unarchived": unarchived,
        "lost": len(unrecorded) + len(unfollowed) + len(unarchived),
        "duplicates": duplicates,
        "misfiled": misfiled,
        "probes": probes,
        "probes_not_found": dict(tally.probes),
        "cross_tenant": tally.leaks,
        "probe_failures": tally.probe_failures,
        "wait_errors": len(tally.wait_errors),
        "wait_error_sample": tally.wait_errors[:3],
        "api_requests": sum(api.values()),
        "requests_per_prediction": round(sum(api.values()) / max(made, 1), 2),
        "creates_per_prediction": round(creates / max(made, 1), 2),
        "polls_per_prediction": round(polls / max(made, 1), 2),
        "api_routes": dict(sorted(api.items())),
        "other_routes": {r: n for r, n in sorted(requests.items()) if r not in api},
    }


async def compare(work: Workload, replica_count: int = REPLICAS) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workload on `replica_count` replicas with one killed midway, then on one replica; both results."""
    with (
        tempfile.TemporaryDirectory(prefix="replicate-mcp-p12-") as name,
        redis_server(Path(name)) as redis_url,
        s3_server() as (s3_url, s3_env),
    ):
        root = Path(name)
        several = await team_run(
            replica_count,
            work,
            kill=True,
            redis_url=redis_url,
            s3_url=s3_url,
            s3_env=s3_env,
            root=root,
            label=f"r{replica_count}",
        )
        one = await team_run(
            1, work, kill=False, redis_url=redis_url, s3_url=s3_url, s3_env=s3_env, root=root, label="r1"
        )
    return several, one


async def run(quick: bool, *, work: Workload | None = None, replica_count: int = REPLICAS) -> list[Figure]:
    work = work or Workload(predictions=QUICK_PREDICTIONS if quick else PREDICTIONS)
    if shutil.which("redis-server") is None:
        return [Figure("P12", "several replicas, one killed midway: not run", None, "", None, REDIS_MISSING)]
    several, one = await compare(work, replica_count)
    size = f"{work.predictions:,} predictions from {work.tenants} tenants"
    killed = several["killed"]
    kill_note = (
        f"replica killed at {killed.get('at', '?')} s after {killed.get('ids_given', '?')} ids given, "
        f"holding {killed.get('leases_held', '?')} of {killed.get('leases_all', '?')} leases"
    )

    def both(key: str) -> str:
        return f"1 replica: {len(one[key]) if isinstance(one[key], list | dict) else one[key]}"

    lost, duplicated, crossed = several["lost"], len(several["duplicates"]), len(several["cross_tenant"])
    cross_sample = f"; first: {several['cross_tenant'][0][:120]}" if crossed else ""
    return [
        Figure(
            "P12",
            f"{size} on {replica_count} replicas, one SIGKILLed midway (issue 15's P8): lost",
            lost,
            "0",
            lost == 0 and one["lost"] == 0,
            f"{len(several['lost_unrecorded'])} unrecorded, {len(several['lost_unfollowed'])} not followed "
            f"to the end, {len(several['lost_unarchived'])} not archived; "
            f"{several['upstream_predictions']:,} upstream, {several['ids_given']:,} ids given, "
            f"{several['cut_creates']} creates cut by the kill; {kill_note}; {both('lost')}",
            1,
            {"several": several, "one": one},
        ),
        Figure(
            "P12",
            "  duplicated (one person's input, several predictions)",
            duplicated,
            "0",
            duplicated == 0 and not one["duplicates"],
            f"{several['retries_after_safe_errors']} retries after 'safe to call again'; "
            f"{both('duplicates')}",
            1,
        ),
        Figure(
            "P12",
            "  cross-tenant answers (B's get/wait/cancel/resources on A's id)",
            crossed,
            "0",
            crossed == 0 and not one["cross_tenant"] and not several["misfiled"],
            f"of {several['probes']} probes ({len(several['probe_failures'])} cut by the kill); "
            f"{both('cross_tenant')} of {one['probes']}{cross_sample}",
            1,
        ),
        Figure(
            "P12",
            f"  wall time, {replica_count} replicas (one killed) vs 1 replica",
            f"{several['wall_seconds']:.1f} s vs {one['wall_seconds']:.1f} s",
            "",
            None,
            f"creates + waits by {work.tenants}x{work.workers} agents; then {_settled(several)} / "
            f"{_settled(one)}; lease {work.lease_seconds:g} s",
            1,
        ),
        Figure(
            "P12",
            f"  API requests per prediction, {replica_count} replicas vs 1",
            f"{several['requests_per_prediction']:g} vs {one['requests_per_prediction']:g}",
            "",
            None,
            f"polls {several['polls_per_prediction']:g} vs {one['polls_per_prediction']:g}, creates "
            f"{several['creates_per_prediction']:g} vs {one['creates_per_prediction']:g}; "
            f"{several['api_requests']:,} vs {one['api_requests']:,} requests in all",
            1,
        ),
    ]


def _settled(result: dict[str, Any]) -> str:
    left = {k: v for k, v in result["left_after_settle"].items() if v}
    if not left:
        return f"settled in {result['settle_seconds']:.1f} s"
    return f"after {result['settle_seconds']:.0f} s still " + ", ".join(f"{v} {k}" for k, v in left.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_replicas",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--predictions", type=int, default=PREDICTIONS)
    parser.add_argument("--tenants", type=int, default=TENANTS)
    parser.add_argument("--replicas", type=int, default=REPLICAS)
    parser.add_argument("--workers", type=int, default=WORKERS, help="calls in flight at once per person")
    parser.add_argument(
        "--cold-boot", type=float, default=COLD_BOOT, help="model seconds each run starts for"
    )
    parser.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS)
    parser.add_argument(
        "--poll-rate", type=float, help="the servers' --poll-rate (default: the server's own)"
    )
    parser.add_argument("--probe-every", type=int, default=PROBE_EVERY)
    parser.add_argument("--out", type=Path, help="also write every count as JSON to this file")
    args = parser.parse_args(argv)
    from .__main__ import _quiet_logs, table

    _quiet_logs()
    work = Workload(
        predictions=args.predictions,
        tenants=args.tenants,
        workers=args.workers,
        cold_boot=args.cold_boot,
        lease_seconds=args.lease_seconds,
        poll_rate=args.poll_rate,
        probe_every=args.probe_every,
    )
    figures = anyio.run(lambda: run(False, work=work, replica_count=args.replicas))
    print(table(figures))
    if args.out:
        args.out.write_text(json.dumps(figures[0].details, indent=2, default=str) + "\n")
    return 0 if all(f.ok is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
