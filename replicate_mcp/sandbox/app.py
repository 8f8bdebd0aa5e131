"""The Starlette app: a local, Replicate-compatible HTTP API."""

from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import api_catalog, api_files, api_runs, control, docs
from .config import SandboxConfig
from .gate import Gate
from .http_errors import NOT_FOUND_DETAIL, PROBLEM, ApiError
from .state import SandboxState

log = logging.getLogger(__name__)

ROUTES = [
    Route("/v1/search", api_catalog.search, methods=["GET"]),
    Route("/v1/models", api_catalog.list_models, methods=["GET"]),
    Route("/v1/models", api_catalog.create_model, methods=["POST"]),
    Route("/v1/models", api_catalog.query_models, methods=["QUERY"]),
    Route("/v1/models/{owner}/{name}", api_catalog.get_model, methods=["GET"]),
    Route("/v1/models/{owner}/{name}", api_catalog.update_model, methods=["PATCH"]),
    Route("/v1/models/{owner}/{name}", api_catalog.delete_model, methods=["DELETE"]),
    Route("/v1/models/{owner}/{name}/readme", api_catalog.readme, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/examples", api_catalog.examples, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/predictions", api_runs.create_model_prediction, methods=["POST"]),
    Route("/v1/models/{owner}/{name}/versions", api_catalog.list_versions, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}", api_catalog.get_version, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}", api_catalog.delete_version, methods=["DELETE"]),
    Route(
        "/v1/models/{owner}/{name}/versions/{version_id}/trainings",
        api_runs.create_training,
        methods=["POST"],
    ),
    Route("/v1/collections", api_catalog.list_collections, methods=["GET"]),
    Route("/v1/collections/{slug}", api_catalog.get_collection, methods=["GET"]),
    Route("/v1/predictions", api_runs.list_predictions, methods=["GET"]),
    Route("/v1/predictions", api_runs.create_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}", api_runs.get_prediction, methods=["GET"]),
    Route("/v1/predictions/{id}/cancel", api_runs.cancel_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}/stream", api_runs.stream_prediction, methods=["GET"]),
    Route("/v1/trainings", api_runs.list_trainings, methods=["GET"]),
    Route("/v1/trainings/{id}", api_runs.get_training, methods=["GET"]),
    Route("/v1/trainings/{id}/cancel", api_runs.cancel_training, methods=["POST"]),
    Route("/v1/deployments", api_catalog.list_deployments, methods=["GET"]),
    Route("/v1/deployments", api_catalog.create_deployment, methods=["POST"]),
    Route("/v1/deployments/{owner}/{name}", api_catalog.get_deployment, methods=["GET"]),
    Route("/v1/deployments/{owner}/{name}", api_catalog.update_deployment, methods=["PATCH"]),
    Route("/v1/deployments/{owner}/{name}", api_catalog.delete_deployment, methods=["DELETE"]),
    Route(
        "/v1/deployments/{owner}/{name}/predictions", api_runs.create_deployment_prediction, methods=["POST"]
    ),
    Route("/v1/files", api_files.list_files, methods=["GET"]),
    Route("/v1/files", api_files.create_file, methods=["POST"]),
    Route("/v1/files/{id}", api_files.get_file, methods=["GET"]),
    Route("/v1/files/{id}", api_files.delete_file, methods=["DELETE"]),
    Route("/v1/files/{id}/download", api_files.download_file, methods=["GET"]),
    Route("/v1/hardware", api_catalog.hardware, methods=["GET"]),
    Route("/v1/account", api_catalog.account, methods=["GET"]),
    Route("/v1/webhooks/default/secret", api_catalog.webhook_secret, methods=["GET"]),
    Route("/delivery/{id}/{name:path}", api_files.delivery, methods=["GET"]),
    Route("/docs/llms.txt", docs.llms_index, methods=["GET"]),
    Route("/docs/{path:path}", docs.page, methods=["GET"]),
    Route("/{owner}/{name}/llms.txt", docs.model_llms, methods=["GET"]),
    Route("/_sandbox/stats", control.get_stats, methods=["GET"]),
    Route("/_sandbox/stats/reset", control.reset_stats, methods=["POST"]),
    Route("/_sandbox/faults", control.get_faults, methods=["GET"]),
    Route("/_sandbox/faults", control.set_faults, methods=["POST"]),
    Route("/_sandbox/faults", control.clear_faults, methods=["DELETE"]),
    Route("/_sandbox/predictions/{id}/events", control.get_events, methods=["GET"]),
]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"detail": NOT_FOUND_DETAIL, "status": 404}
    else:
        body = {"title": str(exc.detail), "detail": str(exc.detail), "status": exc.status_code}
    return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM, headers=exc.headers)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A new sandbox app with its own state (models, predictions, files, counters)."""
    sandbox = SandboxState(config or SandboxConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        await sandbox.engine.aclose()

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(Gate, state=sandbox, routes=ROUTES)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app
