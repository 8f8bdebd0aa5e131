"""Keep a succeeded prediction's output files:
archive them once, remember them in the ledger, make image previews."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .archive import OutputArchive
from .ledger import LedgerStore
from .records import ArchivedFile, iter_file_values
from .thumbnails import stored_preview

if TYPE_CHECKING:  # obstore is loaded only by a server that keeps files in an object store
    from .object_store import ObjectArchive

log = logging.getLogger(__name__)


class OutputKeeper:
    """`objects`: an object store shared by replicas; each file is also put there, under
    `<tenant>/<prediction id>/<name>`, and the ledger records that address beside the local path."""

    def __init__(
        self, ledger: LedgerStore, archive: OutputArchive | None, *, objects: ObjectArchive | None = None
    ) -> None:
        self.ledger = ledger
        self.archive = archive
        self.objects = objects

    async def keep(self, prediction: Any) -> list[ArchivedFile]:
        """The archived files of `prediction`, downloading them the first time;
        what was kept before otherwise."""
        known = self.ledger.files(prediction.id)
        if known or self.archive is None or prediction.status != "succeeded" or prediction.data_removed:
            return known
        if not any(True for _ in iter_file_values(prediction.output)):
            return []
        files = list(await self.archive.archive(prediction.id, prediction.output))
        if files and self.objects is not None:
            entry = self.ledger.get(prediction.id)
            folder = f"{entry.tenant if entry is not None else 'local'}/{prediction.id}"
            files = [
                f.model_copy(
                    update={
                        "stored": await self.objects.put_file(Path(f.path), f"{folder}/{Path(f.path).name}")
                    }
                )
                for f in files
            ]
        if files:
            self.ledger.add_files(prediction.id, files)
        for f in files:
            if str(f.mime_type).startswith("image/"):
                try:
                    await anyio.to_thread.run_sync(stored_preview, Path(f.path), f.mime_type)
                except OSError as exc:  # the file is kept; its preview is made when first shown
                    log.info("no preview kept for %s: %s", f.path, exc)
        return list(files)
