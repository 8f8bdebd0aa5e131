"""/_sandbox/predictions/{id}/events: when each log line and output chunk was published
(what benchmarks time against)."""

from __future__ import annotations

from .conftest import client_for, wait_terminal

FLUX = "/v1/models/black-forest-labs/flux-schnell/predictions"
LLAMA = "/v1/models/meta/meta-llama-3-8b-instruct/predictions"


def _events(running, prediction_id: str) -> dict:
    with client_for(running) as client:
        return client.get(f"/_sandbox/predictions/{prediction_id}/events").json()


def test_log_lines_carry_the_time_they_were_appended(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        made = client.post(FLUX, json={"input": {"prompt": "a harbour"}}).json()
        final = wait_terminal(client, made["urls"]["get"])
    record = _events(running, made["id"])
    events = record["events"]
    logs = [e for e in events if e["event"] == "logs"]
    assert "".join(e["data"] + "\n" for e in logs) == final["logs"]
    assert [e["event"] for e in events][-1] == "done"
    times = [e["at"] for e in events]
    assert times == sorted(times)
    assert record["started_at"] <= times[0] and times[-1] <= record["completed_at"] + 0.001


def test_streamed_chunks_are_timed_too(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        made = client.post(LLAMA, json={"input": {"prompt": "hi", "max_tokens": 8}}).json()
        final = wait_terminal(client, made["urls"]["get"])
    chunks = [e["data"] for e in _events(running, made["id"])["events"] if e["event"] == "output"]
    assert chunks == final["output"]


def test_an_unknown_prediction_is_a_404(make_sandbox) -> None:
    running = make_sandbox()
    with client_for(running) as client:
        response = client.get("/_sandbox/predictions/nosuchprediction000000000a/events")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such prediction in this sandbox"}
