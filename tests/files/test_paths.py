from __future__ import annotations

import os
from pathlib import Path

import pytest

from replicate_mcp.files import FileAccessError, PathPolicy


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    allowed = tmp_path / "allowed"
    outside = tmp_path / "outside"
    outputs = tmp_path / "outputs"
    for folder in (allowed, outside, outputs):
        folder.mkdir()
    (allowed / "cat.png").write_bytes(b"png")
    (outside / "secret.txt").write_text("secret")
    (outputs / "out-0.webp").write_bytes(b"webp")
    return {"allowed": allowed, "outside": outside, "outputs": outputs}


def refused(policy: PathPolicy, raw: str | Path) -> str:
    with pytest.raises(FileAccessError) as info:
        policy.check(str(raw))
    return str(info.value)


def test_file_inside_an_allowed_folder_is_accepted(tree):
    policy = PathPolicy([tree["allowed"]], tree["outputs"])
    assert policy.check(str(tree["allowed"] / "cat.png")) == (tree["allowed"] / "cat.png").resolve()


def test_output_folder_is_always_allowed(tree):
    policy = PathPolicy([], tree["outputs"])
    assert policy.check(str(tree["outputs"] / "out-0.webp")).name == "out-0.webp"


def test_file_outside_the_allowed_folders_is_refused_with_how_to_allow(tree):
    target = tree["outside"] / "secret.txt"
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), target)
    assert str(target) in message
    assert "--allow-dir DIR" in message and "REPLICATE_MCP_ALLOW_DIRS" in message


def test_dot_dot_traversal_is_resolved_before_the_check(tree):
    sneaky = f"{tree['allowed']}/../outside/secret.txt"
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), sneaky)
    assert "outside the allowed folders" in message


def test_symlink_pointing_out_is_refused(tree):
    link = tree["allowed"] / "innocent.png"
    link.symlink_to(tree["outside"] / "secret.txt")
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), link)
    assert "outside the allowed folders" in message


def test_symlinked_folder_pointing_out_is_refused(tree):
    (tree["allowed"] / "docs").symlink_to(tree["outside"], target_is_directory=True)
    refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / "docs" / "secret.txt")


def test_symlink_between_allowed_places_is_fine(tree):
    link = tree["allowed"] / "latest.webp"
    link.symlink_to(tree["outputs"] / "out-0.webp")
    assert PathPolicy([tree["allowed"]], tree["outputs"]).check(str(link)) == (tree["outputs"] / "out-0.webp")


def test_dotfile_inside_an_allowed_folder_is_refused(tree):
    (tree["allowed"] / ".env").write_text("REPLICATE_API_TOKEN=r8_x")
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / ".env")
    assert "hidden" in message and ".env" in message


def test_file_in_a_dot_folder_inside_an_allowed_folder_is_refused(tree):
    (tree["allowed"] / ".ssh").mkdir()
    (tree["allowed"] / ".ssh" / "id_ed25519").write_text("key")
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / ".ssh" / "id_ed25519")
    assert ".ssh" in message


def test_visible_symlink_to_a_hidden_file_is_refused(tree):
    (tree["allowed"] / ".env").write_text("x")
    (tree["allowed"] / "env.txt").symlink_to(tree["allowed"] / ".env")
    refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / "env.txt")


def test_hidden_symlink_to_a_visible_file_is_refused(tree):
    (tree["allowed"] / ".cat").symlink_to(tree["allowed"] / "cat.png")
    refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / ".cat")


def test_allowed_folder_may_itself_sit_under_a_hidden_folder(tmp_path):
    root = tmp_path / ".local" / "share" / "outputs"
    root.mkdir(parents=True)
    (root / "a.png").write_bytes(b"x")
    assert PathPolicy([tmp_path], root).check(str(root / "a.png")).name == "a.png"


def test_no_folder_configured_refuses_with_how_to_allow(tree):
    message = refused(PathPolicy([], None), tree["allowed"] / "cat.png")
    assert "--allow-dir DIR" in message and "REPLICATE_MCP_ALLOW_DIRS" in message
    assert str(tree["allowed"] / "cat.png") in message


def test_missing_file_is_named(tree):
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / "nope.png")
    assert "not found" in message and "nope.png" in message


def test_missing_file_outside_is_refused_not_reported_missing(tree):
    message = refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["outside"] / "nope.png")
    assert "not found" not in message and "--allow-dir" in message


def test_symlink_loop_is_refused(tree):
    (tree["allowed"] / "a").symlink_to(tree["allowed"] / "b")
    (tree["allowed"] / "b").symlink_to(tree["allowed"] / "a")
    assert "cannot read" in refused(PathPolicy([tree["allowed"]], tree["outputs"]), tree["allowed"] / "a")


def test_folders_and_relative_paths_are_refused(tree):
    policy = PathPolicy([tree["allowed"]], tree["outputs"])
    assert "not a regular file" in refused(policy, tree["allowed"])
    assert "absolute path" in refused(policy, "cat.png")
    assert "only http(s) URLs" in refused(policy, "s3://bucket/cat.png")


def test_file_urls_and_home_paths(tree, monkeypatch):
    policy = PathPolicy([tree["allowed"]], tree["outputs"])
    assert policy.check((tree["allowed"] / "cat.png").as_uri()).name == "cat.png"
    monkeypatch.setenv("HOME", str(tree["allowed"]))
    assert policy.check("~/cat.png").name == "cat.png"
    assert "this machine" in refused(policy, "file://otherhost/etc/passwd")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_is_refused(tree):
    target = tree["allowed"] / "locked.png"
    target.write_bytes(b"x")
    target.chmod(0)
    assert "not readable" in refused(PathPolicy([tree["allowed"]], tree["outputs"]), target)
