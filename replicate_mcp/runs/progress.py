"""Progress for a waiting tool: status changes, percentages read from logs,
the latest log line, streamed text.

Values go 0..100 and strictly increase, as MCP requires; a new message with no new percentage still moves the
value a little so that clients show it.

Percentages come from the forms models print: tqdm bars (`45%|████`), tqdm counters without a bar
(`12/50 [00:03<00:09, ...]`, `12/50 3.90it/s`), `step 12/50`, `Step 12 of 50`, `epoch 3/10`, `[12/50]`, and a
plain `NN%` ending a line. The last figure in the logs wins; a figure above 100 %, a `0/0`, a date or a time
never counts. tqdm redraws its line with `\\r`, so lines are split on `\\r` as well as `\\n`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

CEILING = 99.5
MESSAGE_WIDTH = 80
LOG_TAIL = 8000  # characters of the logs scanned: progress is at their end

Report = Callable[[float, str], Awaitable[None]]

_LINE_BREAK = re.compile(r"[\r\n]+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TQDM_BAR = re.compile(r"(?<![\d.])(\d{1,3})%\|[^|]*\|")
_FRACTIONS = (
    # a tqdm counter, told apart from dates by the `[elapsed<remaining` or the rate that follows it
    re.compile(
        r"(?<![\d/.:])(\d+)/(\d+)(?=\s*\[\d+:\d+(?::\d+)?<|\s+(?:\d+(?:\.\d+)?\s*)?(?:[A-Za-z]+/s|s/[A-Za-z]+)\b)"
    ),
    re.compile(
        r"\b(?:step|epoch|iteration|iter|batch|frame|tile|chunk|segment|sample|image)s?\s*:?\s*"
        r"(\d+)\s*(?:/|of)\s*(\d+)(?!\d|[/.:]\d)",
        re.IGNORECASE,
    ),
    re.compile(r"\[\s*(\d+)\s*/\s*(\d+)\s*\]"),
)
_WORD = re.compile(r"\w")
_LINE_END_PERCENT = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*%\s*$")


def log_lines(logs: str | None) -> list[str]:
    """The lines of the end of the logs, as a terminal would show them
    (tqdm's `\\r` rewrites count as lines)."""
    if not logs:
        return []
    return [_ANSI.sub("", line) for line in _LINE_BREAK.split(logs[-LOG_TAIL:])]


def line_percent(line: str) -> float | None:
    """The progress figure one log line shows, if any: a tqdm bar first, else the rightmost counter."""
    bars = [float(match.group(1)) for match in _TQDM_BAR.finditer(line)]
    if bars:
        return bars[-1] if bars[-1] <= 100 else None
    found: list[tuple[int, float | None]] = []
    for pattern in _FRACTIONS:
        for match in pattern.finditer(line):
            done, total = int(match.group(1)), int(match.group(2))
            found.append((match.start(), 100.0 * done / total if 0 < total and done <= total else None))
    if found:
        return max(found, key=lambda item: item[0])[1]
    end = _LINE_END_PERCENT.search(line)
    if end is not None and line.count("%") == 1:  # "cache usage: 0.0%, other usage: 0.0%" is not progress
        value = float(end.group(1))
        return value if value <= 100 else None
    return None


def log_percent(logs: str | None) -> float | None:
    """The last progress percentage in the logs, if any."""
    for line in reversed(log_lines(logs)):
        percent = line_percent(line)
        if percent is not None:
            return percent
    return None


tqdm_percent = log_percent  # the older name


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def last_log_line(logs: str | None) -> str | None:
    """The last log line with a word in it, trimmed, without tqdm's bar, shortened for a progress message."""
    for line in reversed(log_lines(logs)):
        line = " ".join(_TQDM_BAR.sub(" ", line).split())
        if _WORD.search(line):  # a line of only punctuation says nothing
            return shorten(line)
    return None


def text_tail(output: Any, width: int = MESSAGE_WIDTH) -> str | None:
    """The end of the text a streaming model has produced so far (an output list of string chunks)."""
    if isinstance(output, list) and output and all(isinstance(chunk, str) for chunk in output):
        text = " ".join("".join(output).split())
        if text and not text.startswith(("http://", "https://", "data:")):
            return ("…" + text[-(width - 1) :].lstrip()) if len(text) > width else text
    return None


def describe(prediction: Any) -> tuple[float, str]:
    """A progress value and message for one prediction's current state."""
    status = prediction.status
    if status == "starting":
        line = last_log_line(prediction.logs)
        return 5.0, f"booting: {line}" if line else "booting"
    if status == "processing":
        percent = log_percent(prediction.logs)
        detail = text_tail(prediction.output) or last_log_line(prediction.logs)
        value = 10.0 + 0.85 * (percent or 0.0)
        head = f"running {percent:.0f}%" if percent is not None else "running"
        return value, f"{head}: {detail}" if detail else head
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
