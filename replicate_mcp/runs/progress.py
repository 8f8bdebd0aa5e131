"""Progress for a waiting tool: status changes, tqdm percentages from logs, previews of streamed text.

Values go 0..100 and strictly increase, as MCP requires; a new message with no new percentage still moves the
value a little so that clients show it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

TQDM_PERCENT = re.compile(r"(\d{1,3})%\|")
CEILING = 99.5

Report = Callable[[float, str], Awaitable[None]]


def tqdm_percent(logs: str | None) -> float | None:
    """The last tqdm-style `NN%|` percentage in the logs, if any."""
    if not logs:
        return None
    matches = TQDM_PERCENT.findall(logs[-2000:])
    return min(float(matches[-1]), 100.0) if matches else None


def text_preview(output: Any, width: int = 60) -> str | None:
    if isinstance(output, list) and output and all(isinstance(chunk, str) for chunk in output):
        text = "".join(output).strip()
        if text and not text.startswith(("http://", "https://", "data:")):
            return ("…" + text[-width:]) if len(text) > width else text
    return None


def describe(prediction: Any) -> tuple[float, str]:
    """A progress value and message for one prediction's current state."""
    status = prediction.status
    if status == "starting":
        return 5.0, "booting"
    if status == "processing":
        percent = tqdm_percent(prediction.logs)
        preview = text_preview(prediction.output)
        value = 10.0 + 0.85 * (percent or 0.0)
        message = f"running {percent:.0f}%" if percent is not None else "running"
        return value, f"{message}: {preview}" if preview else message
    return 100.0, status


class ProgressTracker:
    def __init__(self, report: Report | None):
        self._report = report
        self.value = 0.0
        self.message = ""

    async def emit(self, value: float, message: str) -> None:
        if value <= self.value:
            if message == self.message or self.value >= CEILING:
                return
            value = self.value + (CEILING - self.value) / 20
        self.value, self.message = min(value, 100.0), message
        if self._report is not None:
            await self._report(self.value, message)

    async def update(self, prediction: Any) -> None:
        value, message = describe(prediction)
        if not prediction.is_terminal:  # 100 is kept for the end
            value = min(value, CEILING)
        await self.emit(value, message)
