"""Inputs uploaded to and outputs archived from the sandbox, over real loopback HTTP."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest

from replicate_mcp.api import ReplicateClient
from replicate_mcp.files import InputFiles, Ledger, OutputArchive, PathPolicy, make_thumbnail
from replicate_mcp.sandbox import RunningSandbox, SandboxConfig, start_sandbox

pytestmark = pytest.mark.anyio

RETENTION = 200.0  # model seconds: 2 s of wall time at time_scale 0.01


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_sandbox(SandboxConfig(time_scale=0.01, seed=1, data_retention=RETENTION))
    yield running
    running.stop()


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[ReplicateClient]:
    async with ReplicateClient("r8_test", base_url=sandbox.base_url) as api:
        yield api


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=30) as client:
        yield client


def file_posts(sandbox: RunningSandbox) -> int:
    return sandbox.stats()["requests"].get("POST /v1/files", 0)


def delivery_gets(sandbox: RunningSandbox) -> int:
    return sum(n for route, n in sandbox.stats()["requests"].items() if route.startswith("GET /delivery"))


async def finished(client: ReplicateClient, prediction_id: str):
    for _ in range(600):
        prediction = await client.get_prediction(prediction_id)
        if prediction.is_terminal:
            return prediction
        await anyio.sleep(0.05)
    raise AssertionError(f"prediction {prediction_id} never finished")


async def test_small_file_goes_inline_and_large_file_is_uploaded_once(sandbox, client, tmp_path: Path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    small, large = allowed / "small.png", allowed / "large.wav"
    small.write_bytes(os.urandom(10_000))
    large.write_bytes(os.urandom(300 * 1024))
    policy = PathPolicy([allowed], tmp_path / "outputs")
    cache_db = tmp_path / "state.db"
    before = file_posts(sandbox)

    files = InputFiles(client, policy, cache_db=cache_db)
    resolved, notes = await files.resolve(
        {"image": str(small), "audio": str(large), "prompt": "hi"}, ["image", "audio"]
    )
    assert resolved["image"].startswith("data:image/png;base64,")
    assert resolved["audio"].startswith(sandbox.base_url + "/files/")
    assert file_posts(sandbox) == before + 1
    assert any(n.startswith("audio: uploaded large.wav (300.0 KB)") for n in notes)
    file_id = resolved["audio"].rsplit("/", 1)[-1]
    assert await client.download_file(file_id) == large.read_bytes()
    files.close()

    restarted = InputFiles(client, policy, cache_db=cache_db)  # same cache db: remembered across restarts
    again, notes = await restarted.resolve({"audio": str(large)}, ["audio"])
    assert again["audio"] == resolved["audio"] and "reused" in notes[0]
    uploaded = await restarted.upload(str(large))
    assert uploaded.reused and uploaded.url == resolved["audio"] and uploaded.id == file_id
    assert uploaded.sha256 == hashlib.sha256(large.read_bytes()).hexdigest() and uploaded.size == 300 * 1024
    assert file_posts(sandbox) == before + 1

    fresh = await restarted.upload(str(small))  # upload() uploads even small files
    assert not fresh.reused and fresh.url.startswith(sandbox.base_url) and file_posts(sandbox) == before + 2

    await client.delete_file(file_id)
    restarted.forget_upload(file_id)
    replaced = await restarted.upload(str(large))
    assert not replaced.reused and replaced.id != file_id and file_posts(sandbox) == before + 3
    restarted.close()


async def test_flux_outputs_are_archived_and_outlive_data_removal(sandbox, client, http, tmp_path: Path):
    created = await client.create_prediction(
        model="black-forest-labs/flux-schnell", input={"prompt": "a lighthouse", "num_outputs": 2}
    )
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.record(
        created, model="black-forest-labs/flux-schnell", input={"prompt": "a lighthouse", "num_outputs": 2}
    )
    prediction = await finished(client, created.id)
    assert prediction.status == "succeeded" and len(prediction.output) == 2
    ledger.update(prediction)
    assert ledger.unarchived() == [prediction.id]

    originals = [(await http.get(url)).content for url in prediction.output]
    archive = OutputArchive(
        tmp_path / "outputs",
        http_client=http,
        api_host=urlsplit(sandbox.base_url).netloc,
        allow_loopback=True,
    )
    result = await archive.archive(prediction.id, prediction.output)
    assert result.failures == [] and [f.index for f in result] == [0, 1]
    for file, original, url in zip(result, originals, prediction.output, strict=True):
        path = Path(file.path)
        assert path.parent == tmp_path / "outputs" / prediction.id and path.name == url.rsplit("/", 1)[-1]
        assert path.read_bytes() == original and file.sha256 == hashlib.sha256(original).hexdigest()
        assert file.size == len(original) and file.mime_type.startswith("image/") and file.url == url
        thumbnail = make_thumbnail(path)
        assert thumbnail is not None and len(thumbnail[0]) <= 200_000
    ledger.add_files(prediction.id, result)
    assert ledger.unarchived() == []

    gets = delivery_gets(sandbox)
    assert await archive.archive(prediction.id, prediction.output) == result
    assert delivery_gets(sandbox) == gets  # idempotent: nothing downloaded again

    for _ in range(600):  # the sandbox removes the data RETENTION model seconds after completion
        if (await client.get_prediction(prediction.id)).data_removed:
            break
        await anyio.sleep(0.05)
    assert (await http.get(prediction.output[0])).status_code == 404
    for file in result:
        assert hashlib.sha256(Path(file.path).read_bytes()).hexdigest() == file.sha256
    assert await archive.archive(prediction.id, prediction.output) == result  # still served from the archive

    ledger.close()
    with Ledger(tmp_path / "ledger.db") as reopened:
        assert reopened.files(prediction.id) == list(result)
        assert reopened.get(prediction.id).status == "succeeded"


async def test_data_uri_outputs_of_a_waited_prediction(sandbox, client, http, tmp_path: Path):
    prediction = await client.create_prediction(
        model="black-forest-labs/flux-schnell", input={"prompt": "a fox", "output_format": "png"}, wait=30
    )
    assert prediction.status == "succeeded" and prediction.output[0].startswith("data:image/png;base64,")
    archive = OutputArchive(tmp_path / "outputs", http_client=http, api_host="api.replicate.com")
    [file] = await archive.archive(prediction.id, prediction.output)
    assert Path(file.path).name == "output_0.png" and file.mime_type == "image/png"
    assert Path(file.path).stat().st_size == file.size > 0
    assert make_thumbnail(Path(file.path)) is not None


async def test_loopback_outputs_are_refused_unless_allowed(sandbox, client, http, tmp_path: Path):
    created = await client.create_prediction(
        model="black-forest-labs/flux-schnell", input={"prompt": "a boat"}
    )
    prediction = await finished(client, created.id)
    gets = delivery_gets(sandbox)
    archive = OutputArchive(
        tmp_path / "outputs", http_client=http, api_host=urlsplit(sandbox.base_url).netloc
    )
    result = await archive.archive(prediction.id, prediction.output)
    assert result == [] and len(result.failures) == len(prediction.output)
    assert all("http" in f.reason or "loopback" in f.reason for f in result.failures)
    assert delivery_gets(sandbox) == gets
