"""Local files through the tools: a hard link out of an allowed folder is refused,
and refusals hide link targets."""

import os
from pathlib import Path

import pytest
from mcp import Client

from tests.server.test_tools import text_of

pytestmark = pytest.mark.anyio


def sent(sandbox) -> tuple[int, int]:
    requests = sandbox.stats()["requests"]
    return requests.get("POST /v1/predictions", 0) + requests.get(
        "POST /v1/models/{owner}/{name}/predictions", 0
    ), requests.get("POST /v1/files", 0)


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    allowed, private = tmp_path / "inputs", tmp_path / "private-keys"
    allowed.mkdir()
    private.mkdir()
    (private / "id-secret-name.wav").write_bytes(b"RIFF" + b"secret" * 100)
    os.link(private / "id-secret-name.wav", allowed / "hard.wav")
    (allowed / "soft.wav").symlink_to(private / "id-secret-name.wav")
    return {"allowed": allowed, "private": private}


async def test_hard_and_soft_links_out_are_refused_and_nothing_is_sent(make_server, sandbox, places, mode):
    before = sent(sandbox)
    async with Client(make_server(allow_dirs=(places["allowed"],)), mode=mode) as client:
        for name in ("hard.wav", "soft.wav"):
            path = str(places["allowed"] / name)
            run = await client.call_tool("run_model", {"model": "openai/whisper", "input": {"audio": path}})
            upload = await client.call_tool("upload_file", {"path": path})
            for result in (run, upload):
                text = text_of(result)
                assert result.is_error and path in text, text
                assert "id-secret-name" not in text and "private-keys" not in text, text
            expected = "hard links" if name == "hard.wav" else "outside the allowed folders"
            assert expected in text_of(run) and expected in text_of(upload)
    assert sent(sandbox) == before
