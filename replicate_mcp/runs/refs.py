"""Model references as agents write them:
owner/name, owner/name:version, a bare version id, deployments/owner/name."""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PREDICTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
FORMS = "owner/name, owner/name:<64-hex version>, a 64-hex version id, or deployments/owner/name"
ID_FORM = "letters and digits, like 'gm3qorzdhgbfurvjtvhg6dckhu' (list_predictions shows recent ones)"


class BadReference(ValueError):
    pass


@dataclass(frozen=True)
class ModelRef:
    owner: str | None = None
    name: str | None = None
    version: str | None = None
    deployment: bool = False

    @property
    def slug(self) -> str | None:
        return f"{self.owner}/{self.name}" if self.owner else None

    def __str__(self) -> str:
        if self.deployment:
            return f"deployments/{self.slug}"
        if self.slug and self.version:
            return f"{self.slug}:{self.version}"
        return self.slug or self.version or ""


def shown(text: str, limit: int = 80) -> str:
    """`text` quoted for an error message: control characters escaped, long text cut."""
    quoted = repr(text)
    return quoted if len(quoted) <= limit else f"{quoted[: limit - 1]}… ({len(text):,} characters)"


def check_prediction_id(text: str, what: str = "id") -> str:
    """A prediction id as Replicate writes them; anything else is refused before it reaches a URL."""
    if not isinstance(text, str) or not PREDICTION_ID.match(text):
        raise BadReference(f"{what} {shown(text)} is not a prediction id; an id is {ID_FORM}")
    return text


def check_slug(text: str, what: str) -> str:
    if not SLUG.match(text):
        raise BadReference(
            f"{what} {shown(text)} is not a valid slug: letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, at most 100 characters"
        )
    return text


def parse_ref(text: str) -> ModelRef:
    raw = text.strip().removeprefix("https://replicate.com/").strip("/")
    if VERSION_ID.match(raw):
        return ModelRef(version=raw)
    deployment = raw.startswith("deployments/")
    raw = raw.removeprefix("deployments/")
    slug, _, version = raw.partition(":")
    owner, _, name = slug.partition("/")
    if not (SLUG.match(owner) and SLUG.match(name)) or (version and not VERSION_ID.match(version)):
        raise BadReference(f"{shown(text)} is not a model reference; use {FORMS}")
    if deployment and version:
        raise BadReference(f"{shown(text)}: a deployment runs its own pinned version; drop ':{version}'")
    return ModelRef(owner=owner, name=name, version=version or None, deployment=deployment)
