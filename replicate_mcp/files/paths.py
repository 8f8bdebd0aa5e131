"""Which local files the server may read: allowed folders, no hidden files, symlinks resolved first."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import platformdirs

HOW_TO_ALLOW = "start the server with --allow-dir DIR or set REPLICATE_MCP_ALLOW_DIRS"


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
        raise FileAccessError(f"{raw!r} is a relative path: give an absolute path (or a ~/ path, or an http(s) URL)")
    return path


class PathPolicy:
    """Local paths are readable only inside `allow_dirs` and `output_dir`, and never hidden (".name") below them."""

    def __init__(self, allow_dirs: Sequence[Path], output_dir: Path | None) -> None:
        self.allow_dirs = [Path(d).expanduser() for d in allow_dirs]
        self.output_dir = Path(output_dir).expanduser() if output_dir is not None else None

    def roots(self) -> list[Path]:
        dirs = [*self.allow_dirs, *([self.output_dir] if self.output_dir is not None else [])]
        return [d.resolve() for d in dirs]

    def check(self, raw: str) -> Path:
        """The resolved path of a readable regular file, or FileAccessError saying why not."""
        path = local_path_from(raw)
        roots = self.roots()
        try:
            # Check the loosely resolved path first so that "not found" is never said about a forbidden place.
            self._check_inside(raw, path.resolve(strict=False), roots)
            resolved = path.resolve(strict=True)
        except FileNotFoundError:
            raise FileAccessError(f"file not found: {raw!r} ({path})") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
            raise FileAccessError(f"cannot read {raw!r}: {getattr(exc, 'strerror', None) or exc}") from None
        self._check_inside(raw, resolved, roots)
        # A hidden name in the path as given (e.g. a ".link" pointing to a visible file) is refused too.
        lexical = Path(os.path.normpath(path))
        lexical_root = _deepest_root(lexical, roots)
        if lexical_root is not None:
            self._check_not_hidden(raw, lexical, lexical_root)
        if not resolved.is_file():
            raise FileAccessError(f"{raw!r} ({resolved}) is not a regular file")
        if not os.access(resolved, os.R_OK):
            raise FileAccessError(f"{raw!r} ({resolved}) is not readable (permission denied)")
        return resolved

    def _check_inside(self, raw: str, resolved: Path, roots: list[Path]) -> None:
        if not roots:
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: no folder is allowed for local files; "
                f"to allow one, {HOW_TO_ALLOW}"
            )
        root = _deepest_root(resolved, roots)
        if root is None:
            allowed = ", ".join(str(r) for r in roots)
            raise FileAccessError(
                f"reading local file {raw!r} ({resolved}) is not allowed: it is outside the allowed folders "
                f"({allowed}); to allow its folder, {HOW_TO_ALLOW}"
            )
        self._check_not_hidden(raw, resolved, root)

    @staticmethod
    def _check_not_hidden(raw: str, path: Path, root: Path) -> None:
        hidden = [part for part in path.relative_to(root).parts if part.startswith(".")]
        if hidden:
            raise FileAccessError(
                f"reading local file {raw!r} is not allowed: hidden files and folders ({hidden[0]!r}) are never "
                "read, even inside an allowed folder; copy the file to a visible folder"
            )


def _deepest_root(path: Path, roots: list[Path]) -> Path | None:
    containing = [r for r in roots if path.is_relative_to(r)]
    return max(containing, key=lambda r: len(r.parts), default=None)
