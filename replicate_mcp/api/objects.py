"""Typed API objects. Tolerant by design: every field optional, unknown fields kept (extra="allow").

Timestamps stay ISO 8601 strings as the API sends them;
statuses stay plain strings so new ones never break parsing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled", "aborted"})


class Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class Job(Resource):
    """Fields shared by predictions and trainings."""

    id: str = ""
    model: str | None = None
    version: str | None = None
    input: dict[str, Any] | None = None
    output: Any = None
    logs: str | None = None
    error: Any = None
    status: str = ""
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    urls: dict[str, str] = {}
    metrics: dict[str, Any] | None = None
    source: str | None = None
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None

    @field_validator("urls", mode="before")
    @classmethod
    def _drop_null_urls(cls, value: Any) -> Any:
        return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else value

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Prediction(Job):
    data_removed: bool = False
    deadline: str | None = None
    deployment: str | None = None


class Training(Job):
    destination: str | None = None


class Version(Resource):
    id: str = ""
    created_at: str | None = None
    cog_version: str | None = None
    openapi_schema: dict[str, Any] | None = None


class Model(Resource):
    url: str | None = None
    owner: str = ""
    name: str = ""
    description: str | None = None
    visibility: str | None = None
    github_url: str | None = None
    paper_url: str | None = None
    license_url: str | None = None
    weights_url: str | None = None
    run_count: int | None = None
    cover_image_url: str | None = None
    default_example: Prediction | None = None
    latest_version: Version | None = None
    is_official: bool | None = None
    created_at: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class Collection(Resource):
    name: str = ""
    slug: str = ""
    description: str | None = None
    full_description: str | None = None
    models: list[Model] = []


class FileObject(Resource):
    id: str = ""
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    etag: str | None = None
    checksums: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    created_at: str | None = None
    expires_at: str | None = None
    urls: dict[str, str] = {}


class DeploymentRelease(Resource):
    number: int | None = None
    model: str | None = None
    version: str | None = None
    created_at: str | None = None
    created_by: dict[str, Any] | None = None
    configuration: dict[str, Any] | None = None


class Deployment(Resource):
    owner: str = ""
    name: str = ""
    current_release: DeploymentRelease | None = None


class Hardware(Resource):
    name: str = ""
    sku: str = ""


class Account(Resource):
    type: str | None = None
    username: str = ""
    name: str | None = None
    github_url: str | None = None
    avatar_url: str | None = None


class SearchModelMetadata(Resource):
    generated_description: str | None = None
    tags: list[str] = []
    score: float | None = None


class SearchModelResult(Resource):
    model: Model
    metadata: SearchModelMetadata = SearchModelMetadata()


class SearchCollection(Resource):
    name: str = ""
    slug: str = ""
    description: str | None = None
    models: list[str] = []


class SearchPage(Resource):
    name: str = ""
    href: str = ""


class SearchResponse(Resource):
    query: str = ""
    models: list[SearchModelResult] = []
    collections: list[SearchCollection] = []
    pages: list[SearchPage] = []
