"""Everything one sandbox app holds, in one place (the app's `state.sandbox`)."""

from __future__ import annotations

from collections import Counter

from .catalog import load_catalog
from .config import SandboxConfig
from .engine import Engine
from .faults import Faults
from .ratelimit import RateLimiter
from .records import StoredFile
from .registry import Registry


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalog = load_catalog(config.catalog_files)
        self.registry = Registry(self.catalog)
        self.engine = Engine(config)
        self.limiter = RateLimiter(config.create_limit, config.other_limit)
        self.faults = Faults(
            {
                "429": config.fault_429,
                "500": config.fault_500,
                "503": config.fault_503,
                "drop": config.fault_drop,
                "slow": config.fault_slow,
            },
            config.seed,
        )
        self.requests: Counter[str] = Counter()
        self.files: dict[str, StoredFile] = {}

    def stats(self) -> dict:
        requests = dict(self.requests)
        return {"requests": requests, "total": sum(requests.values())}

    def reset_stats(self) -> None:
        self.requests.clear()
