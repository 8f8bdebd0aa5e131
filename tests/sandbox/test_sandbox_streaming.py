"""Server-sent events at urls.stream."""

from __future__ import annotations

import json

import httpx2

from .conftest import client_for, wait_terminal

LLAMA = "/v1/models/meta/meta-llama-3-8b-instruct/predictions"


def parse_sse(text: str) -> tuple[list[str], list[dict]]:
    comments, events = [], []
    for block in text.split("\n\n"):
        if not block:
            continue
        event: dict = {"data": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                comments.append(line)
            else:
                field, _, value = line.partition(": ")
                if field == "data":
                    event["data"].append(value)
                else:
                    event[field] = value
        if "event" in event:
            event["data"] = "\n".join(event["data"])
            events.append(event)
    return comments, events


def read_stream(url: str, **headers: str) -> tuple[httpx2.Response, str]:
    with httpx2.stream(
        "GET", url, headers={"Accept": "text/event-stream", **headers}, timeout=30
    ) as response:
        return response, response.read().decode()


def test_live_stream_matches_final_output(api: httpx2.Client) -> None:
    body = api.post(LLAMA, json={"input": {"prompt": "hello"}}).json()
    response, text = read_stream(body["urls"]["stream"])
    assert response.headers["content-type"].startswith("text/event-stream")
    comments, events = parse_sse(text)
    assert text.startswith(": hi\n\n") and comments[0] == ": hi"
    assert all(e.get("id") for e in events)
    assert {e["event"] for e in events} <= {"output", "logs", "done"}
    assert events[-1] == {"event": "done", "id": events[-1]["id"], "data": "{}"}
    final = wait_terminal(api, body["urls"]["get"])
    assert "".join(e["data"] for e in events if e["event"] == "output") == "".join(final["output"])


def test_stream_after_finish_replays_everything(api: httpx2.Client) -> None:
    body = api.post(LLAMA, json={"input": {"prompt": "hello"}}).json()
    final = wait_terminal(api, body["urls"]["get"])
    _, text = read_stream(body["urls"]["stream"])
    _, events = parse_sse(text)
    assert "".join(e["data"] for e in events if e["event"] == "output") == "".join(final["output"])
    last_id = events[3]["id"]
    _, resumed = read_stream(body["urls"]["stream"], **{"Last-Event-ID": last_id})
    assert parse_sse(resumed)[1] == events[4:]


def test_canceled_stream_ends_with_reason(make_sandbox) -> None:
    with client_for(make_sandbox(cold_boot=1000)) as client:
        body = client.post(LLAMA, json={"input": {"prompt": "hello"}}).json()
        client.post(body["urls"]["cancel"])
        _, text = read_stream(body["urls"]["stream"])
    done = parse_sse(text)[1][-1]
    assert done["event"] == "done" and json.loads(done["data"]) == {"reason": "canceled"}


def test_non_streaming_model_has_no_stream_url(api: httpx2.Client) -> None:
    body = api.post(
        "/v1/models/black-forest-labs/flux-schnell/predictions", json={"input": {"prompt": "x"}}
    ).json()
    assert "stream" not in body["urls"]
