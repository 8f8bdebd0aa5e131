"""Files through the tools: local inputs, refused paths, uploads,
saved outputs after Replicate removes them, restarts."""

import hashlib
import os
from pathlib import Path

import anyio
import pytest
from mcp import Client

from replicate_mcp.config import load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server
from tests.server.conftest import TOKEN
from tests.server.test_tools import text_of

pytestmark = pytest.mark.anyio


def file_creates(sandbox) -> int:
    return sandbox.stats()["requests"].get("POST /v1/files", 0)


@pytest.fixture
def inputs_dir(tmp_path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "small.wav").write_bytes(b"RIFF" + os.urandom(2_000))
    (folder / "large.wav").write_bytes(b"RIFF" + os.urandom(400_000))
    (folder / ".env").write_text("SECRET=1")
    return folder


async def test_local_inputs_small_inline_large_uploaded_once(make_server, sandbox, inputs_dir):
    async with Client(make_server(allow_dirs=(inputs_dir,))) as client:
        before = file_creates(sandbox)
        small = await client.call_tool(
            "run_model", {"model": "openai/whisper", "input": {"audio": str(inputs_dir / "small.wav")}}
        )
        assert small.structured_content["status"] == "succeeded", text_of(small)
        assert file_creates(sandbox) == before  # sent as a data URI

        for _ in range(2):
            large = await client.call_tool(
                "run_model", {"model": "openai/whisper", "input": {"audio": str(inputs_dir / "large.wav")}}
            )
            assert large.structured_content["status"] == "succeeded", text_of(large)
        assert file_creates(sandbox) == before + 1  # uploaded once, then reused
        assert "transcription" in large.structured_content["output"]

        upload = (
            await client.call_tool("upload_file", {"path": str(inputs_dir / "large.wav")})
        ).structured_content
        assert upload["reused"] is True and upload["size"] == 400_004


async def test_refused_paths_say_how_to_allow_and_send_nothing(make_server, sandbox, inputs_dir, tmp_path):
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"RIFF")
    (inputs_dir / "link.wav").symlink_to(outside)
    creates_before = sandbox.stats()["requests"].get("POST /v1/predictions", 0)
    async with Client(make_server(allow_dirs=(inputs_dir,))) as client:
        for path in (
            outside,
            inputs_dir / ".." / "elsewhere.wav",
            inputs_dir / "link.wav",
            inputs_dir / ".env",
        ):
            result = await client.call_tool(
                "run_model", {"model": "openai/whisper", "input": {"audio": str(path)}}
            )
            assert result.is_error, path
            assert "--allow-dir" in text_of(result) or "hidden" in text_of(result), text_of(result)
    async with Client(make_server()) as client:  # no folder allowed at all
        result = await client.call_tool(
            "run_model", {"model": "openai/whisper", "input": {"audio": str(inputs_dir / "small.wav")}}
        )
        assert result.is_error and "--allow-dir" in text_of(result)
    assert sandbox.stats()["requests"].get("POST /v1/predictions", 0) == creates_before


async def test_outputs_survive_replicate_removing_them(tmp_path):
    short = start_sandbox(SandboxConfig(time_scale=0.01, seed=3, cold_boot=0.2, data_retention=30))
    try:
        settings = load_settings(
            {"data_dir": tmp_path, "output_dir": tmp_path / "out"}, env={"REPLICATE_API_TOKEN": TOKEN}
        )
        async with Client(create_server(settings, base_url=short.base_url)) as client:
            run = await client.call_tool(
                "run_model", {"model": "black-forest-labs/flux-schnell", "input": {"prompt": "a fox"}}
            )
            data = run.structured_content
            saved = Path(data["files"][0]["path"])
            digest = hashlib.sha256(saved.read_bytes()).hexdigest()
            await anyio.sleep(0.6)  # 30 model seconds at 0.01: Replicate's copy is gone
            later = (await client.call_tool("get_prediction", {"id": data["id"]})).structured_content
            assert any("removed" in note for note in later.get("notes", [])), later
            link = next(b for b in run.content if b.type == "resource_link")
            blob = (await client.read_resource(link.uri)).contents[0]
            import base64

            assert hashlib.sha256(base64.b64decode(blob.blob)).hexdigest() == digest
    finally:
        short.stop()


async def test_ledger_survives_restart_and_archives_what_finished_meanwhile(sandbox, make_settings):
    settings = make_settings()
    async with Client(create_server(settings, base_url=sandbox.base_url)) as client:
        created = (
            await client.call_tool(
                "create_prediction", {"model": "black-forest-labs/flux-schnell", "input": {"prompt": "x"}}
            )
        ).structured_content
    await anyio.sleep(0.5)  # it finishes while no server is running
    async with Client(create_server(settings, base_url=sandbox.base_url)) as client:
        page = (await client.call_tool("list_predictions", {})).structured_content["predictions"]
        entry = next(p for p in page if p["id"] == created["id"])
        if not entry.get("files"):  # the start-up catch-up may still be running
            got = (await client.call_tool("get_prediction", {"id": created["id"]})).structured_content
            entry = {"files": [f["path"] for f in got["files"]]}
        assert entry["files"] and all(Path(p).is_file() for p in entry["files"])


async def test_local_path_in_a_json_string_input_is_kept(make_server, inputs_dir):
    async with Client(make_server(allow_dirs=(inputs_dir,))) as client:
        path = str(inputs_dir / "small.wav")
        report = await client.call_tool(
            "validate_input", {"model": "openai/whisper", "input": f'{{"audio": "{path}"}}'}
        )
        assert report.structured_content["normalized_input"]["audio"] == path
