"""The /_sandbox control API: request counters and injected faults."""

from __future__ import annotations

import httpx2
import pytest

from .conftest import client_for, hello_version

FLUX = "/v1/models/black-forest-labs/flux-schnell/predictions"


def test_counters_keyed_by_route_template(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        body = client.post(FLUX, json={"input": {"prompt": "x"}}).json()
        client.get(f"/v1/predictions/{body['id']}")
        client.get(f"/v1/predictions/{body['id']}")
        stats = running.stats()
        assert stats["requests"]["POST /v1/models/{owner}/{name}/predictions"] == 1
        assert stats["requests"]["GET /v1/predictions/{id}"] == 2
        assert stats["total"] == 3
        over_http = httpx2.get(f"{running.url}/_sandbox/stats").json()
        assert over_http["requests"]["GET /_sandbox/stats"] == 1
        running.reset_stats()
        assert running.stats() == {"requests": {}, "total": 0}
        httpx2.post(f"{running.url}/_sandbox/stats/reset")
        assert running.stats()["total"] == 0  # the reset request counted, then cleared


def test_queued_faults_fire_once_and_are_counted(make_sandbox) -> None:
    running = make_sandbox()
    faults = f"{running.url}/_sandbox/faults"
    with client_for(running) as client:
        queue = [
            {"kind": "429", "method": "GET", "path": "/v1/account", "count": 1},
            {"kind": "503", "method": "GET", "path": "/v1/hardware", "count": 2},
        ]
        assert httpx2.post(faults, json={"queue": queue}).status_code == 200
        throttled = client.get("/v1/account")
        assert throttled.status_code == 429 and "retry-after" in throttled.headers
        assert client.get("/v1/account").status_code == 200
        assert [client.get("/v1/hardware").status_code for _ in range(3)] == [503, 503, 200]
        assert running.stats()["requests"]["GET /v1/hardware"] == 3


def test_drop_closes_without_answer_and_creates_nothing(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        httpx2.post(
            f"{running.url}/_sandbox/faults",
            json={"queue": [{"kind": "drop", "method": "POST", "path": "/v1/predictions"}]},
        )
        with pytest.raises(httpx2.TransportError):
            client.post("/v1/predictions", json={"version": hello_version(client), "input": {"text": "x"}})
        assert client.get("/v1/predictions").json()["results"] == []


def test_drop_after_creates_then_closes(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        version = hello_version(client)
        httpx2.post(
            f"{running.url}/_sandbox/faults",
            json={"queue": [{"kind": "drop_after", "method": "POST", "path": "/v1/predictions"}]},
        )
        with pytest.raises(httpx2.TransportError):
            client.post("/v1/predictions", json={"version": version, "input": {"text": "x"}})
        assert len(client.get("/v1/predictions").json()["results"]) == 1
        assert running.stats()["requests"]["POST /v1/predictions"] == 1


def test_rates_are_seeded_and_clearable(make_sandbox) -> None:
    def statuses(seed: int) -> list[int]:
        running = make_sandbox(seed=seed, fault_500=0.5)
        with client_for(running) as client:
            return [client.get("/v1/hardware").status_code for _ in range(20)]

    first = statuses(3)
    assert first == statuses(3) and 500 in first and 200 in first
    running = make_sandbox(fault_503=1.0, slow_seconds=0.01)
    with client_for(running) as client:
        assert client.get("/v1/account").status_code == 503
        assert httpx2.get(f"{running.url}/_sandbox/faults").json()["rates"]["503"] == 1.0
        httpx2.delete(f"{running.url}/_sandbox/faults")
        assert client.get("/v1/account").status_code == 200
        httpx2.post(f"{running.url}/_sandbox/faults", json={"rates": {"slow": 1.0}})
        assert client.get("/v1/account").status_code == 200
        assert httpx2.post(f"{running.url}/_sandbox/faults", json={"rates": {"bogus": 1}}).status_code == 400


def test_polling_one_prediction_has_its_own_larger_bucket():
    from replicate_mcp.sandbox import SandboxConfig, start_sandbox

    with start_sandbox(SandboxConfig(time_scale=0.01, other_limit=3)) as small:
        headers = {"Authorization": "Bearer r8_poll_bucket"}
        created = httpx2.post(
            f"{small.base_url}/models/black-forest-labs/flux-schnell/predictions",
            headers=headers,
            json={"input": {"prompt": "x"}},
        )
        assert created.status_code == 201
        polls = [
            httpx2.get(f"{small.base_url}/predictions/{created.json()['id']}", headers=headers)
            for _ in range(6)
        ]
        assert [p.status_code for p in polls] == [200] * 6
        others = [httpx2.get(f"{small.base_url}/models", headers=headers).status_code for _ in range(4)]
        assert others[-1] == 429
