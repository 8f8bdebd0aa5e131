"""What tools return. Optional fields are left out when empty, so results stay small."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ModelHit(BaseModel):
    model: str
    description: str | None = None
    runs: int | None = None
    official: bool | None = None
    tags: list[str] | None = None


class CollectionInfo(BaseModel):
    slug: str
    name: str | None = None
    description: str | None = None
    models: list[str] | None = None


class SearchResult(BaseModel):
    models: list[ModelHit]
    collections: list[CollectionInfo] | None = None
    notes: list[str] | None = None


class CollectionsResult(BaseModel):
    collections: list[CollectionInfo] | None = None
    slug: str | None = None
    name: str | None = None
    description: str | None = None
    models: list[ModelHit] | None = None


class ModelCard(BaseModel):
    model: str
    description: str | None = None
    official: bool = False
    version: str | None = None
    inputs: str
    output: str
    example_input: dict[str, Any] | None = None
    runs: int | None = None
    billing: str | None = None  # how it is billed, from the shipped price table
    cold_boot: str | None = None  # when a run may spend a while starting
    training_inputs: str | None = None  # a trainer's TrainingInput, in the same compact form
    versions: list[dict[str, str | None]] | None = None  # newest first: id, created_at
    docs: str | None = None  # its llms.txt or README, bounded


class Problem(BaseModel):
    field: str
    message: str
    allowed: Any = None
    suggestion: Any = None


class ValidationReport(BaseModel):
    model: str
    valid: bool
    errors: list[Problem] | None = None
    coercions: list[str] | None = None
    normalized_input: dict[str, Any] | None = None
    notes: list[str] | None = None


class OutputFile(BaseModel):
    url: str
    path: str | None = None
    mime_type: str | None = None
    resource: str | None = None


class PredictionResult(BaseModel):
    id: str
    status: str
    model: str | None = None
    output: str | dict[str, Any] | list[Any] | None = None  # text joined; an object output as an object
    files: list[OutputFile] | None = None
    error: str | None = None
    logs: str | None = None
    metrics: dict[str, Any] | None = None
    created_at: str | None = None
    next: str | None = None
    notes: list[str] | None = None


class IdProblem(BaseModel):
    id: str
    error: str


class WaitResult(BaseModel):
    finished: list[PredictionResult]
    running: list[PredictionResult]
    problems: list[IdProblem] | None = None
    unshown: list[str] | None = None
    next: str | None = None


class PredictionSummary(BaseModel):
    id: str
    status: str
    model: str | None = None
    created_at: str | None = None
    files: list[str] | None = None


class PredictionList(BaseModel):
    predictions: list[PredictionSummary]
    next_cursor: str | None = None


class UploadResult(BaseModel):
    url: str
    size: int
    sha256: str
    reused: bool
