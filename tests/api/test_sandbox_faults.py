"""Retries against the sandbox's fault injection: idempotent requests recover; creates never run twice."""

import logging
from datetime import UTC, datetime

import pytest

from replicate_mcp.api import (
    APIConnectionError,
    RateLimitError,
    ReplicateClient,
    ServerError,
)

from .conftest import TOKEN

pytestmark = pytest.mark.anyio

MODEL_ROUTE = "GET /v1/models/{owner}/{name}"
CREATE_ROUTE = "POST /v1/predictions"


def fault(kind, method, path, count=1):
    return {"kind": kind, "method": method, "path": path, "count": count}


async def hello_version(client) -> str:
    return (await client.get_model("replicate", "hello-world")).latest_version.id


async def created_since(client, since: datetime) -> list[str]:
    page = await client.list_predictions(created_after=since)
    return [p.id async for p in client.iterate(page)]


@pytest.mark.parametrize("kind", ["503", "500", "429", "drop"])
async def test_get_is_retried_after_a_transient_failure(client, sandbox, kind):
    sandbox.inject(fault(kind, "GET", "/v1/models/replicate/hello-world"))
    model = await client.get_model("replicate", "hello-world")
    assert model.full_name == "replicate/hello-world"
    assert sandbox.count(MODEL_ROUTE) == 2


async def test_several_failures_in_a_row_are_ridden_out(client, sandbox, caplog):
    sandbox.inject(
        fault("503", "GET", "/v1/models/replicate/hello-world"),
        fault("drop", "GET", "/v1/models/replicate/hello-world"),
        fault("500", "GET", "/v1/models/replicate/hello-world"),
    )
    with caplog.at_level(logging.DEBUG, logger="replicate_mcp"):
        await client.get_model("replicate", "hello-world")
    assert sandbox.count(MODEL_ROUTE) == 4
    assert caplog.text.count("retry") == 3
    assert TOKEN not in caplog.text


async def test_retries_are_bounded(sandbox):
    sandbox.inject(fault("503", "GET", "/v1/account", count=10))
    async with ReplicateClient(TOKEN, base_url=sandbox.base_url, max_retries=2, backoff_base=0.01) as client:
        with pytest.raises(ServerError) as info:
            await client.get_account()
    assert info.value.status == 503
    assert info.value.title == "Service Unavailable"
    assert sandbox.count("GET /v1/account") == 3


@pytest.mark.parametrize("kind", ["503", "drop"])
async def test_cancel_is_idempotent_and_retried(client, sandbox, kind):
    prediction = await client.create_prediction(version=await hello_version(client), input={"text": "c"})
    sandbox.inject(fault(kind, "POST", f"/v1/predictions/{prediction.id}/cancel"))
    await client.cancel_prediction(prediction.id)
    assert sandbox.count("POST /v1/predictions/{id}/cancel") == 2


async def test_search_and_query_models_are_retried(client, sandbox):
    sandbox.inject(fault("500", "GET", "/v1/search"), fault("drop", "QUERY", "/v1/models"))
    assert (await client.search("flux")).models
    assert (await client.search_models("flux")).results
    assert sandbox.count("GET /v1/search") == 2
    assert sandbox.count("QUERY /v1/models") == 2


async def test_stream_connection_is_retried(client, sandbox):
    prediction = await client.create_prediction(model="meta/meta-llama-3-8b-instruct", input={"prompt": "hi"})
    sandbox.inject(fault("drop", "GET", f"/v1/predictions/{prediction.id}/stream"))
    events = [e async for e in client.stream_events(prediction.urls["stream"])]
    assert events[-1].event == "done"
    assert sandbox.count("GET /v1/predictions/{id}/stream") == 2


async def test_read_timeout_on_get_is_retried(sandbox):
    sandbox.inject(fault("slow", "GET", "/v1/hardware"))
    async with ReplicateClient(TOKEN, base_url=sandbox.base_url, timeout=0.3, backoff_base=0.01) as client:
        assert await client.list_hardware()
    assert sandbox.count("GET /v1/hardware") == 2


# --- creates ---------------------------------------------------------------------------------------------


async def test_create_dropped_after_processing_is_not_retried(client, sandbox):
    version = await hello_version(client)
    since = datetime.now(UTC)
    sandbox.inject(fault("drop_after", "POST", "/v1/predictions"))
    with pytest.raises(APIConnectionError) as info:
        await client.create_prediction(version=version, input={"text": "once"})
    message = str(info.value)
    assert "may or may not have been created" in message and "list_predictions" in message
    assert info.value.status is None
    assert sandbox.count(CREATE_ROUTE) == 1
    assert len(await created_since(client, since)) == 1  # it was created, exactly once


async def test_create_dropped_before_processing_is_not_retried_either(client, sandbox):
    # The client cannot tell a drop before processing from one after it: both may have created something.
    version = await hello_version(client)
    since = datetime.now(UTC)
    sandbox.inject(fault("drop", "POST", "/v1/predictions"))
    with pytest.raises(APIConnectionError, match="may or may not"):
        await client.create_prediction(version=version, input={"text": "once"})
    assert sandbox.count(CREATE_ROUTE) == 1
    assert await created_since(client, since) == []


@pytest.mark.parametrize("kind", ["500", "503"])
async def test_create_answered_with_5xx_is_not_retried(client, sandbox, kind):
    sandbox.inject(fault(kind, "POST", "/v1/models/black-forest-labs/flux-schnell/predictions"))
    with pytest.raises(ServerError) as info:
        await client.create_prediction(model="black-forest-labs/flux-schnell", input={"prompt": "x"})
    assert info.value.status == int(kind)
    assert "may or may not have been created" in str(info.value)
    assert sandbox.count("POST /v1/models/{owner}/{name}/predictions") == 1


async def test_create_refused_with_429_is_retried_after_retry_after(client, sandbox):
    version = await hello_version(client)
    since = datetime.now(UTC)
    sandbox.inject(fault("429", "POST", "/v1/predictions"))
    prediction = await client.create_prediction(version=version, input={"text": "twice?"})
    assert sandbox.count(CREATE_ROUTE) == 2
    assert await created_since(client, since) == [prediction.id]


async def test_upload_refused_with_429_is_sent_again_whole(client, sandbox):
    sandbox.inject(fault("429", "POST", "/v1/files"))
    uploaded = await client.create_file(b"multipart body, twice", filename="twice.txt", metadata={"n": 2})
    assert sandbox.count("POST /v1/files") == 2
    assert await client.download_file(uploaded.id) == b"multipart body, twice"
    assert uploaded.metadata == {"n": 2}


async def test_retry_after_beyond_the_cap_raises_rate_limit_at_once(sandbox):
    sandbox.inject(fault("429", "POST", "/v1/predictions"))
    async with ReplicateClient(TOKEN, base_url=sandbox.base_url, retry_max_wait=0.5) as client:
        with pytest.raises(RateLimitError) as info:
            await client.create_prediction(version="0" * 64, input={})
    assert info.value.status == 429
    assert info.value.retry_after == 1.0
    assert "throttled" in str(info.value)
    assert sandbox.count(CREATE_ROUTE) == 1


async def test_other_creates_are_never_retried_after_sending(client, sandbox):
    trainer = await client.get_model("ostris", "flux-dev-lora-trainer")
    sandbox.inject(
        fault("drop_after", "POST", "/v1/files"),
        fault("500", "POST", "/v1/models/ostris/flux-dev-lora-trainer/versions"),
        fault("drop_after", "POST", "/v1/deployments"),
    )
    with pytest.raises(APIConnectionError, match="may or may not have been uploaded"):
        await client.create_file(b"data", filename="d.bin")
    with pytest.raises(ServerError, match="may or may not have been created.*list_trainings"):
        await client.create_training(
            "ostris",
            "flux-dev-lora-trainer",
            trainer.latest_version.id,
            destination="sandbox/upscaler",
            input={"input_images": "https://example.com/x.zip"},
        )
    with pytest.raises(APIConnectionError, match="list_deployments"):
        await client.create_deployment(
            name="dropped-dep",
            model="replicate/hello-world",
            version=await hello_version(client),
            hardware="cpu",
            min_instances=0,
            max_instances=1,
        )
    assert sandbox.count("POST /v1/files") == 1
    assert sandbox.count("POST /v1/models/{owner}/{name}/versions/{version_id}/trainings") == 1
    assert sandbox.count("POST /v1/deployments") == 1


async def test_create_timing_out_after_sending_is_not_retried(sandbox):
    sandbox.inject(fault("slow", "POST", "/v1/models/black-forest-labs/flux-schnell/predictions"))
    async with ReplicateClient(TOKEN, base_url=sandbox.base_url, timeout=0.3, backoff_base=0.01) as client:
        with pytest.raises(APIConnectionError, match="timed out.*may or may not"):
            await client.create_prediction(model="black-forest-labs/flux-schnell", input={"prompt": "x"})
    assert sandbox.count("POST /v1/models/{owner}/{name}/predictions") == 1


async def test_rate_limited_account_gets_rate_limit_error_without_sleeping_a_minute():
    from replicate_mcp.sandbox import SandboxConfig, start_sandbox

    with start_sandbox(SandboxConfig(time_scale=0.01, seed=2, create_limit=2)) as limited:
        async with ReplicateClient(TOKEN, base_url=limited.base_url, backoff_base=0.01) as client:
            version = (await client.get_model("replicate", "hello-world")).latest_version.id
            for _ in range(2):
                await client.create_prediction(version=version, input={"text": "x"})
            with pytest.raises(RateLimitError) as info:
                await client.create_prediction(version=version, input={"text": "x"})
        assert info.value.retry_after > 30
        assert limited.stats()["requests"][CREATE_ROUTE] == 3
