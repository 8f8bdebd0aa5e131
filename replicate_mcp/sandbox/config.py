"""Settings of a sandbox server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SandboxConfig:
    time_scale: float = 1.0  # wall seconds per model second: 0.01 runs a "60 s" model in 0.6 s
    seed: int | None = None  # determinism (ids, outputs, faults)
    cold_boot: float = 1.0  # model seconds spent in `starting`
    data_retention: float = 3600.0  # model seconds after completion before input/output/logs are removed
    token: str | None = None  # if set, only this token is valid; else any token starting with "r8_"
    create_limit: int = 600  # creates per minute (per token)
    other_limit: int = 3000  # other requests per minute (per token)
    catalog_files: list[Path] = field(default_factory=list)  # extra --catalog files
    fault_429: float = 0.0
    fault_500: float = 0.0
    fault_503: float = 0.0
    fault_drop: float = 0.0
    fault_slow: float = 0.0
    slow_seconds: float = 2.0  # wall seconds a "slow" fault holds a request
    webhook_retries: int = 3
    allow_insecure_webhooks: bool = (
        False  # accept and deliver http:// webhooks (Replicate takes https:// only)
    )
    accounts: dict[str, str] = field(
        default_factory=dict
    )  # token -> username; others derived (see accounts.py)

    def wall(self, model_seconds: float) -> float:
        return max(0.0, model_seconds) * self.time_scale
