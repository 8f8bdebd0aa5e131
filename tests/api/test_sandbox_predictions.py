"""Predictions, streams, files, trainings and deployments against the sandbox."""

from datetime import UTC, datetime

import anyio
import pytest

from replicate_mcp.api import InputValidationError, NotFoundError, Page, Prediction, ReplicateError

pytestmark = pytest.mark.anyio

HELLO = "replicate/hello-world"


async def hello_version(client) -> str:
    return (await client.get_model("replicate", "hello-world")).latest_version.id


async def video_version(client) -> str:
    """A community model that runs for minutes (seconds at time_scale 0.01)."""
    return "sandbox/text-to-video:" + (await client.get_model("sandbox", "text-to-video")).latest_version.id


async def settle(client, prediction: Prediction, *, every: float = 0.02, limit: float = 20) -> Prediction:
    with anyio.fail_after(limit):
        while not prediction.is_terminal:
            await anyio.sleep(every)
            prediction = await client.get_prediction(prediction.id)
    return prediction


async def test_official_model_with_wait_finishes_in_one_call(client, sandbox):
    prediction = await client.create_prediction(
        model="black-forest-labs/flux-schnell", input={"prompt": "a lighthouse", "num_outputs": 2}, wait=60
    )
    assert prediction.status == "succeeded"
    assert prediction.version == "hidden"
    assert len(prediction.output) == 2
    assert prediction.urls["get"].startswith(sandbox.base_url)
    assert sandbox.count("POST /v1/models/{owner}/{name}/predictions") == 1


async def test_version_forms_all_go_to_predictions_endpoint(client, sandbox):
    version = await hello_version(client)
    for kwargs in ({"version": f"{HELLO}:{version}"}, {"version": version}, {"model": f"{HELLO}:{version}"}):
        prediction = await client.create_prediction(input={"text": "ada"}, wait=30, **kwargs)
        assert prediction.status == "succeeded"
        assert prediction.output == "hello ada"
        assert prediction.version == version
    assert sandbox.count("POST /v1/predictions") == 3


async def test_create_without_wait_then_poll(client):
    prediction = await client.create_prediction(version=await hello_version(client), input={"text": "bob"})
    assert prediction.status in ("starting", "processing", "succeeded")
    done = await settle(client, prediction)
    assert done.status == "succeeded"
    assert done.output == "hello bob"
    assert done.metrics["predict_time"] >= 0
    assert done.completed_at


async def test_deployment_prediction(client, sandbox):
    page = await client.list_deployments()
    deployment = page.results[0]
    same = await client.get_deployment(deployment.owner, deployment.name)
    assert same.current_release.model == deployment.current_release.model
    prediction = await client.create_prediction(
        deployment=f"{deployment.owner}/{deployment.name}", input={"text": "dep"}, wait=30
    )
    assert prediction.status == "succeeded"
    assert sandbox.count("POST /v1/deployments/{owner}/{name}/predictions") == 1


async def test_create_deployment(client, sandbox):
    version = await hello_version(client)
    created = await client.create_deployment(
        name="api-test-dep", model=HELLO, version=version, hardware="cpu", min_instances=0, max_instances=1
    )
    assert created.name == "api-test-dep"
    assert created.current_release.version == version
    assert sandbox.count("POST /v1/deployments") == 1


async def test_invalid_input_lists_invalid_fields(client):
    with pytest.raises(InputValidationError) as info:
        await client.create_prediction(
            model="black-forest-labs/flux-schnell", input={"num_inference_steps": 10}, wait=5
        )
    err = info.value
    assert err.status == 422
    assert err.title == "Input validation failed"
    kinds = {f["type"] for f in err.invalid_fields}
    assert {"required", "number_lte"} <= kinds
    assert "\n" not in str(err) and "prompt" in str(err)


async def test_invalid_version(client, sandbox):
    with pytest.raises(InputValidationError, match="Invalid version") as info:
        await client.create_prediction(version="0" * 64, input={})
    assert info.value.invalid_fields == []
    assert sandbox.count("POST /v1/predictions") == 1


async def test_cancel_is_terminal(client):
    prediction = await client.create_prediction(
        version=await video_version(client), input={"prompt": "waves"}
    )
    canceled = await client.cancel_prediction(prediction.id)
    canceled = await settle(client, canceled)
    assert canceled.status == "canceled"
    assert canceled.is_terminal


async def test_cancel_after_sets_a_deadline_and_stops_the_run(client):
    prediction = await client.create_prediction(
        version=await video_version(client), input={"prompt": "waves"}, cancel_after="5s"
    )
    assert prediction.deadline
    assert (await settle(client, prediction)).status in ("canceled", "aborted")
    numeric = await client.create_prediction(
        version=await video_version(client), input={"prompt": "x"}, cancel_after=6
    )
    assert numeric.deadline
    await client.cancel_prediction(numeric.id)


async def test_cancel_after_below_minimum_is_rejected(client):
    with pytest.raises(ReplicateError, match="at least 5 seconds"):
        await client.create_prediction(
            version=await video_version(client), input={"prompt": "x"}, cancel_after="1s"
        )


async def test_short_wait_returns_an_unfinished_prediction(client):
    prediction = await client.create_prediction(
        version=await video_version(client), input={"prompt": "slow"}, wait=1
    )
    assert prediction.status in ("starting", "processing")
    await client.cancel_prediction(prediction.id)


async def test_get_unknown_prediction(client):
    with pytest.raises(NotFoundError):
        await client.get_prediction("doesnotexist0000000000000")


async def test_list_predictions_pages_and_filters(client, sandbox):
    version = await hello_version(client)
    before = datetime.now(UTC)
    created: list[str] = []

    async def create(i):
        created.append((await client.create_prediction(version=version, input={"text": str(i)})).id)

    async with anyio.create_task_group() as tg:
        for i in range(105):
            tg.start_soon(create, i)

    first = await client.list_predictions(created_after=before)
    assert isinstance(first, Page)
    assert len(first.results) == 100
    assert first.next and first.next.startswith(sandbox.base_url)
    second = await client.list_predictions(cursor=first.next)
    assert len(second.results) == 5
    ids = [p.id async for p in client.iterate(first)]
    assert len(ids) == len(set(ids))
    assert set(created) <= set(ids)
    newest_first = [p.created_at for p in first.results]
    assert newest_first == sorted(newest_first, reverse=True)
    earlier = await client.list_predictions(created_before=before.isoformat())
    assert not set(created) & {p.id for p in earlier.results}


async def test_stream_llm_tokens(client):
    prediction = await client.create_prediction(
        model="meta/meta-llama-3-8b-instruct", input={"prompt": "Say hi", "max_tokens": 20}
    )
    assert "stream" in prediction.urls
    events = [event async for event in client.stream_events(prediction.urls["stream"])]
    assert events[-1].event == "done"
    assert events[-1].json() == {}
    assert {e.event for e in events} <= {"output", "logs", "done"}
    text = "".join(e.data for e in events if e.event == "output")
    final = await settle(client, await client.get_prediction(prediction.id))
    assert text == "".join(final.output)
    assert all(e.id for e in events)


async def test_stream_of_canceled_prediction_ends_with_reason(client):
    prediction = await client.create_prediction(
        model="meta/meta-llama-3-8b-instruct", input={"prompt": "Tell a long story", "max_tokens": 500}
    )
    await client.cancel_prediction(prediction.id)
    events = [event async for event in client.stream_events(prediction.urls["stream"])]
    assert events[-1].event == "done"
    assert events[-1].json().get("reason") == "canceled"


async def test_files_round_trip(client, sandbox):
    uploaded = await client.create_file(b"hello file", filename="note.txt", metadata={"purpose": "test"})
    assert uploaded.name == "note.txt"
    assert uploaded.content_type == "text/plain"
    assert uploaded.size == 10
    assert uploaded.metadata == {"purpose": "test"}
    assert uploaded.checksums["sha256"]
    assert uploaded.urls["get"].startswith(sandbox.base_url)
    assert (await client.get_file(uploaded.id)).id == uploaded.id
    listed = [f.id async for f in client.iterate(await client.list_files())]
    assert uploaded.id in listed
    assert await client.download_file(uploaded.id) == b"hello file"
    await client.delete_file(uploaded.id)
    with pytest.raises(NotFoundError):
        await client.get_file(uploaded.id)
    assert sandbox.count("POST /v1/files") == 1


async def test_file_content_type_guess_and_override(client):
    png = await client.create_file(b"\x89PNG\r\n\x1a\n", filename="pic.png")
    assert png.content_type == "image/png"
    raw = await client.create_file(b"\x00\x01", filename="blob", content_type="application/x-custom")
    assert raw.content_type == "application/x-custom"


async def test_training_lifecycle(client, sandbox):
    trainer = await client.get_model("ostris", "flux-dev-lora-trainer")
    training = await client.create_training(
        "ostris",
        "flux-dev-lora-trainer",
        trainer.latest_version.id,
        destination="sandbox/upscaler",
        input={"input_images": "https://example.com/images.zip", "steps": 100},
    )
    assert training.id and training.status in ("starting", "processing", "succeeded")
    assert (await client.get_training(training.id)).id == training.id
    assert training.id in [t.id for t in (await client.list_trainings()).results]
    canceled = await client.cancel_training(training.id)
    assert canceled.status in ("canceled", "succeeded", "processing", "starting")
    assert sandbox.count("POST /v1/models/{owner}/{name}/versions/{version_id}/trainings") == 1
