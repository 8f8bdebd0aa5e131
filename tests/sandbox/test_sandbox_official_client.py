"""The official `replicate` Python client (1.0.x), unchanged, against the sandbox."""

from __future__ import annotations

import io
import json

import pytest
import replicate
from replicate.helpers import FileOutput

from .conftest import TOKEN
from .test_sandbox_webhooks import Receiver


@pytest.fixture
def official(sandbox, monkeypatch) -> replicate.Client:
    # The client reads REPLICATE_API_TOKEN / REPLICATE_BASE_URL when it builds its httpx client (first
    # request), and its base URL is the API ROOT: paths it sends already start with /v1.
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", sandbox.url)
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    return replicate.Client()


def test_run_pinned_community_version(official: replicate.Client) -> None:
    version = official.models.get("replicate/hello-world").latest_version.id
    assert official.run(f"replicate/hello-world:{version}", input={"text": "sandbox"}) == "hello sandbox"


def test_run_official_model_returns_readable_files(official: replicate.Client) -> None:
    output = official.run(
        "black-forest-labs/flux-schnell", input={"prompt": "a lighthouse", "num_outputs": 2}
    )
    assert len(output) == 2 and all(isinstance(item, FileOutput) for item in output)
    data = output[0].read()
    assert data[:4] == b"RIFF" or data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff"


def test_module_level_run_uses_environment(official: replicate.Client, monkeypatch) -> None:
    monkeypatch.setattr(replicate, "default_client", replicate.Client())
    version = official.models.get("replicate/hello-world").latest_version.id
    assert replicate.run(f"replicate/hello-world:{version}", input={"text": "env"}) == "hello env"


def test_stream_language_model(official: replicate.Client) -> None:
    events = list(official.stream("meta/meta-llama-3-8b-instruct", input={"prompt": "a haiku"}))
    text = "".join(e.data for e in events if e.event.value == "output")
    assert text.strip() and events[-1].event.value == "done"


def test_predictions_create_get_cancel_list(official: replicate.Client) -> None:
    slow = official.models.get("sandbox/text-to-video").latest_version.id
    prediction = official.predictions.create(version=slow, input={"prompt": "x"})
    assert official.predictions.get(prediction.id).id == prediction.id
    prediction.cancel()
    prediction.reload()
    assert prediction.status == "canceled"
    page = official.predictions.list()
    assert prediction.id in [p.id for p in page.results]
    version = official.models.get("replicate/hello-world").latest_version.id
    created = official.predictions.create(version=version, input={"text": "a"})
    created.wait()
    assert created.status == "succeeded" and created.output == "hello a"


def test_models_collections_files(official: replicate.Client) -> None:
    model = official.models.get("black-forest-labs/flux-schnell")
    assert model.owner == "black-forest-labs" and model.latest_version is not None
    collections = official.collections.list()
    assert len(collections.results) > 0
    uploaded = official.files.create(io.BytesIO(b"some bytes"), filename="note.txt", metadata={"k": "v"})
    assert uploaded.name == "note.txt" and uploaded.size == 10 and uploaded.metadata == {"k": "v"}
    assert official.files.get(uploaded.id).id == uploaded.id
    assert official.files.delete(uploaded.id) is True


def test_webhook_validation_with_official_helper(make_sandbox, monkeypatch) -> None:
    running = make_sandbox(allow_insecure_webhooks=True)  # the receiver is plain http on loopback
    monkeypatch.setenv("REPLICATE_API_TOKEN", TOKEN)
    monkeypatch.setenv("REPLICATE_BASE_URL", running.url)
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    official = replicate.Client()
    receiver = Receiver()
    try:
        secret = official.webhooks.default.secret()
        version = official.models.get("replicate/hello-world").latest_version.id
        prediction = official.predictions.create(
            version=version, input={"text": "hook"}, webhook=receiver.url, webhook_events_filter=["completed"]
        )
        assert receiver.got_completed.wait(10)
        headers, body = receiver.deliveries[-1]
        assert (
            replicate.webhooks.validate(headers=headers, body=body.decode(), secret=secret, tolerance=300)
            is None
        )
        assert json.loads(body)["id"] == prediction.id
    finally:
        receiver.close()
    wait_terminal_via = official.predictions.get(prediction.id)
    assert wait_terminal_via.status == "succeeded"
