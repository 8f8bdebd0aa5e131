"""P6: input validation speed, from validation_speed."""

from __future__ import annotations

from .common import Figure
from .validation_speed import measure

TARGET_US = 50


async def run(quick: bool) -> list[Figure]:
    n = 500 if quick else 2000
    figures = measure(n)
    warm = figures["warm_validate_us_median"]
    return [
        Figure(
            "P6",
            "warm validation, flux-dev default input (median)",
            f"{warm:.1f} µs",
            f"<= {TARGET_US} µs",
            warm <= TARGET_US,
            f"plain jsonschema iter_errors {figures['jsonschema_iter_errors_us_median']:.1f} µs",
            n,
            figures,
        ),
        Figure(
            "P6",
            "cold schema load+compile (median)",
            f"{figures['cold_compile_ms_median']:.2f} ms",
            "",
            None,
            f"max {figures['cold_compile_ms_max']:.2f} ms over {figures['schemas']} real schemas",
            figures["schemas"],
        ),
    ]
