"""The Files API, and the /delivery/ URLs output files are served at."""

from __future__ import annotations

import hashlib
import json

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .accounts import caller
from .http_errors import ApiError, bad_request
from .pages import page, root, state
from .records import StoredFile
from .util import now

MAX_FILE_BYTES = 100 * 1024 * 1024
FILES_PAGE = 100


def _too_large() -> ApiError:
    return ApiError(413, "Files must be less than 100MB in size")


async def create_file(request: Request) -> Response:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FILE_BYTES + 64 * 1024:
        raise _too_large()
    async with request.form(max_part_size=1024 * 1024) as form:
        upload = form.get("content")
        if not isinstance(upload, UploadFile):
            raise bad_request('The multipart part "content" (the file) is required', "Missing file content")
        data = await upload.read()
        raw_metadata, declared_type, upload_type = form.get("metadata"), form.get("type"), upload.content_type
        filename = str(form.get("filename") or upload.filename or "file")
    if len(data) > MAX_FILE_BYTES:
        raise _too_large()
    metadata = {}
    if raw_metadata:
        try:
            metadata = json.loads(str(raw_metadata))
        except json.JSONDecodeError as exc:
            raise bad_request("metadata must be a JSON object") from exc
    s = state(request)
    content_type = str(declared_type or upload_type or "application/octet-stream")
    md5 = hashlib.md5(data).hexdigest()
    stored = StoredFile(
        id=s.engine.new_id(),
        name=filename,
        content_type=content_type,
        data=data,
        metadata=metadata if isinstance(metadata, dict) else {},
        created_at=now(),
        checksums={"sha256": hashlib.sha256(data).hexdigest(), "md5": md5},
        etag=md5,
        account=caller(request),
    )
    s.files[stored.id] = stored
    return JSONResponse(stored.to_json(root(request)), status_code=201)


def _file(request: Request) -> StoredFile:
    stored = state(request).files.get(request.path_params["id"])
    if stored is None or stored.account not in (None, caller(request)):
        raise ApiError(404, "File not found")
    return stored


async def list_files(request: Request) -> Response:
    username = caller(request)
    files = sorted(
        (f for f in state(request).files.values() if f.account in (None, username)),
        key=lambda f: f.created_at,
        reverse=True,
    )
    base = root(request)
    return JSONResponse(
        page(request, files, FILES_PAGE, key=lambda f: f.id, render=lambda f: f.to_json(base))
    )


async def get_file(request: Request) -> Response:
    return JSONResponse(_file(request).to_json(root(request)))


async def delete_file(request: Request) -> Response:
    stored = _file(request)
    del state(request).files[stored.id]
    return Response(status_code=204)


async def download_file(request: Request) -> Response:
    stored = _file(request)
    headers = {"Content-Disposition": f'attachment; filename="{stored.name}"'}
    return Response(stored.data, media_type="application/octet-stream", headers=headers)


async def delivery(request: Request) -> Response:
    files = state(request).engine.delivery.get(request.path_params["id"], {})
    stored = files.get(request.path_params["name"])
    if stored is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(stored[1], media_type=stored[0])
