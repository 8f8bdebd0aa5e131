"""A predictor for any Cog schema: output shaped after the schema's Output (or TrainingOutput)."""

from __future__ import annotations

import random
from typing import Any

from ..validation import resolve
from .base import Event, OutputFile, Plan, finish, progress_events
from .media import choose_seed, image_file, requested_size, weights_tarball
from .text import compose_reply, tokenize


class GenericPredictor:
    """Takes about `duration` model seconds; files become small images (or a tarball for weights)."""

    def __init__(self, openapi_schema: dict, *, duration: float = 2.0, schema_name: str = "Output"):
        self.components = (openapi_schema.get("components") or {}).get("schemas") or {}
        self.output_schema = resolve(self.components.get(schema_name) or {}, self.components)
        self.duration = duration

    def plan(self, input: dict, rng: random.Random) -> Plan:
        seed = choose_seed(input, rng)
        events: list[Event] = [Event(at=0.0, logs=f"Using seed: {seed}\n")]
        steps = input.get("num_inference_steps") or input.get("steps")
        if isinstance(steps, int) and steps > 0:
            progress, _ = progress_events(0.1, steps, steps / (self.duration * 0.8), rng)
            events += progress
        output = self._make(self.output_schema, input, rng, f"{input.get('prompt')}|{seed}", "out")
        if self.output_schema.get("x-cog-array-type") == "iterator" and isinstance(output, list):
            spacing = self.duration * 0.9 / max(1, len(output))
            events += [Event(at=0.1 + index * spacing, chunk=chunk) for index, chunk in enumerate(output)]
        return finish(self.duration, events, output=output)

    def _make(self, schema: dict, input: dict, rng: random.Random, pattern: str, stem: str) -> Any:
        schema = resolve(schema, self.components)
        kind = schema.get("type")
        if kind == "array":
            item = resolve(schema.get("items") or {}, self.components)
            if item.get("type") == "string" and item.get("format") != "uri":
                limit = int(input.get("max_tokens") or input.get("max_new_tokens") or 512)
                return tokenize(compose_reply(str(input.get("prompt") or ""), rng))[: max(1, limit)]
            count = int(input.get("num_outputs") or 1) if item.get("format") == "uri" else 1
            return [
                self._make(item, input, rng, f"{pattern}|{index}", f"{stem}-{index}")
                for index in range(count)
            ]
        if kind == "string":
            if schema.get("format") == "uri":
                return self._file(input, pattern, stem)
            return compose_reply(str(input.get("prompt") or ""), rng)
        if kind == "object":
            properties = schema.get("properties") or {}
            return {
                name: self._make(prop, input, rng, f"{pattern}|{name}", name)
                for name, prop in properties.items()
            }
        if kind == "integer":
            return rng.randint(0, 100)
        if kind == "number":
            return round(rng.random(), 4)
        if kind == "boolean":
            return True
        return None

    def _file(self, input: dict, pattern: str, stem: str) -> OutputFile:
        if "weights" in stem:
            return OutputFile(
                f"{stem}.tar", "application/x-tar", weights_tarball("lora.safetensors", pattern)
            )
        width, height = requested_size(input)
        return image_file(
            stem,
            max(16, width),
            max(16, height),
            str(input.get("output_format") or "png"),
            pattern,
            int(input.get("output_quality", 80)),
        )
