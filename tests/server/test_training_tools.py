"""The training toolset over the MCP wire:
from a folder of photos to running the new version, in both eras."""

import io
import json
import zipfile

import anyio
import httpx2
import pytest
from mcp import Client

from replicate_mcp.files import Ledger
from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

TRAINER = "ostris/flux-dev-lora-trainer"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def photos(folder, count: int = 3):
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"dog-{n}.png").write_bytes(PNG + bytes([n]))
    (folder / ".hidden.png").write_bytes(PNG)
    (folder / "notes.pdf").write_bytes(b"%PDF")
    return folder


def routes(sandbox) -> dict[str, int]:
    return sandbox.stats()["requests"]


async def username(client) -> str:
    return (await client.call_tool("get_account", {})).structured_content["username"]


@pytest.fixture
def faults(sandbox):
    url = f"{sandbox.url}/_sandbox/faults"

    def inject(kind: str, path: str) -> None:
        body = {"queue": [{"kind": kind, "method": "POST", "path": path, "count": 1}]}
        httpx2.post(url, json=body).raise_for_status()

    yield inject
    httpx2.delete(url).raise_for_status()


async def test_fine_tune_from_a_folder_of_photos_to_a_run_of_the_new_version(
    make_server, sandbox, mode, tmp_path
):
    folder = photos(tmp_path / "pictures" / "dog")
    server = make_server(toolsets=("core", "training", "account"), allow_dirs=(tmp_path / "pictures",))
    async with Client(server, mode=mode) as client:
        owner = await username(client)
        destination = f"{owner}/dog-lora-{mode}"
        before = routes(sandbox).get("POST /v1/models", 0)
        started = await client.call_tool(
            "train_model",
            {
                "trainer": TRAINER,
                "destination": destination,
                "input": {"input_images": str(folder), "trigger_word": "DOGGO", "steps": 40},
            },
        )
        assert not started.is_error, text_of(started)
        data = started.structured_content
        assert data["status"] in ("starting", "processing") and data["destination"] == destination
        assert data["trainer"] == TRAINER
        notes = "\n".join(data["notes"])
        assert f"created the private model {destination} (hardware gpu-t4)" in notes
        assert "input_images: zipped 3 files" in notes
        assert "billed per second of gpu-h100 ($0.001525/s" in notes
        assert routes(sandbox)["POST /v1/models"] == before + 1

        model = await client.call_tool("get_model", {"model": destination})
        assert model.is_error  # no version yet: nothing to run

        seen = []

        async def progress(value, total, message):
            seen.append(message)

        done = None
        for _ in range(20):
            done = await client.call_tool(
                "get_training", {"id": data["id"], "wait_seconds": 30}, progress_callback=progress
            )
            if done.structured_content["status"] not in ("starting", "processing"):
                break
        result = done.structured_content
        assert result["status"] == "succeeded", text_of(done)
        version = result["version"]
        assert version.startswith(destination + ":") and len(version.split(":")[1]) == 64
        assert result["next"] == f"run_model with model '{version}'"
        assert len(seen) >= 2 and seen[-1] == "succeeded", seen  # progress while it trained, then the end

        run = await client.call_tool("run_model", {"model": version, "input": {"prompt": "a photo of DOGGO"}})
        assert run.structured_content["status"] == "succeeded", text_of(run)
        assert run.structured_content["files"]

        files = (await client.call_tool("list_files", {})).structured_content["files"]
        zipped = [f for f in files if f["name"] == "input_images.zip"]
        assert zipped and zipped[0]["by_this_server"] is True
        download = httpx2.get(
            f"{sandbox.base_url}/files/{zipped[0]['id']}/download",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        names = sorted(zipfile.ZipFile(io.BytesIO(download.content)).namelist())
        assert names == ["dog-0.png", "dog-1.png", "dog-2.png"]  # no hidden file, no pdf

        listed = (await client.call_tool("list_trainings", {})).structured_content["trainings"]
        assert data["id"] in [t["id"] for t in listed]


async def test_training_input_is_validated_against_the_trainers_schema(make_server, sandbox, mode, tmp_path):
    async with Client(make_server(toolsets=("training", "account")), mode=mode) as client:
        owner = await username(client)
        trainings_before = routes(sandbox).get(
            "POST /v1/models/{owner}/{name}/versions/{version_id}/trainings", 0
        )
        bad = await client.call_tool(
            "train_model",
            {
                "trainer": TRAINER,
                "destination": f"{owner}/never-made",
                "input": {"input_images": "https://example.com/photos.zip", "steps": "many", "lora_rnak": 8},
            },
        )
        assert bad.is_error
        message = text_of(bad)
        assert "Training input for ostris/flux-dev-lora-trainer is invalid; nothing was sent." in message
        assert "steps" in message and "lora_rnak" in message and "lora_rank" in message

        untrainable = await client.call_tool(
            "train_model", {"trainer": "replicate/hello-world", "destination": f"{owner}/x", "input": {}}
        )
        assert untrainable.is_error
        assert "trainer: replicate/hello-world cannot be trained" in text_of(untrainable)

        nowhere = await client.call_tool(
            "train_model",
            {
                "trainer": TRAINER,
                "destination": "not a slug",
                "input": {"input_images": "https://example.com/a.zip"},
            },
        )
        assert nowhere.is_error and "destination: 'not a slug' is not owner/name" in text_of(nowhere)

        too_long = await client.call_tool(
            "train_model",
            {"trainer": TRAINER, "destination": f"{owner}/x", "input": {}, "max_duration": "3d"},
        )
        assert too_long.is_error and "max_duration:" in text_of(too_long)

        unknown = await client.call_tool("get_training", {"id": "zzzzzzzzzzzzzzzzzzzzzzzzzz"})
        assert unknown.is_error and "id: no training zzzzzzzzzzzzzzzzzzzzzzzzzz" in text_of(unknown)
        malformed = await client.call_tool("cancel_training", {"id": "../etc"})
        assert malformed.is_error and "id: '../etc' is not a training id" in text_of(malformed)
    after = routes(sandbox).get("POST /v1/models/{owner}/{name}/versions/{version_id}/trainings", 0)
    assert after == trainings_before
    assert routes(sandbox).get("GET /v1/models/{owner}/{name}", 0) >= 0


async def test_cancel_training(make_server, mode):
    async with Client(make_server(toolsets=("training", "account")), mode=mode) as client:
        owner = await username(client)
        started = (
            await client.call_tool(
                "train_model",
                {
                    "trainer": TRAINER,
                    "destination": f"{owner}/cancel-me-{mode}",
                    "input": {"input_images": "https://example.com/photos.zip", "steps": 5000},
                },
            )
        ).structured_content
        canceled = await client.call_tool("cancel_training", {"id": started["id"]})
        assert canceled.structured_content["status"] == "canceled", text_of(canceled)
        assert "version" not in canceled.structured_content


async def test_read_only_offers_only_reading_training_tools(make_server):
    async with Client(make_server(toolsets=("training",), read_only=True)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"get_training", "list_trainings"}


async def test_a_lost_training_create_is_found_not_started_twice(make_server, sandbox, faults, tmp_path):
    path = "/v1/models/ostris/flux-dev-lora-trainer/versions/"
    async with Client(make_server(toolsets=("training", "account"))) as client:
        owner = await username(client)
        before = routes(sandbox).get("POST /v1/models/{owner}/{name}/versions/{version_id}/trainings", 0)
        faults("drop_after", path)
        started = await client.call_tool(
            "train_model",
            {
                "trainer": TRAINER,
                "destination": f"{owner}/lost-answer",
                "input": {"input_images": "https://example.com/lost.zip", "steps": 30},
            },
        )
        assert not started.is_error, text_of(started)
        data = started.structured_content
        assert any("it was not started twice" in n for n in data["notes"]), data["notes"]
        assert routes(sandbox)["POST /v1/models/{owner}/{name}/versions/{version_id}/trainings"] == before + 1
        listed = (await client.call_tool("list_trainings", {})).structured_content["trainings"]
        assert [t["id"] for t in listed].count(data["id"]) == 1


async def test_a_training_is_followed_again_after_a_restart(make_server, tmp_path):
    data_dir = tmp_path / "data"
    async with Client(make_server(toolsets=("training", "account"))) as client:
        owner = await username(client)
        started = (
            await client.call_tool(
                "train_model",
                {
                    "trainer": TRAINER,
                    "destination": f"{owner}/after-restart",
                    "input": {"input_images": "https://example.com/restart.zip", "steps": 60},
                },
            )
        ).structured_content
    with Ledger(data_dir / "ledger.sqlite3") as ledger:
        entry = ledger.get(started["id"])
        assert entry.kind == "training" and entry.status in ("starting", "processing") and entry.deadline

    async with Client(make_server(toolsets=("training",))):
        with anyio.fail_after(60):
            while True:  # no call asks about it: the restarted server's follower finishes it
                with Ledger(data_dir / "ledger.sqlite3") as ledger:
                    entry = ledger.get(started["id"])
                if entry.status == "succeeded":
                    break
                await anyio.sleep(0.1)
    assert json.loads(json.dumps(entry.output))["version"].startswith(f"{owner}/after-restart:")
    assert TOKEN not in json.dumps(entry.model_dump())
