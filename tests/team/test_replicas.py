"""Three replicas behind a load balancer, sharing Redis and an S3 store,
serving two people with their own tokens.

One replica is killed with SIGKILL while runs are in flight on it. Every prediction must still be followed
to its end by another replica, archived once, and found by its owner from any replica; none created twice;
none readable by the other person.
"""

from __future__ import annotations

import uuid

import anyio
import boto3
import httpx2
import pytest
import redis
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.sandbox import SandboxConfig, start_sandbox

from .replicas import RoundRobin, start_replicas

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ALICE, BOB = "r8_alice_team_0123456789", "r8_bob_team_0123456789"
VIDEO = "sandbox/text-to-video"  # about 200 model seconds: 6 s at this time scale, with a file at the end
RUNS = 6


@pytest.fixture
def team(tmp_path, redis_url, s3_store):
    box = start_sandbox(
        SandboxConfig(time_scale=0.03, seed=9, cold_boot=0.5, accounts={ALICE: "alice", BOB: "bob"})
    )
    s3_url, s3_env = s3_store
    redis.Redis.from_url(redis_url).flushdb()  # each test's replicas start from an empty shared state
    replicas = start_replicas(
        3,
        tmp=tmp_path,
        sandbox_url=box.url,
        redis_url=redis_url,
        s3_url=s3_url,
        s3_env={**s3_env, "REPLICATE_MCP_STATE_KEY": "x" * 43 + "="},
        extra=["--auth", "replicate-token", "--poll-interval", "0.05", "--lease-seconds", "1"],
    )
    balancer = RoundRobin([r.port for r in replicas])
    yield box, replicas, balancer, s3_env
    balancer.close()
    for replica in replicas:
        if replica.process.poll() is None:
            replica.process.terminate()
            replica.process.wait(10)
    box.stop()


async def call(balancer: RoundRobin, token: str, tool: str, arguments: dict, mode: str = "auto"):
    """One call on a new connection: the balancer sends it to the next replica."""
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(
            streamable_http_client(f"{balancer.url}/mcp", http_client=http), mode=mode
        ) as client:
            return await client.call_tool(tool, arguments)


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def test_a_replica_killed_mid_run_loses_nothing(team, redis_url):
    box, replicas, balancer, s3_env = team
    prompt = f"team-{uuid.uuid4().hex[:8]}"
    ids = []
    for n in range(RUNS):
        made = await call(
            balancer, ALICE, "create_prediction", {"model": VIDEO, "input": {"prompt": f"{prompt}-{n}"}}
        )
        assert not made.is_error, text_of(made)
        ids.append(made.structured_content["id"])

    leases = redis.Redis.from_url(redis_url, decode_responses=True)
    holders = {i: leases.get(f"rmcp:lease:{i}") for i in ids}
    assert all(holders.values()), holders
    victim = max(replicas, key=lambda r: sum(f"-{r.process.pid}-" in h for h in holders.values()))
    owned_by_victim = [i for i, h in holders.items() if f"-{victim.process.pid}-" in h]
    assert owned_by_victim
    victim.kill()

    results = await call(balancer, ALICE, "wait_for_prediction", {"ids": ids, "wait_seconds": 45})
    data = results.structured_content
    assert not results.is_error, text_of(results)
    assert [f["status"] for f in data["finished"]] == ["succeeded"] * RUNS, data
    assert sorted(f["id"] for f in data["finished"]) == sorted(ids)
    for finished in data["finished"]:
        assert len(finished["files"]) == 1

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_env["AWS_ENDPOINT_URL"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="outputs", Prefix="replicate-mcp/alice/").get("Contents", [])
    ]
    for prediction_id in ids:
        assert len([k for k in keys if f"/{prediction_id}/" in k]) == 1, (
            keys
        )  # archived once, under its owner
    for prediction_id in owned_by_victim:
        assert leases.get(f"rmcp:lease:{prediction_id}") is None  # the one who took over let go when it ended

    headers = {"Authorization": f"Bearer {ALICE}"}
    upstream = httpx2.get(f"{box.base_url}/predictions", headers=headers).json()["results"]
    mine = [p for p in upstream if str(p["input"].get("prompt", "")).startswith(prompt)]
    assert len(mine) == RUNS  # no create ran twice

    for replica in (r for r in replicas if r is not victim):
        for prediction_id in ids[:2]:
            async with httpx2.AsyncClient(headers={"authorization": f"Bearer {BOB}"}) as http:
                async with Client(
                    streamable_http_client(f"http://127.0.0.1:{replica.port}/mcp", http_client=http)
                ) as c:
                    refused = await c.call_tool("get_prediction", {"id": prediction_id})
            assert refused.is_error and "Not found" in text_of(refused)
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {ALICE}"}) as http:
            async with Client(
                streamable_http_client(f"http://127.0.0.1:{replica.port}/mcp", http_client=http)
            ) as c:
                got = await c.call_tool("get_prediction", {"id": owned_by_victim[0]})
        assert got.structured_content["status"] == "succeeded" and got.structured_content["files"]


async def test_a_call_waits_on_one_replica_while_another_follows(team, redis_url):
    box, replicas, balancer, _ = team
    made = await call(
        balancer, BOB, "create_prediction", {"model": VIDEO, "input": {"prompt": "watched from afar"}}
    )
    prediction_id = made.structured_content["id"]
    holder = redis.Redis.from_url(redis_url, decode_responses=True).get(f"rmcp:lease:{prediction_id}")
    other = next(r for r in replicas if f"-{r.process.pid}-" not in holder)
    progress: list[str] = []

    async def on_progress(value, total, message):
        progress.append(message or "")

    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {BOB}"}, timeout=60) as http:
        async with Client(
            streamable_http_client(f"http://127.0.0.1:{other.port}/mcp", http_client=http)
        ) as client:
            done = await client.call_tool(
                "wait_for_prediction",
                {"ids": prediction_id, "wait_seconds": 40},
                progress_callback=on_progress,
            )
    assert done.structured_content["finished"], text_of(done)
    assert done.structured_content["finished"][0]["status"] == "succeeded"
    assert any(m.startswith("running") for m in progress), progress  # the holder's polls reached this replica


async def test_readiness_names_a_shared_store_that_is_down(tmp_path, redis_url, s3_store):
    """/readyz checks Redis and the object store;
    a replica whose Redis is gone says so and is taken out of rotation."""
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    box = start_sandbox(SandboxConfig(time_scale=0.03, seed=10))
    s3_url, s3_env = s3_store
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    try:
        ready = start_replicas(
            1, tmp=tmp_path / "ok", sandbox_url=box.url, redis_url=redis_url, s3_url=s3_url, s3_env=s3_env
        )[0]
        answer = httpx2.get(f"http://127.0.0.1:{ready.port}/readyz")
        assert answer.status_code == 200, answer.text
        ready.process.terminate()
        ready.process.wait(10)

        port = free_port()
        args = [
            sys.executable,
            "-m",
            "replicate_mcp",
            "--transport",
            "http",
            "--port",
            str(port),
            "--base-url",
            box.url,
            "--state",
            dead_redis,
            "--archive-to",
            "s3://no-such-bucket/x",
            "--data-dir",
            str(tmp_path / "down"),
        ]
        process = subprocess.Popen(
            args,
            env={"PATH": "/usr/bin:/bin", **s3_env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            answer = None
            for _ in range(300):  # until it serves, and its state has opened (that needs no Redis)
                try:
                    answer = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                    if "not open yet" not in answer.text:
                        break
                except httpx2.HTTPError:
                    pass
                time.sleep(0.1)
            assert answer is not None, "the server did not start while Redis was away"
            assert answer.status_code == 503
            problems = " ".join(answer.json()["problems"]) if "problems" in answer.json() else answer.text
            assert "the ledger does not answer (ConnectionError): is Redis up at --state?" in problems, (
                problems
            )
        finally:
            process.terminate()
            process.wait(10)
    finally:
        box.stop()


async def test_a_webhook_reaching_any_replica_wakes_a_call_waiting_on_another(tmp_path, redis_url, s3_store):
    """Polls come once a minute: the run's end can only come through the webhook and the event channel."""
    redis.Redis.from_url(redis_url).flushdb()
    box = start_sandbox(SandboxConfig(time_scale=0.03, seed=12, cold_boot=0.5, allow_insecure_webhooks=True))
    team_token = (
        "r8_sandbox_team_token"  # the server's own token: webhooks are signed with its account's secret
    )
    s3_url, s3_env = s3_store
    from tests.conftest import free_port

    balancer_port = free_port()
    replicas = start_replicas(
        3,
        tmp=tmp_path,
        sandbox_url=box.url,
        redis_url=redis_url,
        s3_url=s3_url,
        s3_env={**s3_env, "REPLICATE_API_TOKEN": team_token},
        extra=["--poll-interval", "60", "--public-url", f"http://127.0.0.1:{balancer_port}"],
    )
    balancer = RoundRobin([r.port for r in replicas], port=balancer_port)
    try:
        made = await call(
            balancer, team_token, "create_prediction", {"model": VIDEO, "input": {"prompt": "by webhook"}}
        )
        prediction_id = made.structured_content["id"]
        holder = redis.Redis.from_url(redis_url, decode_responses=True).get(f"rmcp:lease:{prediction_id}")
        other = next(r for r in replicas if f"-{r.process.pid}-" not in holder)
        async with httpx2.AsyncClient(timeout=60) as http:
            async with Client(
                streamable_http_client(f"http://127.0.0.1:{other.port}/mcp", http_client=http)
            ) as c:
                done = await c.call_tool("wait_for_prediction", {"ids": prediction_id, "wait_seconds": 30})
        assert done.structured_content["finished"], text_of(done)
        assert done.structured_content["finished"][0]["status"] == "succeeded"
        assert done.structured_content["finished"][0]["files"]
        polls = box.stats()["requests"].get("GET /v1/predictions/{prediction_id}", 0)
        assert polls <= 2, polls  # the refresh of the waiting call, not a follower's polling
    finally:
        balancer.close()
        for replica in replicas:
            replica.process.terminate()
            replica.process.wait(10)
        box.stop()


async def test_a_create_cut_by_a_replica_dying_is_settled_by_another(tmp_path, redis_url, s3_store):
    """The create reached Replicate, but its replica was killed before the answer: the intent is
    left 'sending'. Another replica takes the intent's lapsed lease, finds the prediction,
    follows it and keeps its file."""
    from replicate_mcp.files.redis_ledger import RedisLedger

    redis.Redis.from_url(redis_url).flushdb()
    box = start_sandbox(SandboxConfig(time_scale=0.03, seed=14, cold_boot=0.5, slow_seconds=3.0))
    s3_url, s3_env = s3_store
    replicas = start_replicas(
        2,
        tmp=tmp_path,
        sandbox_url=box.url,
        redis_url=redis_url,
        s3_url=s3_url,
        s3_env={**s3_env, "REPLICATE_API_TOKEN": "r8_sandbox_team_token"},
        extra=["--poll-interval", "0.05", "--lease-seconds", "1"],
    )
    ledger = RedisLedger.from_url(redis_url)
    try:
        httpx2.post(
            f"{box.url}/_sandbox/faults",
            json={"queue": [{"kind": "slow_after", "method": "POST", "path": "/v1/", "count": 1}]},
        ).raise_for_status()

        async def doomed() -> None:
            try:
                async with httpx2.AsyncClient(timeout=30) as http:
                    url = f"http://127.0.0.1:{replicas[0].port}/mcp"
                    async with Client(streamable_http_client(url, http_client=http)) as c:
                        await c.call_tool(
                            "create_prediction", {"model": VIDEO, "input": {"prompt": "cut short"}}
                        )
            except Exception:  # noqa: BLE001 - its server is killed under it
                pass

        async with anyio.create_task_group() as group:
            group.start_soon(doomed)
            with anyio.fail_after(10):
                while not ledger.unresolved_intents():
                    await anyio.sleep(0.02)
            await anyio.sleep(0.5)  # the sandbox has made the prediction and holds its answer back
            replicas[0].kill()  # the answer will never be read
            group.cancel_scope.cancel()
        [intent] = ledger.unresolved_intents()
        assert intent.state == "sending"
        with anyio.fail_after(30):
            while (settled := ledger.intent(intent.key)).state != "created":
                await anyio.sleep(0.1)
        with anyio.fail_after(30):
            while not ledger.files(settled.prediction_id):
                await anyio.sleep(0.1)
        assert ledger.get(settled.prediction_id).status == "succeeded"
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
                replica.process.wait(10)
        box.stop()
