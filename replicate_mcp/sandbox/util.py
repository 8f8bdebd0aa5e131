"""Small helpers: timestamps, ids, durations."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def now() -> float:
    return time.time()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def new_id(rng: random.Random, length: int = 26) -> str:
    return "".join(rng.choice(_ID_ALPHABET) for _ in range(length))


def new_hex(rng: random.Random, length: int = 64) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def parse_duration(text: str) -> float | None:
    """`30s`, `5m`, `1h30m`, `90` (seconds) -> seconds; None if unparsable."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    match = _DURATION.match(text)
    if not text or not match:
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds
