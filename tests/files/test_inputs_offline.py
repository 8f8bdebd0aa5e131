"""InputFiles for inputs that need no upload: URLs, data: URIs, small local files, refusals."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from replicate_mcp.files import FileAccessError, InputFiles, PathPolicy

pytestmark = pytest.mark.anyio


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    allowed, outputs = tmp_path / "allowed", tmp_path / "outputs"
    allowed.mkdir()
    outputs.mkdir()
    return allowed, outputs


def inputs_for(allowed: list[Path], outputs: Path | None) -> InputFiles:
    return InputFiles(None, PathPolicy(allowed, outputs), cache_db=None)  # no upload happens in these tests


async def test_urls_and_data_uris_pass_through(folders):
    files = inputs_for([folders[0]], folders[1])
    given = {
        "image": "https://example.com/cat.png",
        "mask": "data:image/png;base64,AAAA",
        "images": ["http://example.com/a.png"],
        "prompt": "/etc/passwd",
    }
    resolved, notes = await files.resolve(given, {"image", "mask", "images", "audio"})
    assert resolved == given and notes == []


async def test_small_local_file_goes_inline_as_a_data_uri(folders):
    allowed, outputs = folders
    (allowed / "cat.png").write_bytes(b"\x89PNG tiny")
    (allowed / "blob.xyz123").write_bytes(b"??")
    files = inputs_for([allowed], outputs)
    resolved, notes = await files.resolve(
        {"image": str(allowed / "cat.png"), "extra": [(allowed / "blob.xyz123").as_uri(), 3], "steps": 4},
        ["image", "extra"],
    )
    assert resolved["image"] == "data:image/png;base64," + base64.b64encode(b"\x89PNG tiny").decode()
    assert resolved["extra"] == [
        "data:application/octet-stream;base64," + base64.b64encode(b"??").decode(),
        3,
    ]
    assert resolved["steps"] == 4
    assert notes[0].startswith("image: cat.png (9 bytes)") and notes[1].startswith("extra[0]: blob.xyz123")


async def test_archived_outputs_can_be_fed_back_without_any_allowed_folder(folders):
    allowed, outputs = folders
    (outputs / "p1").mkdir()
    (outputs / "p1" / "out-0.webp").write_bytes(b"RIFF")
    resolved, _ = await inputs_for([], outputs).resolve(
        {"image": str(outputs / "p1" / "out-0.webp")}, ["image"]
    )
    assert resolved["image"].startswith("data:image/webp;base64,")


async def test_refusals_name_the_field_and_how_to_allow(folders, tmp_path):
    allowed, outputs = folders
    (tmp_path / "elsewhere.png").write_bytes(b"x")
    with pytest.raises(FileAccessError) as info:
        await inputs_for([allowed], outputs).resolve({"image": str(tmp_path / "elsewhere.png")}, ["image"])
    assert "'image'" in str(info.value) and "--allow-dir DIR or set REPLICATE_MCP_ALLOW_DIRS" in str(
        info.value
    )
    with pytest.raises(FileAccessError) as info:
        await inputs_for([], None).resolve(
            {"images": ["https://x.org/a.png", str(allowed / "b.png")]}, ["images"]
        )
    assert "'images[1]'" in str(info.value) and "--allow-dir" in str(info.value)


async def test_missing_file_names_the_field_and_path(folders):
    allowed, outputs = folders
    with pytest.raises(FileAccessError) as info:
        await inputs_for([allowed], outputs).resolve({"audio": str(allowed / "talk.mp3")}, ["audio"])
    assert "'audio'" in str(info.value) and "not found" in str(info.value) and "talk.mp3" in str(info.value)


async def test_hidden_files_are_refused_even_when_allowed(folders):
    allowed, outputs = folders
    (allowed / ".env").write_text("TOKEN=x")
    with pytest.raises(FileAccessError, match="hidden"):
        await inputs_for([allowed], outputs).resolve({"document": str(allowed / ".env")}, ["document"])
