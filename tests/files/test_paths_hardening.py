"""Local inputs are read from one descriptor opened without following links:
hard links, swapped symlinks, FIFOs."""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import pytest

from replicate_mcp.files import FileAccessError, InputFiles, PathPolicy

SECRET = b"outside secret, never to be read"


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    allowed, outside, outputs = tmp_path / "allowed", tmp_path / "outside-place", tmp_path / "outputs"
    for folder in (allowed, outside, outputs):
        folder.mkdir()
    (allowed / "cat.png").write_bytes(b"cat")
    (outside / "secret-name.txt").write_bytes(SECRET)
    return {"allowed": allowed, "outside": outside, "outputs": outputs}


def policy_for(tree: dict[str, Path]) -> PathPolicy:
    return PathPolicy([tree["allowed"]], tree["outputs"])


def refused(policy: PathPolicy, raw: Path) -> str:
    with pytest.raises(FileAccessError) as info:
        policy.open(str(raw)).close()
    return str(info.value)


def test_open_reads_an_allowed_file_and_says_where_it_is(tree):
    with policy_for(tree).open(str(tree["allowed"] / "cat.png")) as local:
        assert (local.path, local.size, local.read()) == ((tree["allowed"] / "cat.png").resolve(), 3, b"cat")


def test_hard_link_to_a_file_outside_is_refused(tree):
    link = tree["allowed"] / "innocent.png"
    os.link(tree["outside"] / "secret-name.txt", link)
    message = refused(policy_for(tree), link)
    assert "2 hard links" in message and "copy the file" in message
    assert "secret-name" not in message and str(tree["outside"]) not in message


@pytest.mark.anyio
async def test_hard_link_is_refused_as_a_model_input(tree):
    os.link(tree["outside"] / "secret-name.txt", tree["allowed"] / "innocent.png")
    files = InputFiles(None, policy_for(tree), cache_db=None)
    with pytest.raises(FileAccessError, match="'image'.*hard links"):
        await files.resolve({"image": str(tree["allowed"] / "innocent.png")}, ["image"])


def test_symlink_refusals_do_not_say_where_the_link_points(tree):
    policy = policy_for(tree)
    (tree["allowed"] / "out.png").symlink_to(tree["outside"] / "secret-name.txt")
    (tree["allowed"] / "gone.png").symlink_to(tree["outside"] / "missing-target.png")
    (tree["allowed"] / ".env").write_text("TOKEN=x")
    (tree["allowed"] / "env.txt").symlink_to(tree["allowed"] / ".env")
    (tree["allowed"] / "docs").symlink_to(tree["outside"], target_is_directory=True)
    for link in ("out.png", "gone.png", "env.txt", "docs/secret-name.txt"):
        message = refused(policy, tree["allowed"] / link)
        assert "not allowed" in message and str(tree["allowed"] / link) in message
        for revealing in (
            "secret-name.txt" if link != "docs/secret-name.txt" else "outside-place",
            "missing-target",
            ".env",
            str(tree["outside"]),
        ):
            assert revealing not in message, (link, message)


def test_fifo_is_refused_without_blocking(tree):
    fifo = tree["allowed"] / "pipe.png"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(policy_for(tree), fifo)


def _swap_until(stop: threading.Event, place: Path, link: Path) -> None:
    """Over and over: `place` (a real file or folder) steps aside, the symlink `link` briefly in its stead."""
    aside = place.with_name(place.name + "-aside")
    while not stop.is_set():
        os.rename(place, aside)
        os.rename(link, place)
        os.rename(place, link)
        os.rename(aside, place)
        time.sleep(0)  # yield, so that reads of the real one succeed too


def _race(tree: dict[str, Path], place: Path, link: Path, raw: Path, rounds: int = 2000) -> list[bytes]:
    """Open `raw` `rounds` times while `link` keeps taking the name of `place`; the contents of each read."""
    stop = threading.Event()
    swapper = threading.Thread(target=_swap_until, args=(stop, place, link), daemon=True)
    swapper.start()
    seen = []
    try:
        policy = policy_for(tree)
        for _ in range(rounds):
            try:
                with policy.open(str(raw)) as local:
                    seen.append(local.read())
            except FileAccessError:
                pass
    finally:
        stop.set()
        swapper.join(5)
    return seen


def test_folder_swapped_for_a_symlink_after_the_check_is_never_followed_out(tree):
    place = tree["allowed"] / "real"
    place.mkdir()
    (place / "secret-name.txt").write_bytes(b"inside")
    link = tree["allowed"] / "link"
    link.symlink_to(tree["outside"], target_is_directory=True)
    seen = _race(tree, place, link, place / "secret-name.txt")
    assert SECRET not in seen and b"inside" in seen


def test_file_swapped_for_a_symlink_after_the_check_is_never_followed(tree):
    place = tree["allowed"] / "photo.png"
    place.write_bytes(b"plain")
    link = tree["allowed"] / "link.png"
    link.symlink_to(tree["outside"] / "secret-name.txt")
    seen = _race(tree, place, link, place)
    assert SECRET not in seen and b"plain" in seen


@pytest.mark.anyio
async def test_small_input_is_sent_from_the_opened_file(tree):
    files = InputFiles(None, policy_for(tree), cache_db=None)
    resolved, notes = await files.resolve({"image": str(tree["allowed"] / "cat.png")}, ["image"])
    assert resolved["image"] == "data:image/png;base64," + base64.b64encode(b"cat").decode()
    assert notes == ["image: cat.png (3 bytes) sent inline as a data: URI"]
