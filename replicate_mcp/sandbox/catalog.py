"""The sandbox's models and collections: real model objects from data/, each paired with a fake predictor."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .predictors import (
    GenericPredictor,
    HelloWorld,
    ImageGenerator,
    LanguageModel,
    LoraTrainer,
    Predictor,
    TextToVideo,
    Upscaler,
    Whisper,
)
from .validation import resolve

_DATA = resources.files(__package__).joinpath("data")
_STOPWORDS = {"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "with", "model", "models"}


@dataclass
class ModelEntry:
    owner: str
    name: str
    model: dict  # as GET /v1/models/{owner}/{name} answers
    versions: list[dict]  # newest first; [] for official models (their versions endpoint is 404)
    official: bool
    predictor: Predictor
    readme: str | None
    streams: bool  # output is an iterator: predictions offer urls.stream
    training_predictor: Predictor | None = None
    tags: list[str] = field(default_factory=list)  # for /v1/search metadata

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Catalog:
    models: dict[str, ModelEntry]
    collections: list[dict]

    def get(self, owner: str, name: str) -> ModelEntry | None:
        return self.models.get(f"{owner}/{name}")

    def find_version(self, version_id: str) -> tuple[ModelEntry, dict] | None:
        """Any listed version, or an official model's latest_version (runnable though not listed)."""
        for entry in self.models.values():
            for version in [*entry.versions, entry.model.get("latest_version") or {}]:
                if version.get("id") == version_id:
                    return entry, version
        return None

    def search(self, query: str, limit: int) -> list[tuple[ModelEntry, float]]:
        """Plain text match over owner, name, tags and description; best first."""
        words = re.findall(r"[a-z0-9][a-z0-9.:_-]*", query.lower())
        terms = [word for word in words if word not in _STOPWORDS] or words
        if not terms:
            return []
        scored = [(entry, _score(entry, terms, query.lower().strip())) for entry in self.models.values()]
        scored = [(entry, score) for entry, score in scored if score > 0]
        scored.sort(key=lambda item: (-item[1], -(item[0].model.get("run_count") or 0), item[0].key))
        return scored[: max(0, limit)]

    def input_schema_doc(self, entry: ModelEntry) -> dict:
        return entry.model["latest_version"]["openapi_schema"]


def _score(entry: ModelEntry, terms: list[str], phrase: str) -> float:
    fields = [
        (3.0, entry.name.lower()),
        (2.0, entry.owner.lower()),
        (2.0, " ".join(entry.tags).lower()),
        (1.0, (entry.model.get("description") or "").lower()),
    ]
    total = 0.0
    for term in terms:
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(term))
        total += max((weight for weight, text in fields if pattern.search(text)), default=0.0)
    if total == 0:
        return 0.0
    bonus = 2.0 if phrase in (entry.key.lower(), entry.name.lower()) else 0.0
    return round(total / len(terms) + bonus, 4)


def load_catalog(extra_files: Sequence[Path] = ()) -> Catalog:
    """Built-in models plus the models of each `--catalog` file (a JSON list or a page with `results`)."""
    meta = json.loads(_DATA.joinpath("catalog.json").read_text(encoding="utf-8"))
    known: dict[str, dict] = meta["models"]
    models: dict[str, ModelEntry] = {}
    for path in sorted(_DATA.joinpath("models").iterdir(), key=lambda item: item.name):
        if path.name.endswith(".json"):
            model = json.loads(path.read_text(encoding="utf-8"))
            key = f"{model['owner']}/{model['name']}"
            models[key] = _entry(model, known.get(key, {}))
    for path in extra_files:
        for model in _read_catalog_file(Path(path)):
            key = f"{model['owner']}/{model['name']}"
            info = dict(known.get(key, {}))
            if "is_official" in model:
                info["official"] = bool(model["is_official"])
            models[key] = _entry(model, info)
    collections = [
        {**collection, "models": [key for key in collection["models"] if key in models]}
        for collection in meta["collections"]
    ]
    return Catalog(models=models, collections=collections)


def _entry(model: dict, info: dict) -> ModelEntry:
    model = copy.deepcopy(model)
    official = bool(info.get("official", False))
    model["is_official"] = official
    latest = model["latest_version"]
    schema = latest["openapi_schema"]
    components = schema["components"]["schemas"]
    output = resolve(components.get("Output") or {}, components)
    return ModelEntry(
        owner=model["owner"],
        name=model["name"],
        model=model,
        versions=[] if official else [latest],
        official=official,
        predictor=_predictor(info.get("predictor", "generic"), model),
        readme=info.get("readme"),
        streams=output.get("type") == "array" and output.get("x-cog-array-type") == "iterator",
        training_predictor=LoraTrainer() if "TrainingInput" in components else None,
        tags=list(info.get("tags", [])),
    )


def _predictor(kind: str, model: dict) -> Predictor:
    if kind == "hello":
        return HelloWorld()
    if kind == "flux-schnell":
        return ImageGenerator(steps_per_second=5.0, load_seconds=0.25, default_steps=4)
    if kind == "sdxl":
        return ImageGenerator(
            steps_per_second=2.5, load_seconds=1.5, default_steps=50, log_style="sdxl", max_pixels=2048 * 2048
        )
    if kind == "flux-dev":  # 28 steps: about 4 s quantized (go_fast), 7 s in bf16
        return ImageGenerator(
            steps_per_second=7.0, unquantized_steps_per_second=4.0, load_seconds=0.5, default_steps=28
        )
    if kind == "llama-3-8b":
        return LanguageModel(tokens_per_second=90.0)
    if kind == "llama-3-70b":  # Replicate's default example: 166 tokens at 41.7 tokens/s
        return LanguageModel(tokens_per_second=42.0, time_to_first_token=0.1)
    if kind == "whisper":
        return Whisper()
    if kind == "video":
        return TextToVideo()
    if kind == "upscaler":
        return Upscaler()
    example_time = ((model.get("default_example") or {}).get("metrics") or {}).get("predict_time")
    duration = min(max(float(example_time), 0.5), 60.0) if isinstance(example_time, int | float) else 2.0
    return GenericPredictor(model["latest_version"]["openapi_schema"], duration=duration)


def _read_catalog_file(path: Path) -> list[dict]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"catalog file {path}: cannot read it ({error.strerror or error})") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"catalog file {path}: not valid JSON ({error})") from error
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        document = document["results"]
    elif isinstance(document, dict) and "owner" in document:
        document = [document]
    if not isinstance(document, list):
        raise ValueError(
            f"catalog file {path}: expected a JSON list of model objects or a page with 'results'"
        )
    for index, model in enumerate(document):
        _check_model(path, index, model)
    return document


def _check_model(path: Path, index: int, model: object) -> None:
    where = f"catalog file {path}: model #{index}"
    if not isinstance(model, dict):
        raise ValueError(f"{where} is not a JSON object")
    for key in ("owner", "name"):
        if not isinstance(model.get(key), str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", model[key]):
            raise ValueError(f"{where} has no valid '{key}'")
    where += f" ({model['owner']}/{model['name']})"
    latest = model.get("latest_version")
    if not isinstance(latest, dict) or not isinstance(latest.get("id"), str) or not latest["id"]:
        raise ValueError(f"{where} has no latest_version with an id")
    schemas = ((latest.get("openapi_schema") or {}).get("components") or {}).get("schemas") or {}
    if not isinstance(schemas.get("Input"), dict):
        raise ValueError(f"{where} has no latest_version.openapi_schema with components.schemas.Input")
    try:
        for name in ("Input", "Output"):
            for prop in (resolve(schemas.get(name) or {}, schemas).get("properties") or {}).values():
                resolve(prop, schemas)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from error
