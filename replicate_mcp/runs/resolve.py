"""Turn a model reference into something we can validate against and create a prediction for."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from replicate_mcp.api import NotFoundError, ReplicateClient
from replicate_mcp.runs.refs import ModelRef, parse_ref
from replicate_mcp.schema import ModelSchema, load_schema

MODEL_TTL = 300.0


class UnresolvableModel(LookupError):
    pass


@dataclass(frozen=True)
class Target:
    """Where a prediction goes and what its input must look like."""

    slug: str
    version_id: str | None
    official: bool
    schema: ModelSchema
    create_args: dict[str, str] = field(hash=False)
    default_input: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    model: str | None = None  # owner/name of the model that runs (a deployment's slug is not one)

    @property
    def label(self) -> str:
        return f"{self.slug}:{self.version_id[:12]}" if self.version_id and not self.official else self.slug


class ModelResolver:
    """Resolves references with a short-lived model cache; a version's schema never changes, so it is kept."""

    def __init__(self, client: ReplicateClient, *, ttl: float = MODEL_TTL):
        self._client = client
        self._ttl = ttl
        self._models: dict[str, tuple[float, Any]] = {}
        self._lookups: dict[str, anyio.Lock] = {}
        self._by_version: dict[str, Target] = {}

    async def model(self, owner: str, name: str) -> Any:
        key = f"{owner}/{name}".lower()
        async with self._lookups.setdefault(key, anyio.Lock()):  # concurrent calls share one lookup
            cached = self._models.get(key)
            if cached and time.monotonic() - cached[0] < self._ttl:
                return cached[1]
            model = await self._client.get_model(owner, name)
            self._models[key] = (time.monotonic(), model)
            return model

    async def resolve(self, text: str) -> Target:
        ref = parse_ref(text)
        if ref.owner is None or ref.name is None:  # a bare version id
            return self._known_version(ref.version or "")
        if ref.deployment:
            return await self._deployment(ref, ref.owner, ref.name)
        if ref.version:
            version = await self._client.get_model_version(ref.owner, ref.name, ref.version)
            return self._remember(
                _target(
                    ref.slug,
                    version.id,
                    False,
                    version.openapi_schema,
                    {"version": f"{ref.slug}:{version.id}"},
                )
            )
        return self._from_model(await self.model(ref.owner, ref.name))

    def _from_model(self, model: Any) -> Target:
        slug = f"{model.owner}/{model.name}"
        latest = model.latest_version
        if latest is None or not latest.openapi_schema:
            raise UnresolvableModel(f"{slug} has no published version to run")
        official = bool(model.is_official)  # official models run through their model endpoint
        create_args = {"model": slug} if official else {"version": f"{slug}:{latest.id}"}
        return self._remember(
            _target(slug, latest.id, official, latest.openapi_schema, create_args, _example_input(model))
        )

    async def _deployment(self, ref: ModelRef, owner: str, name: str) -> Target:
        deployment = await self._client.get_deployment(owner, name)
        release = deployment.current_release.model_dump() if deployment.current_release is not None else {}
        model_slug, version_id = release.get("model", ""), release.get("version", "")
        owner, _, name = model_slug.partition("/")
        try:
            version = await self._client.get_model_version(owner, name, version_id)
        except NotFoundError:
            raise UnresolvableModel(
                f"deployment {ref.slug} points at {model_slug}:{version_id}, which cannot be read"
            ) from None
        target = _target(str(ref), version.id, False, version.openapi_schema, {"deployment": ref.slug})
        return dataclasses.replace(target, model=model_slug)

    def _known_version(self, version_id: str) -> Target:
        target = self._by_version.get(version_id)
        if target is None:
            raise UnresolvableModel(
                f"version {version_id[:12]}… is not known to this server, so its input cannot be checked; "
                "pass it as owner/name:<version id>"
            )
        return target

    def _remember(self, target: Target) -> Target:
        if target.version_id:
            self._by_version[target.version_id] = target
        return target


def _target(slug, version_id, official, openapi_schema, create_args, example=None) -> Target:
    schema = load_schema(openapi_schema, version_id)
    if example:  # examples recorded on older versions may name inputs the latest one dropped
        known = {f.name for f in schema.fields}
        example = {k: v for k, v in example.items() if k in known}
    return Target(slug, version_id, official, schema, create_args, example, model=slug)


def _example_input(model: Any) -> dict[str, Any] | None:
    example = getattr(model, "default_example", None)
    if isinstance(example, dict):
        value = example.get("input")
    else:
        value = getattr(example, "input", None)
    return value if isinstance(value, dict) else None
