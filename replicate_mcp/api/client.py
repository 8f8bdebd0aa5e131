"""ReplicateClient: every Replicate endpoint the project uses, over one pooled httpx2.AsyncClient."""

from __future__ import annotations

import functools
import json
import logging
import mimetypes
import ssl
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx2

from .. import __version__
from ._errors import APIConnectionError, MissingTokenError, ReplicateError
from ._retry import TRANSIENT_ERRORS, RetryPolicy, Safety
from ._transport import Sender
from .objects import (
    Account,
    Collection,
    Deployment,
    FileObject,
    Hardware,
    Model,
    Prediction,
    SearchResponse,
    Training,
    Version,
)
from .pagination import Page, check_same_origin
from .sse import ServerSentEvent, SSEDecoder

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
USER_AGENT = f"replicate-mcp/{__version__}"
CONNECT_TIMEOUT = 10.0
WAIT_MARGIN = 10.0  # read timeout of a `Prefer: wait=N` create is at least N + this
STREAM_READ_TIMEOUT = 60.0  # the server itself closes idle streams after 30 s

T = TypeVar("T")

_PREDICTION_UNSURE = (
    "The prediction may or may not have been created: check list_predictions before retrying, "
    "or the model may run (and bill) twice."
)
_TRAINING_UNSURE = "The training may or may not have been created: check list_trainings before retrying."
_FILE_UNSURE = "The file may or may not have been uploaded: check list_files before uploading again."
_DEPLOYMENT_UNSURE = (
    "The deployment may or may not have been created: check list_deployments before retrying."
)


class ReplicateClient:
    """Async client of Replicate's HTTP API. Knows nothing of MCP.

    Idempotent requests (GET, cancel, search) are retried on 429/5xx and network errors; creates are never
    repeated once they may have reached the server (see `_retry.RetryPolicy`). The token goes only to the
    API's own origin (and to https://*.replicate.com stream hosts) and never appears in repr, logs or errors.
    """

    def __init__(
        self,
        token: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_retries: int = 4,
        http_client: httpx2.AsyncClient | None = None,
        retry_max_wait: float = 30.0,
        backoff_base: float = 0.5,
    ) -> None:
        self._token = token or None
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        self._owns_http = http_client is None
        self._http = http_client or httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout, connect=CONNECT_TIMEOUT),
            limits=httpx2.Limits(max_connections=32, max_keepalive_connections=16),
            verify=_ssl_context(),
        )
        self.retry_policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            retry_max_wait=retry_max_wait,
            max_total_wait=max(60.0, 2 * retry_max_wait),
        )
        self._sender = Sender(self._http, self.retry_policy, redact=self._redact)

    def __repr__(self) -> str:
        return f"ReplicateClient(base_url={self.base_url!r}, token={'set' if self._token else 'missing'})"

    @property
    def has_token(self) -> bool:
        return self._token is not None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ReplicateClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- search and models -------------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 20) -> SearchResponse:
        """GET /search (beta; works without a token)."""
        data = await self._json("GET", "/search", params={"query": query, "limit": limit}, auth=False)
        return SearchResponse.model_validate(data)

    async def search_models(self, query: str) -> Page[Model]:
        """QUERY /models with the query as a text/plain body."""
        data = await self._json(
            "QUERY", "/models", content=query.encode(), headers={"Content-Type": "text/plain"}
        )
        return Page[Model].model_validate(data)

    async def list_models(
        self, *, sort_by: str | None = None, sort_direction: str | None = None, cursor: str | None = None
    ) -> Page[Model]:
        params = _params(sort_by=sort_by, sort_direction=sort_direction)
        return await self._page(Page[Model], "/models", params, cursor=cursor)

    async def get_model(self, owner: str, name: str) -> Model:
        return Model.model_validate(await self._json("GET", f"/models/{_seg(owner)}/{_seg(name)}"))

    async def create_model(
        self, *, owner: str, name: str, visibility: str, hardware: str, **fields: Any
    ) -> Model:
        """POST /models (201). `owner` must be the token's account or one of its organizations."""
        body = {"owner": owner, "name": name, "visibility": visibility, "hardware": hardware, **fields}
        data = await self._json(
            "POST",
            "/models",
            json=body,
            safety=Safety.CREATE,
            unsure_note="The model may or may not have been created: get it before retrying.",
        )
        return Model.model_validate(data)

    async def get_model_readme(self, owner: str, name: str) -> str:
        """The README as markdown text; NotFoundError if the model has none."""
        response = await self._send("GET", f"/models/{_seg(owner)}/{_seg(name)}/readme", accept="text/plain")
        return response.text

    async def get_model_examples(self, owner: str, name: str, cursor: str | None = None) -> Page[Prediction]:
        return await self._page(
            Page[Prediction], f"/models/{_seg(owner)}/{_seg(name)}/examples", cursor=cursor
        )

    async def list_model_versions(self, owner: str, name: str, cursor: str | None = None) -> Page[Version]:
        """Versions newest first; official models have none (NotFoundError):
        use get_model().latest_version."""
        return await self._page(Page[Version], f"/models/{_seg(owner)}/{_seg(name)}/versions", cursor=cursor)

    async def get_model_version(self, owner: str, name: str, version_id: str) -> Version:
        path = f"/models/{_seg(owner)}/{_seg(name)}/versions/{_seg(version_id)}"
        return Version.model_validate(await self._json("GET", path))

    async def list_collections(self, cursor: str | None = None) -> Page[Collection]:
        return await self._page(Page[Collection], "/collections", cursor=cursor)

    async def get_collection(self, slug: str) -> Collection:
        return Collection.model_validate(await self._json("GET", f"/collections/{_seg(slug)}"))

    # --- predictions -------------------------------------------------------------------------------------

    async def create_prediction(
        self,
        *,
        input: dict[str, Any],
        version: str | None = None,
        model: str | None = None,
        deployment: str | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        wait: int | None = None,
        cancel_after: str | int | float | None = None,
    ) -> Prediction:
        """Create a prediction on exactly one of `version`, `model` or `deployment`.

        version: "owner/name" (official models), "owner/name:<id>" or "<id>" -> POST /predictions.
        model: "owner/name" -> POST /models/owner/name/predictions ("owner/name:<id>" is sent as a version).
        deployment: "owner/name" -> POST /deployments/owner/name/predictions.
        wait: 1..60 sends `Prefer: wait=N` (the answer may still be unfinished); None sends no Prefer header.
        cancel_after: `Cancel-After` header; a number is seconds, a string a duration such as "5m" or "1h30m".
        Never repeated once the request may have reached the server: a create must not run twice.
        """
        if sum(x is not None for x in (version, model, deployment)) != 1:
            raise ValueError("Give exactly one of version, model or deployment")
        body: dict[str, Any] = {"input": input}
        if model is not None and ":" in model:
            version, model = model, None
        if version is not None:
            path = "/predictions"
            body["version"] = version
        elif model is not None:
            path = f"/models/{_owner_name(model)}/predictions"
        else:
            path = f"/deployments/{_owner_name(deployment or '')}/predictions"
        if webhook is not None:
            body["webhook"] = webhook
        if webhook_events_filter is not None:
            body["webhook_events_filter"] = webhook_events_filter

        headers: dict[str, str] = {}
        timeout = None
        if wait is not None:
            if isinstance(wait, bool) or not 1 <= int(wait) <= 60:
                raise ValueError("wait must be an integer number of seconds from 1 to 60")
            headers["Prefer"] = f"wait={int(wait)}"
            timeout = self._timeout(read=int(wait) + WAIT_MARGIN)
        if cancel_after is not None:
            headers["Cancel-After"] = _duration(cancel_after)
        data = await self._json(
            "POST",
            path,
            json=body,
            headers=headers,
            timeout=timeout,
            safety=Safety.CREATE,
            unsure_note=_PREDICTION_UNSURE,
        )
        return Prediction.model_validate(data)

    async def get_prediction(self, id: str) -> Prediction:
        return Prediction.model_validate(await self._json("GET", f"/predictions/{_seg(id)}"))

    async def cancel_prediction(self, id: str) -> Prediction:
        """Cancel (idempotent: cancelling a finished prediction changes nothing)."""
        return Prediction.model_validate(await self._json("POST", f"/predictions/{_seg(id)}/cancel"))

    async def list_predictions(
        self,
        *,
        cursor: str | None = None,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
    ) -> Page[Prediction]:
        """Newest first, 100 a page. With a cursor the filters are already part of it and are ignored."""
        params = _params(created_after=_iso(created_after), created_before=_iso(created_before))
        return await self._page(Page[Prediction], "/predictions", params, cursor=cursor)

    async def stream_events(self, url: str) -> AsyncIterator[ServerSentEvent]:
        """Server-sent events of a prediction's `urls.stream`, in order, ending after the `done` event.

        `error` events are yielded like any other (their data is JSON `{"detail": ...}`), then normally `done`
        with `{"reason": "error"}`: the caller decides what to raise. If the connection drops mid-stream it is
        resumed with `Last-Event-ID` (up to max_retries times; events seen before are not repeated). The
        stream may also end without `done` (the server closes a stream idle for 30 s, or one whose prediction
        data was removed): fetch the prediction then.
        """
        decoder = SSEDecoder()
        seen: set[str] = set()
        reconnects = 0
        while True:
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
            if decoder.last_event_id:
                headers["Last-Event-ID"] = decoder.last_event_id
            response = await self._send(
                "GET",
                url,
                headers=headers,
                timeout=self._timeout(read=STREAM_READ_TIMEOUT),
                stream=True,
                auth=self._is_token_origin(url),
                accept=None,
            )
            try:
                content_type = response.headers.get("content-type", "").partition(";")[0].strip()
                if content_type != "text/event-stream":
                    raise ReplicateError(
                        "Expected text/event-stream from the stream URL, "
                        f"got {content_type or 'no content type'}",
                        status=response.status_code,
                        title="Not an event stream",
                    )
                async for chunk in response.aiter_bytes():
                    for event in decoder.feed(chunk):
                        if event.id and event.id in seen:
                            continue  # replayed by a server that ignored Last-Event-ID
                        seen.add(event.id)
                        yield event
                        if event.event == "done":
                            return
                for event in decoder.close():
                    yield event
                    if event.event == "done":
                        return
                return
            except TRANSIENT_ERRORS as exc:
                if reconnects >= self.retry_policy.max_retries:
                    raise APIConnectionError(
                        f"Event stream from {httpx2.URL(url).host} broke ({type(exc).__name__})",
                        title="Connection error",
                    ) from exc
                reconnects += 1
                logger.info("event stream broke (%s); reconnecting (%d)", type(exc).__name__, reconnects)
                decoder = SSEDecoder(last_event_id=decoder.last_event_id)
            finally:
                await response.aclose()

    # --- files -------------------------------------------------------------------------------------------

    async def create_file(
        self,
        content: bytes,
        *,
        filename: str,
        content_type: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> FileObject:
        """POST /files (multipart: part `content`, fields `filename`, `type`, `metadata`).
        Files expire after 24 h."""
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        data = await self._json(
            "POST",
            "/files",
            files={"content": (filename, content, content_type)},
            data={"filename": filename, "type": content_type, "metadata": json.dumps(metadata or {})},
            safety=Safety.CREATE,
            unsure_note=_FILE_UNSURE,
        )
        return FileObject.model_validate(data)

    async def list_files(self, cursor: str | None = None) -> Page[FileObject]:
        return await self._page(Page[FileObject], "/files", cursor=cursor)

    async def get_file(self, id: str) -> FileObject:
        return FileObject.model_validate(await self._json("GET", f"/files/{_seg(id)}"))

    async def delete_file(self, id: str) -> None:
        await self._send("DELETE", f"/files/{_seg(id)}")

    async def download_file(self, id: str) -> bytes:
        """The file's bytes, from GET /files/{id}/download."""
        response = await self._send("GET", f"/files/{_seg(id)}/download", accept="*/*")
        return response.content

    # --- trainings ---------------------------------------------------------------------------------------

    async def create_training(
        self,
        owner: str,
        name: str,
        version_id: str,
        *,
        destination: str,
        input: dict[str, Any],
        webhook: str | None = None,
    ) -> Training:
        """Never repeated once the request may have reached the server."""
        body: dict[str, Any] = {"destination": destination, "input": input}
        if webhook is not None:
            body["webhook"] = webhook
        path = f"/models/{_seg(owner)}/{_seg(name)}/versions/{_seg(version_id)}/trainings"
        data = await self._json("POST", path, json=body, safety=Safety.CREATE, unsure_note=_TRAINING_UNSURE)
        return Training.model_validate(data)

    async def get_training(self, id: str) -> Training:
        return Training.model_validate(await self._json("GET", f"/trainings/{_seg(id)}"))

    async def list_trainings(self, cursor: str | None = None) -> Page[Training]:
        return await self._page(Page[Training], "/trainings", cursor=cursor)

    async def cancel_training(self, id: str) -> Training:
        return Training.model_validate(await self._json("POST", f"/trainings/{_seg(id)}/cancel"))

    # --- deployments, hardware, account, webhooks --------------------------------------------------------

    async def list_deployments(self, cursor: str | None = None) -> Page[Deployment]:
        return await self._page(Page[Deployment], "/deployments", cursor=cursor)

    async def get_deployment(self, owner: str, name: str) -> Deployment:
        return Deployment.model_validate(await self._json("GET", f"/deployments/{_seg(owner)}/{_seg(name)}"))

    async def create_deployment(self, **fields: Any) -> Deployment:
        """POST /deployments with name, model, version, hardware, min_instances, max_instances."""
        data = await self._json(
            "POST", "/deployments", json=fields, safety=Safety.CREATE, unsure_note=_DEPLOYMENT_UNSURE
        )
        return Deployment.model_validate(data)

    async def update_deployment(self, owner: str, name: str, **fields: Any) -> Deployment:
        """PATCH /deployments/{owner}/{name} with any of version, hardware, min_instances, max_instances."""
        data = await self._json("PATCH", f"/deployments/{_seg(owner)}/{_seg(name)}", json=fields)
        return Deployment.model_validate(data)

    async def delete_deployment(self, owner: str, name: str) -> None:
        await self._send("DELETE", f"/deployments/{_seg(owner)}/{_seg(name)}")

    async def list_hardware(self) -> list[Hardware]:
        data = await self._json("GET", "/hardware")
        return [Hardware.model_validate(item) for item in data]

    async def get_account(self) -> Account:
        return Account.model_validate(await self._json("GET", "/account"))

    async def get_webhook_secret(self) -> str:
        """The `whsec_...` key that signs this account's webhooks."""
        data = await self._json("GET", "/webhooks/default/secret")
        return str(data["key"])

    # --- pagination --------------------------------------------------------------------------------------

    async def iterate(self, page: Page[T]) -> AsyncIterator[T]:
        """Every result of `page` and of the pages after it, following `next` on the API origin only."""
        while True:
            for item in page.results:
                yield item
            if not page.next:
                return
            page = await self._page(type(page), "", cursor=page.next)

    # --- plumbing ----------------------------------------------------------------------------------------

    async def _page(
        self,
        page_type: type[Page[T]],
        path: str,
        params: dict[str, str] | None = None,
        *,
        cursor: str | None = None,
    ) -> Page[T]:
        """GET a page: `path` (with `params`), or the `cursor`
        (an earlier page's absolute `next` URL) as is."""
        if cursor:
            url = str(check_same_origin(cursor, self.base_url))
            return page_type.model_validate(await self._json("GET", url))
        return page_type.model_validate(await self._json("GET", path, params=params))

    async def _json(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        response = await self._send(method, path_or_url, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ReplicateError(
                f"{method} {response.url.path} answered {response.status_code} with a body that is not JSON",
                status=response.status_code,
                title="Unexpected response",
            ) from exc

    async def _send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        safety: Safety = Safety.IDEMPOTENT,
        unsure_note: str | None = None,
        stream: bool = False,
        auth: bool = True,
        accept: str | None = "application/json",
    ) -> httpx2.Response:
        if path_or_url.startswith(("http://", "https://")):
            url = path_or_url
            if auth and not self._is_token_origin(url):
                check_same_origin(url, self.base_url)  # raises UnsafeURLError
        else:
            url = self.base_url + path_or_url
        if auth and not self._token:
            raise MissingTokenError()
        request_headers = {"User-Agent": USER_AGENT}
        if accept:
            request_headers["Accept"] = accept
        if self._token and self._is_token_origin(url):
            request_headers["Authorization"] = f"Bearer {self._token}"
        request_headers.update(headers or {})
        request = self._http.build_request(
            method,
            url,
            params=params,
            json=json,
            content=content,
            data=data,
            files=files,
            headers=request_headers,
            timeout=timeout or httpx2.USE_CLIENT_DEFAULT,
        )
        return await self._sender.send(request, safety=safety, unsure_note=unsure_note, stream=stream)

    def _is_api(self, url: str) -> bool:
        try:
            check_same_origin(url, self.base_url)
        except ReplicateError:
            return False
        return True

    def _is_token_origin(self, url: str) -> bool:
        """Whether `url` may receive the token: the API origin, or an https Replicate host
        (stream.replicate.com)."""
        if self._is_api(url):
            return True
        parsed = httpx2.URL(url)
        host = parsed.host.lower()
        return parsed.scheme == "https" and (host == "replicate.com" or host.endswith(".replicate.com"))

    def _timeout(self, *, read: float) -> httpx2.Timeout:
        return httpx2.Timeout(self.timeout, connect=CONNECT_TIMEOUT, read=max(self.timeout, read))

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "[redacted]") if self._token else text


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs tens of milliseconds per client otherwise."""
    return httpx2.create_ssl_context()


def normalize_base_url(base_url: str) -> str:
    """Accept the API root with or without a trailing /v1 or /: "https://host/" -> "https://host/v1"."""
    base = base_url.rstrip("/")
    return base if base.endswith("/v1") else base + "/v1"


def _seg(value: str) -> str:
    """One URL path segment, escaped; refuses values that would change the path."""
    if not value or value in (".", ".."):
        raise ValueError(f"Invalid path segment: {value!r}")
    return quote(value, safe="")


def _owner_name(ref: str) -> str:
    owner, slash, name = ref.partition("/")
    if not slash or not owner or not name or "/" in name:
        raise ValueError(f"Expected 'owner/name', got {ref!r}")
    return f"{_seg(owner)}/{_seg(name)}"


def _params(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _iso(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _duration(value: str | int | float) -> str:
    if isinstance(value, bool):
        raise ValueError("cancel_after must be a duration such as 300, '5m' or '1h30m'")
    if isinstance(value, int | float):
        return f"{value:g}s"
    return value.strip()
