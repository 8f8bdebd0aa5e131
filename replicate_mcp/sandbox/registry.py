"""Models, versions, collections and deployments the sandbox knows: the catalog plus what clients create."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .accounts import HOUSE_ACCOUNT, account_json
from .catalog import Catalog, ModelEntry
from .util import iso, now

ACCOUNT = HOUSE_ACCOUNT
HARDWARE = [
    {"name": "CPU", "sku": "cpu"},
    {"name": "Nvidia T4 GPU", "sku": "gpu-t4"},
    {"name": "Nvidia L40S GPU", "sku": "gpu-l40s"},
    {"name": "2x Nvidia L40S GPU", "sku": "gpu-l40s-2x"},
    {"name": "Nvidia A100 (80GB) GPU", "sku": "gpu-a100-large"},
    {"name": "Nvidia H100 GPU", "sku": "gpu-h100"},
]
SEED_DEPLOYMENT = ("hello-world-dep", "replicate/hello-world")  # every account starts with one


@dataclass
class CreatedModel:
    """A model made through POST /v1/models (no versions until a training pushes one)."""

    owner: str
    name: str
    model: dict
    versions: list[dict] = field(default_factory=list)
    official: bool = False
    predictor: Any = None
    readme: str | None = None
    streams: bool = False
    training_predictor: Any = None
    account: str | None = None  # the username that created it: the only one who sees it while private


class Registry:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.created: dict[str, CreatedModel] = {}
        self.deleted: set[str] = set()
        self.extra_versions: dict[
            str, list[dict]
        ] = {}  # model key -> versions pushed by trainings, newest first
        self.trained: dict[str, ModelEntry] = {}  # version id -> entry whose predictor runs it
        self.model_patches: dict[str, dict] = {}
        self.deployments: dict[str, dict] = {}
        self.accounts: set[str] = set()  # usernames seen, each given its seed deployment once

    # --- models ---------------------------------------------------------------------------------

    def entry(self, owner: str, name: str) -> ModelEntry | CreatedModel | None:
        key = f"{owner}/{name}"
        if key in self.deleted:
            return None
        return self.created.get(key) or self.catalog.get(owner, name)

    def visible(self, entry: ModelEntry | CreatedModel, username: str) -> bool:
        """Catalog and public models are everyone's; a private model is its creator's alone."""
        return (
            not isinstance(entry, CreatedModel)
            or entry.account in (None, username)
            or entry.model.get("visibility") != "private"
        )

    def all_entries(self) -> list[ModelEntry | CreatedModel]:
        entries = [e for k, e in self.catalog.models.items() if k not in self.deleted]
        return entries + list(self.created.values())

    def model_json(self, entry: ModelEntry | CreatedModel) -> dict:
        key = f"{entry.owner}/{entry.name}"
        model = copy.deepcopy(entry.model)
        model.update(self.model_patches.get(key, {}))
        if self.extra_versions.get(key):
            model["latest_version"] = copy.deepcopy(self.extra_versions[key][0])
        return model

    def versions(self, entry: ModelEntry | CreatedModel) -> list[dict]:
        return self.extra_versions.get(f"{entry.owner}/{entry.name}", []) + list(entry.versions)

    def find_version(self, version_id: str) -> tuple[ModelEntry | CreatedModel, dict, ModelEntry] | None:
        """(model the version belongs to, version object, entry whose predictor runs it)."""
        if version_id in self.trained:
            for key, versions in self.extra_versions.items():
                for version in versions:
                    if version["id"] == version_id:
                        owner, name = key.split("/", 1)
                        owning = self.entry(owner, name)
                        if owning is not None:
                            return owning, version, self.trained[version_id]
        found = self.catalog.find_version(version_id)
        if found is None or f"{found[0].owner}/{found[0].name}" in self.deleted:
            return None
        return found[0], found[1], found[0]

    def create_model(self, body: dict, account: str | None = None) -> dict:
        owner, name = body["owner"], body["name"]
        model = {
            "url": f"https://replicate.com/{owner}/{name}",
            "owner": owner,
            "name": name,
            "description": body.get("description"),
            "visibility": body.get("visibility", "public"),
            "github_url": body.get("github_url"),
            "paper_url": body.get("paper_url"),
            "license_url": body.get("license_url"),
            "run_count": 0,
            "cover_image_url": body.get("cover_image_url"),
            "default_example": None,
            "latest_version": None,
            "is_official": False,
            "created_at": iso(now()),
        }
        self.deleted.discard(f"{owner}/{name}")
        self.created[f"{owner}/{name}"] = CreatedModel(owner=owner, name=name, model=model, account=account)
        return model

    def update_model(self, entry: ModelEntry | CreatedModel, body: dict) -> dict:
        key = f"{entry.owner}/{entry.name}"
        fields = {
            k: v
            for k, v in body.items()
            if k in ("description", "github_url", "license_url", "paper_url", "weights_url")
        }
        self.model_patches.setdefault(key, {}).update(fields)
        if "readme" in body and isinstance(entry, CreatedModel):
            entry.readme = body["readme"]
        return self.model_json(entry)

    def delete_model(self, entry: ModelEntry | CreatedModel) -> None:
        key = f"{entry.owner}/{entry.name}"
        self.created.pop(key, None)
        self.deleted.add(key)

    def push_version(
        self, destination: ModelEntry | CreatedModel, version: dict, runs_with: ModelEntry
    ) -> None:
        key = f"{destination.owner}/{destination.name}"
        self.extra_versions.setdefault(key, []).insert(0, version)
        self.trained[version["id"]] = runs_with

    # --- deployments ----------------------------------------------------------------------------

    def open_account(self, username: str) -> None:
        """The first request of an account gives it its seed deployment."""
        if username in self.accounts:
            return
        self.accounts.add(username)
        owner, (name, model_key) = username, SEED_DEPLOYMENT
        entry = self.catalog.models.get(model_key)
        if entry is not None and entry.versions and f"{owner}/{name}" not in self.deployments:
            self.create_deployment(
                owner,
                {
                    "name": name,
                    "model": model_key,
                    "version": entry.versions[0]["id"],
                    "hardware": "cpu",
                    "min_instances": 0,
                    "max_instances": 1,
                },
            )

    def create_deployment(self, owner: str, body: dict) -> dict:
        deployment = {"owner": owner, "name": body["name"], "current_release": {}}
        self.deployments[f"{owner}/{body['name']}"] = deployment
        self._release(deployment, body)
        return deployment

    def update_deployment(self, deployment: dict, body: dict) -> dict:
        self._release(deployment, body)
        return deployment

    def _release(self, deployment: dict, body: dict) -> None:
        previous = deployment["current_release"] or {}
        config = dict(previous.get("configuration") or {})
        for key in ("hardware", "min_instances", "max_instances"):
            if key in body:
                config[key] = body[key]
        deployment["current_release"] = {
            "number": previous.get("number", 0) + 1,
            "model": body.get("model", previous.get("model")),
            "version": body.get("version", previous.get("version")),
            "created_at": iso(now()),
            "created_by": account_json(deployment["owner"]),
            "configuration": config,
        }
