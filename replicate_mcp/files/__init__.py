"""Local files for model inputs, archived copies of outputs, thumbnails, and the prediction ledger."""

from .archive import OutputArchive, decode_data_uri
from .inputs import InputFiles
from .keeper import OutputKeeper
from .ledger import Intent, Ledger, LedgerEntry, LedgerStore, mask_secrets
from .net import DownloadRefusedError, URLPolicy
from .paths import HOW_TO_ALLOW, FileAccessError, PathPolicy, default_data_dir, default_output_dir
from .records import ArchivedFile, ArchiveFailure, ArchiveResult, UploadedFile, iter_file_values
from .thumbnails import make_thumbnail

__all__ = [
    "ArchiveFailure",
    "ArchiveResult",
    "ArchivedFile",
    "DownloadRefusedError",
    "FileAccessError",
    "HOW_TO_ALLOW",
    "InputFiles",
    "Intent",
    "Ledger",
    "LedgerEntry",
    "LedgerStore",
    "OutputArchive",
    "OutputKeeper",
    "PathPolicy",
    "URLPolicy",
    "UploadedFile",
    "decode_data_uri",
    "default_data_dir",
    "default_output_dir",
    "iter_file_values",
    "make_thumbnail",
    "mask_secrets",
]
