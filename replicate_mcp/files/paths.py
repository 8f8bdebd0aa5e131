"""Which local files the server may read:
allowed folders, no hidden files, opened once without following links."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import platformdirs

HOW_TO_ALLOW = "start the server with --allow-dir DIR or set REPLICATE_MCP_ALLOW_DIRS"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FileAccessError(Exception):
    """A local file may not (or cannot) be read. The message is written for the agent: it names the path."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("replicate-mcp"))


def default_output_dir() -> Path:
    return default_data_dir() / "outputs"


def local_path_from(raw: str) -> Path:
    """Turn a path, `~/...` or `file://` URL into an absolute (not yet resolved) path."""
    text = raw.strip()
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise FileAccessError(f"{raw!r}: file:// URLs must point to this machine (file:///path)")
        text = url2pathname(unquote(parts.path))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        raise FileAccessError(f"{raw[:200]!r}: only http(s) URLs, data: URIs and local paths are accepted")
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        raise FileAccessError(
            f"{raw!r} is a relative path: give an absolute path (or a ~/ path, or an http(s) URL)"
        )
    return path


class LocalFile:
    """An allowed regular file opened once, without following links; read it here, never again by its path."""

    def __init__(self, path: Path, handle: BinaryIO, size: int) -> None:
        self.path = path  # where it is, for names and notes
        self.size = size
        self._handle = handle

    def read(self, limit: int = -1) -> bytes:
        return self._handle.read(limit)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> LocalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PathPolicy:
    """Local paths are readable only inside `allow_dirs` and `output_dir`, and never hidden
    (".name") below them."""

    def __init__(self, allow_dirs: Sequence[Path], output_dir: Path | None) -> None:
        self.allow_dirs = [Path(d).expanduser() for d in allow_dirs]
        self.output_dir = Path(output_dir).expanduser() if output_dir is not None else None

    def roots(self) -> list[Path]:
        dirs = [*self.allow_dirs, *([self.output_dir] if self.output_dir is not None else [])]
        return [d.resolve() for d in dirs]

    def open(self, raw: str) -> LocalFile:
        """Open the allowed file `raw` names, or raise FileAccessError saying why not.

        The path is checked (`check`), then opened again from its allowed folder one name at a time with
        O_NOFOLLOW, so that a link swapped in after the check is refused rather than followed; the opened file
        must be a regular file with a single hard link (another link could be a way in from outside).
        """
        resolved = self.check(raw)
        root = _deepest_root(resolved, self.roots())
        if root is None:  # check() made sure there is one; the roots changed in between
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: its folder is no longer allowed"
            )
        try:
            fd = _open_beneath(root, resolved.relative_to(root))
        except OSError as exc:
            raise FileAccessError(_open_failure(raw, exc)) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FileAccessError(f"{raw!r} is not a regular file")
            if info.st_nlink != 1:
                raise FileAccessError(
                    f"reading local file {raw!r} is not allowed: it has {info.st_nlink} hard links, "
                    "and a hard link can lead to a file outside the allowed folders; copy the file "
                    "(cp makes a new file) and give the copy"
                )
            return LocalFile(resolved, os.fdopen(fd, "rb"), info.st_size)
        except BaseException:
            os.close(fd)
            raise

    def check(self, raw: str) -> Path:
        """The resolved path of a readable regular file, or FileAccessError saying why not.

        Messages name the path as given, never where a symlink in it points.
        """
        path = local_path_from(raw)
        roots = self.roots()
        if not roots:
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: no folder is allowed for local files; "
                f"to allow one, {HOW_TO_ALLOW}"
            )
        # Hidden names in the path as given (a ".link" to a visible file too): naming them reveals no more.
        lexical = Path(os.path.normpath(path))
        lexical_root = _deepest_root(lexical, roots)
        if lexical_root is not None:
            hidden = _hidden_parts(lexical, lexical_root)
            if hidden:
                raise FileAccessError(
                    f"reading local file {raw!r} is not allowed: hidden files and folders "
                    f"({hidden[0]!r}) are never read, even inside an allowed folder; "
                    "copy the file to a visible folder"
                )
        try:
            # Check the loosely resolved path first so that "not found" is never said about a forbidden place.
            self._check_inside(raw, path.resolve(strict=False), roots)
            resolved = path.resolve(strict=True)
        except FileNotFoundError:
            raise FileAccessError(f"file not found: {raw!r} ({path})") from None
        except RuntimeError:  # pathlib's symlink loop error names the link
            raise FileAccessError(f"cannot read {raw!r}: a loop of symbolic links") from None
        except OSError as exc:
            raise FileAccessError(f"cannot read {raw!r}: {exc.strerror or type(exc).__name__}") from None
        self._check_inside(raw, resolved, roots)
        if not resolved.is_file():
            raise FileAccessError(f"{raw!r} is not a regular file")
        if not os.access(resolved, os.R_OK):
            raise FileAccessError(f"{raw!r} is not readable (permission denied)")
        return resolved

    @staticmethod
    def _check_inside(raw: str, resolved: Path, roots: list[Path]) -> None:
        root = _deepest_root(resolved, roots)
        if root is None:
            allowed = ", ".join(str(r) for r in roots)
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: it is, or leads to, a place outside the allowed "
                f"folders ({allowed}); to allow its folder, {HOW_TO_ALLOW}"
            )
        if _hidden_parts(resolved, root):
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: it is, or leads to, "
                "a hidden file or folder, and hidden files and folders are never read, "
                "even inside an allowed folder; copy the file to a visible folder"
            )


def _hidden_parts(path: Path, root: Path) -> list[str]:
    return [part for part in path.relative_to(root).parts if part.startswith(".")]


def _open_beneath(root: Path, relative: Path) -> int:
    """A read-only descriptor of `root / relative`, walking down from `root` without following any link."""
    if os.open not in os.supports_dir_fd or not NOFOLLOW:  # Windows: open, then make sure it is the same file
        fd = os.open(root / relative, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        if not os.path.samestat(os.fstat(fd), os.lstat(root / relative)):
            os.close(fd)
            raise OSError(errno.ELOOP, "the file changed while it was being opened")
        return fd
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in relative.parts[:-1]:
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
            os.close(directory)
            directory = below
        # O_NONBLOCK: a FIFO swapped in must not hang the server; it is refused as not a regular file.
        flags = os.O_RDONLY | NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        return os.open(relative.parts[-1], flags, dir_fd=directory)
    finally:
        os.close(directory)


def _open_failure(raw: str, exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return (
            f"reading local file {raw!r} is not allowed: it changed while being opened (a symbolic link "
            "appeared in its path); give the path of the file itself"
        )
    if exc.errno == errno.ENOENT:
        return f"file not found: {raw!r} (it was removed while being opened)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{raw!r} is not readable (permission denied)"
    return f"cannot read {raw!r}: {exc.strerror or type(exc).__name__}"


def _deepest_root(path: Path, roots: list[Path]) -> Path | None:
    containing = [r for r in roots if path.is_relative_to(r)]
    return max(containing, key=lambda r: len(r.parts), default=None)
