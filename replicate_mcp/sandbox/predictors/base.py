"""The contract between fake models and the engine: a predictor turns a validated input into a Plan."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class OutputFile:
    """A file the engine stores and replaces by its absolute URL in the output."""

    name: str
    content_type: str
    data: bytes


@dataclass
class Event:
    at: float  # model seconds after processing starts
    logs: str | None = None  # text appended to logs, with trailing "\n"
    chunk: Any = None  # for iterator outputs: appended to the output list


@dataclass
class Plan:
    duration: float  # model seconds in `processing`
    events: list[Event]  # sorted by `at`, all at <= duration
    output: Any = None  # final output; for iterators the full list of chunks
    error: str | None = None  # set: the prediction ends `failed`
    metrics: dict = field(default_factory=dict)


class Predictor(Protocol):
    def plan(self, input: dict, rng: random.Random) -> Plan: ...


def finish(duration: float, events: list[Event], **kwargs: Any) -> Plan:
    events = sorted(events, key=lambda event: event.at)
    duration = max([duration, *(event.at for event in events)])
    return Plan(duration=round(duration, 3), events=events, **kwargs)


# ---------------------------------------------------------------- progress logs (tqdm look-alike)

_BAR_CHARS = " ▏▎▍▌▋▊▉█"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def tqdm_line(done: int, total: int, elapsed: float, rate: float, unit: str = "it", desc: str = "") -> str:
    """One progress line as tqdm prints it, e.g. `  4%|▍         | 2/50 [00:00<00:05,  9.10it/s]`."""
    fraction = done / total if total else 1.0
    full, partial = divmod(int(fraction * 10 * 8), 8)
    bar = _BAR_CHARS[-1] * full
    if full < 10:
        bar += _BAR_CHARS[partial] + " " * (10 - full - 1)
    if done == 0:
        timing = f"[{_clock(elapsed)}<?, ?{unit}/s]"
    else:
        timing = f"[{_clock(elapsed)}<{_clock((total - done) / rate)}, {rate:5.2f}{unit}/s]"
    return f"{desc}{fraction * 100:3.0f}%|{bar}| {done}/{total} {timing}\n"


def progress_events(
    start: float,
    total: int,
    rate: float,
    rng: random.Random,
    *,
    unit: str = "it",
    desc: str = "",
    max_lines: int = 60,
) -> tuple[list[Event], float]:
    """tqdm lines for `total` steps at about `rate` steps/s from `start`; returns (events, end time)."""
    stride = max(1, math.ceil(total / max_lines))
    events = [Event(at=start, logs=tqdm_line(0, total, 0.0, rate, unit, desc))]
    elapsed = 0.0
    for step in range(1, total + 1):
        elapsed += rng.uniform(0.92, 1.08) / rate
        if step % stride == 0 or step == total:
            events.append(
                Event(at=start + elapsed, logs=tqdm_line(step, total, elapsed, step / elapsed, unit, desc))
            )
    return events, start + elapsed
