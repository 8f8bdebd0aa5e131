"""Keep a succeeded prediction's output files: archive them once, remember them in the ledger."""

from __future__ import annotations

import logging
from typing import Any

from .archive import OutputArchive
from .ledger import Ledger
from .models import ArchivedFile, iter_file_values

log = logging.getLogger(__name__)


class OutputKeeper:
    def __init__(self, ledger: Ledger, archive: OutputArchive | None) -> None:
        self.ledger = ledger
        self.archive = archive

    async def keep(self, prediction: Any) -> list[ArchivedFile]:
        """The archived files of `prediction`, downloading them the first time; what was kept before otherwise."""
        known = self.ledger.files(prediction.id)
        if known or self.archive is None or prediction.status != "succeeded" or prediction.data_removed:
            return known
        if not any(True for _ in iter_file_values(prediction.output)):
            return []
        files = await self.archive.archive(prediction.id, prediction.output)
        if files:
            self.ledger.add_files(prediction.id, files)
        return list(files)
