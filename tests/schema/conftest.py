"""The 15 real model-version schemas in tests/schema/data (sources in its README) and their models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from replicate_mcp.schema import ModelSchema, load_schema

DATA = Path(__file__).parent / "data"

# schema file stem -> the model file whose latest_version is that schema (None: no model object was published)
MODEL_FILES = {
    "black-forest-labs__flux-1.1-pro": "black-forest-labs__flux-1.1-pro.model.json",
    "black-forest-labs__flux-dev": "black-forest-labs__flux-dev.model.json",
    "black-forest-labs__flux-schnell": "black-forest-labs__flux-schnell.model.json",
    "bytedance__sdxl-lightning-4step": "bytedance__sdxl-lightning-4step.model.json",
    "lucataco__flux-dev-lora": "lucataco__flux-dev-lora.model.json",
    "meta__llama-2-70b-chat.full-with-paths.02e509c7": None,
    "meta__meta-llama-3-70b-instruct": "meta__meta-llama-3-70b-instruct.model.json",
    "meta__meta-llama-3-8b-instruct.full-with-paths.2024": "meta__meta-llama-3-8b-instruct.model.2024.json",
    "meta__meta-llama-3-8b-instruct": "meta__meta-llama-3-8b-instruct.model.json",
    "openai__whisper": "openai__whisper.model.json",
    "ostris__flux-dev-lora-trainer": "ostris__flux-dev-lora-trainer.model.json",
    "replicate__hello-world": "replicate__hello-world.model.json",
    "stability-ai__sdxl.full-with-paths.7762fd07": "stability-ai__sdxl.model.json",
    "stability-ai__sdxl": "stability-ai__sdxl.model.json",
    "stability-ai__stable-diffusion": "stability-ai__stable-diffusion.model.json",
}
SCHEMA_NAMES = sorted(MODEL_FILES)


def read_json(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def raw_doc(name: str) -> dict:
    return read_json(f"{name}.json")


def model_doc(name: str) -> dict | None:
    return read_json(MODEL_FILES[name]) if MODEL_FILES[name] else None


def raw_properties(doc: dict, component: str = "Input") -> dict[str, dict]:
    """Input properties resolved the simple way Cog writes them (allOf: [$ref]),
    independent of the package."""
    schemas = doc["components"]["schemas"]
    out = {}
    for name, prop in schemas[component]["properties"].items():
        merged = dict(prop)
        for part in prop.get("allOf", []):
            merged = {
                **schemas[part["$ref"].rsplit("/", 1)[-1]],
                **{k: v for k, v in prop.items() if k != "allOf"},
            }
        out[name] = merged
    return out


@pytest.fixture(params=SCHEMA_NAMES)
def schema_name(request) -> str:
    return request.param


@pytest.fixture
def schema(schema_name) -> ModelSchema:
    return load_schema(raw_doc(schema_name))


@pytest.fixture(scope="session")
def flux_dev() -> ModelSchema:
    return load_schema(raw_doc("black-forest-labs__flux-dev"), version_id="test:flux-dev")
