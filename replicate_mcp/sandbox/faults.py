"""Fault injection: seeded random rates plus a deterministic queue, both set by the control API."""

from __future__ import annotations

import random
from dataclasses import dataclass

# *_after: handled first; then the answer is lost (drop_after, 500_after) or held back (slow_after)
KINDS = ("402", "404", "429", "500", "503", "drop", "drop_after", "500_after", "slow", "slow_after")
# 404: Replicate's "not found", e.g. a prediction that can no longer be followed
RATE_KINDS = ("429", "500", "503", "drop", "slow")


@dataclass
class QueuedFault:
    kind: str
    method: str | None
    path: str
    count: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and path.startswith(self.path)


class Faults:
    def __init__(self, rates: dict[str, float], seed: int | None) -> None:
        self.rates = {kind: 0.0 for kind in RATE_KINDS}
        self.rates.update(rates)
        self.queue: list[QueuedFault] = []
        self._rng = random.Random(None if seed is None else seed + 2)

    def configure(self, body: dict) -> None:
        for kind, rate in (body.get("rates") or {}).items():
            if kind not in RATE_KINDS:
                raise ValueError(f"unknown fault rate {kind!r}; use one of {', '.join(RATE_KINDS)}")
            self.rates[kind] = float(rate)
        for entry in body.get("queue") or []:
            kind = str(entry.get("kind"))
            if kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
            self.queue.append(
                QueuedFault(kind, entry.get("method"), entry.get("path") or "/", int(entry.get("count", 1)))
            )

    def clear(self) -> None:
        self.rates = {kind: 0.0 for kind in RATE_KINDS}
        self.queue.clear()

    def describe(self) -> dict:
        return {"rates": dict(self.rates), "queue": [vars(q).copy() for q in self.queue]}

    def pick(self, method: str, path: str) -> str | None:
        """The fault to apply to this request, if any:
        queued entries first, then the random rates (API paths only)."""
        for entry in self.queue:
            if entry.matches(method, path):
                entry.count -= 1
                if entry.count <= 0:
                    self.queue.remove(entry)
                return entry.kind
        if not path.startswith("/v1/"):
            return None
        roll = self._rng.random()
        for kind in RATE_KINDS:
            rate = self.rates.get(kind, 0.0)
            if roll < rate:
                return kind
            roll -= rate
        return None
