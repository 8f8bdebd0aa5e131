"""Create, wait, cancel: the prediction lifecycle within a caller's time budget.

A create is sent once with `Prefer: wait` so that a prediction finishing inside the window costs one request;
past that, polls back off and never sleep beyond the budget. The create itself is shielded from cancellation:
if the caller gives up while it is in flight, we still learn the id and can cancel it upstream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from replicate_mcp.api import Prediction, ReplicateClient
from replicate_mcp.runs.progress import ProgressTracker, Report
from replicate_mcp.runs.resolve import Target

log = logging.getLogger(__name__)

MAX_PREFER_WAIT = 60
HEARTBEAT = 2.0
CLEANUP_SECONDS = 5.0

Hook = Callable[[Prediction], Awaitable[None]]


@dataclass
class Run:
    """What a waiting tool knows so far; `prediction` is set the moment the create returns."""

    prediction: Prediction | None = None


class Lifecycle:
    def __init__(
        self,
        client: ReplicateClient,
        *,
        poll_initial: float = 0.5,
        poll_max: float = 5.0,
        on_seen: Hook | None = None,
    ):
        self._client = client
        self._poll_initial = poll_initial
        self._poll_max = poll_max
        self._on_seen = on_seen

    async def create(
        self,
        target: Target,
        input: dict[str, Any],
        *,
        run: Run,
        wait: float | None = None,
        tracker: ProgressTracker | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        cancel_after: str | None = None,
        on_created: Hook | None = None,
    ) -> Prediction:
        prefer = max(1, min(MAX_PREFER_WAIT, int(wait))) if wait else None
        async with anyio.create_task_group() as heartbeat_group:
            if tracker is not None:
                heartbeat_group.start_soon(_heartbeat, tracker, "submitted" if prefer is None else "waiting for the model")
            with anyio.CancelScope(shield=True):
                prediction = await self._client.create_prediction(
                    input=input,
                    wait=prefer,
                    webhook=webhook,
                    webhook_events_filter=webhook_events_filter,
                    cancel_after=cancel_after,
                    **target.create_args,
                )
                run.prediction = prediction
                if on_created is not None:
                    await on_created(prediction)
            heartbeat_group.cancel_scope.cancel()
        if tracker is not None:
            await tracker.update(prediction)
        return prediction

    async def wait(self, prediction: Prediction, *, deadline: float, tracker: ProgressTracker | None = None) -> Prediction:
        """Poll until terminal or `deadline` (anyio clock); returns the last state seen."""
        delay = self._poll_initial
        while not prediction.is_terminal:
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                break
            await anyio.sleep(min(delay, remaining))
            prediction = await self.refresh(prediction.id)
            if tracker is not None:
                await tracker.update(prediction)
            delay = min(delay * 1.5, self._poll_max)
        return prediction

    async def refresh(self, prediction_id: str) -> Prediction:
        prediction = await self._client.get_prediction(prediction_id)
        if self._on_seen is not None:
            await self._on_seen(prediction)
        return prediction

    async def wait_many(
        self, ids: Sequence[str], *, deadline: float, report: Report | None = None
    ) -> list[Prediction]:
        """Wait for several at once; progress counts finished ones, so it moves when any of them ends."""
        results: dict[str, Prediction] = {}
        tracker = ProgressTracker(report)

        async def one(prediction_id: str) -> None:
            prediction = await self.refresh(prediction_id)
            prediction = await self.wait(prediction, deadline=deadline)
            results[prediction_id] = prediction
            done = sum(1 for p in results.values() if p.is_terminal)
            await tracker.emit(100.0 * done / len(ids) - (0 if done == len(ids) else 0.5), f"{done}/{len(ids)} finished")

        async with anyio.create_task_group() as group:
            for prediction_id in dict.fromkeys(ids):
                group.start_soon(one, prediction_id)
        return [results[i] for i in dict.fromkeys(ids)]

    async def cancel(self, prediction_id: str) -> Prediction:
        prediction = await self._client.cancel_prediction(prediction_id)
        if self._on_seen is not None:
            await self._on_seen(prediction)
        return prediction

    async def cancel_quietly(self, prediction: Prediction | None) -> None:
        """Cleanup after the caller gave up: cancel upstream, shielded and bounded, never raising."""
        if prediction is None or prediction.is_terminal:
            return
        with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
            try:
                await self.cancel(prediction.id)
                log.info("canceled %s after the client gave up waiting", prediction.id)
            except Exception as exc:  # cleanup must not mask the cancellation
                log.warning("could not cancel %s: %s", prediction.id, exc)


async def _heartbeat(tracker: ProgressTracker, message: str) -> None:
    seconds = 0.0
    while True:
        await tracker.emit(1.0 + min(seconds, 8.0) / 2, f"{message} ({seconds:.0f}s)" if seconds else message)
        await anyio.sleep(HEARTBEAT)
        seconds += HEARTBEAT
