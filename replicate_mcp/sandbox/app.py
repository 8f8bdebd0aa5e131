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

from . import api_catalog as c
from . import api_files as f
from . import api_runs as r
from . import control
from . import docs as d
from .config import SandboxConfig
from .gate import Gate
from .http_errors import NOT_FOUND_DETAIL, PROBLEM, ApiError
from .state import SandboxState

log = logging.getLogger(__name__)

ROUTES = [
    Route("/v1/search", c.search, methods=["GET"]),
    Route("/v1/models", c.list_models, methods=["GET"]),
    Route("/v1/models", c.create_model, methods=["POST"]),
    Route("/v1/models", c.query_models, methods=["QUERY"]),
    Route("/v1/models/{owner}/{name}", c.get_model, methods=["GET"]),
    Route("/v1/models/{owner}/{name}", c.update_model, methods=["PATCH"]),
    Route("/v1/models/{owner}/{name}", c.delete_model, methods=["DELETE"]),
    Route("/v1/models/{owner}/{name}/readme", c.readme, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/examples", c.examples, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/predictions", r.create_model_prediction, methods=["POST"]),
    Route("/v1/models/{owner}/{name}/versions", c.list_versions, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}", c.get_version, methods=["GET"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}", c.delete_version, methods=["DELETE"]),
    Route("/v1/models/{owner}/{name}/versions/{version_id}/trainings", r.create_training, methods=["POST"]),
    Route("/v1/collections", c.list_collections, methods=["GET"]),
    Route("/v1/collections/{slug}", c.get_collection, methods=["GET"]),
    Route("/v1/predictions", r.list_predictions, methods=["GET"]),
    Route("/v1/predictions", r.create_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}", r.get_prediction, methods=["GET"]),
    Route("/v1/predictions/{id}/cancel", r.cancel_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}/stream", r.stream_prediction, methods=["GET"]),
    Route("/v1/trainings", r.list_trainings, methods=["GET"]),
    Route("/v1/trainings/{id}", r.get_training, methods=["GET"]),
    Route("/v1/trainings/{id}/cancel", r.cancel_training, methods=["POST"]),
    Route("/v1/deployments", c.list_deployments, methods=["GET"]),
    Route("/v1/deployments", c.create_deployment, methods=["POST"]),
    Route("/v1/deployments/{owner}/{name}", c.get_deployment, methods=["GET"]),
    Route("/v1/deployments/{owner}/{name}", c.update_deployment, methods=["PATCH"]),
    Route("/v1/deployments/{owner}/{name}", c.delete_deployment, methods=["DELETE"]),
    Route("/v1/deployments/{owner}/{name}/predictions", r.create_deployment_prediction, methods=["POST"]),
    Route("/v1/files", f.list_files, methods=["GET"]),
    Route("/v1/files", f.create_file, methods=["POST"]),
    Route("/v1/files/{id}", f.get_file, methods=["GET"]),
    Route("/v1/files/{id}", f.delete_file, methods=["DELETE"]),
    Route("/v1/files/{id}/download", f.download_file, methods=["GET"]),
    Route("/v1/hardware", c.hardware, methods=["GET"]),
    Route("/v1/account", c.account, methods=["GET"]),
    Route("/v1/webhooks/default/secret", c.webhook_secret, methods=["GET"]),
    Route("/delivery/{id}/{name:path}", f.delivery, methods=["GET"]),
    Route("/docs/llms.txt", d.llms_index, methods=["GET"]),
    Route("/docs/{path:path}", d.page, methods=["GET"]),
    Route("/{owner}/{name}/llms.txt", d.model_llms, methods=["GET"]),
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
