"""Archived outputs in an S3-compatible object store (AWS S3, Cloudflare R2, MinIO…), shared by every replica.

Files are archived to local disk first (the download path is the same), then put under
`<prefix>/<tenant>/<prediction id>/<name>`; the ledger records the `s3://` address, and resources
and thumbnails read them back from there. Credentials and the endpoint come from the usual
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL; AWS_ALLOW_HTTP
for a local store), through obstore.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import obstore
from obstore.store import S3Store


class ObjectArchive:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"'{url}' is not an s3://bucket/prefix address")
        self.url = url.rstrip("/")
        self.store = S3Store.from_url(self.url)

    def address(self, key: str) -> str:
        return f"{self.url}/{key}"

    def key_of(self, address: str) -> str | None:
        """The key inside this store of an `s3://` address it made, or None for anything else."""
        prefix = self.url + "/"
        return address[len(prefix) :] if address.startswith(prefix) else None

    async def put_file(self, path: Path, key: str) -> str:
        await obstore.put_async(self.store, key, path.read_bytes())
        return self.address(key)

    async def read(self, address: str) -> bytes:
        key = self.key_of(address)
        if key is None:
            raise ValueError(f"{address} is not in {self.url}")
        result = await obstore.get_async(self.store, key)
        return (await result.bytes_async()).to_bytes()

    async def check(self) -> str | None:
        """None when the store answers; otherwise why not (for /readyz)."""
        try:
            await obstore.list(self.store, chunk_size=1).__anext__()
        except StopAsyncIteration:
            return None
        except Exception as exc:  # any store error means not ready
            return f"object store {self.url}: {type(exc).__name__}"
        return None
