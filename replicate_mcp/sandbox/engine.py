"""Runs (predictions and trainings) living in model time on the server's event loop."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from typing import Any

from .config import SandboxConfig
from .predictors import OutputFile, Plan
from .records import SandboxRun
from .util import new_id, now
from .webhooks import ALL_EVENTS, WebhookSender, new_secret

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        seed = config.seed
        self.id_rng = random.Random(seed)
        self.model_rng = random.Random(None if seed is None else seed + 1)
        self.runs: dict[str, SandboxRun] = {}
        self.delivery: dict[str, dict[str, tuple[str, bytes]]] = {}  # run id -> file name -> (type, bytes)
        self._seq = 0
        self.webhooks = WebhookSender(
            new_secret(self.id_rng),
            wall=config.wall,
            retries=config.webhook_retries,
            rng=random.Random(None if seed is None else seed + 3),
            allow_insecure=config.allow_insecure_webhooks,
        )

    def new_id(self) -> str:
        while (candidate := new_id(self.id_rng)) in self.runs:
            pass
        return candidate

    # --- creation -------------------------------------------------------------------------------

    def start(
        self,
        *,
        kind: str,
        model: str,
        version: str,
        input: dict,
        plan: Plan,
        root: str,
        streams: bool = False,
        deployment: str | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
        cancel_after: float | None = None,
        account: str | None = None,
    ) -> SandboxRun:
        self._seq += 1
        created = now()
        run = SandboxRun(
            kind=kind,
            id=self.new_id(),
            seq=self._seq,
            model=model,
            version=version,
            input=input,
            root=root,
            created_at=created,
            streams=streams,
            deployment=deployment,
            webhook=webhook,
            webhook_events_filter=list(webhook_events_filter) if webhook_events_filter else None,
            account=account,
        )
        if webhook and run.webhook_events_filter is None:
            run.webhook_events_filter = list(ALL_EVENTS)
        loop = asyncio.get_running_loop()
        if cancel_after is not None:
            run.deadline = created + self.config.wall(cancel_after)
            loop.call_later(self.config.wall(cancel_after), self._deadline_reached, run)
        self.runs[run.id] = run
        run.task = loop.create_task(self._live(run, plan))
        self._webhook(run, "start")
        return run

    # --- lifecycle ------------------------------------------------------------------------------

    async def _live(self, run: SandboxRun, plan: Plan) -> None:
        wall = self.config.wall
        await asyncio.sleep(wall(self.config.cold_boot))
        run.status = "processing"
        run.started_at = now()
        run.changed()
        loop = asyncio.get_running_loop()
        begin = loop.time()
        if plan.events and any(e.chunk is not None for e in plan.events):
            run.output = []
        for event in plan.events:
            await asyncio.sleep(max(0.0, begin + wall(event.at) - loop.time()))
            if event.logs:
                run.logs += event.logs
                run.publish("logs", event.logs.removesuffix("\n"))
                self._webhook(run, "logs")
            if event.chunk is not None:
                chunk = self._materialize(run, event.chunk)
                run.output.append(chunk)
                run.publish("output", chunk if isinstance(chunk, str) else json.dumps(chunk))
                self._webhook(run, "output")
        await asyncio.sleep(max(0.0, begin + wall(plan.duration) - loop.time()))
        run.metrics.update(plan.metrics)
        if plan.error is not None:
            run.error = plan.error
            self._finish(run, "failed")
            return
        run.output = self._materialize(run, plan.output)
        self._finish(run, "succeeded")

    def _finish(self, run: SandboxRun, status: str) -> None:
        if run.terminal:
            return
        if run.task is not None and run.task is not asyncio.current_task():
            run.task.cancel()
        run.status = status
        run.completed_at = now()
        scale = self.config.time_scale or 1.0
        if run.started_at is not None:
            run.metrics["predict_time"] = round((run.completed_at - run.started_at) / scale, 6)
        run.metrics["total_time"] = round((run.completed_at - run.created_at) / scale, 6)
        if status == "failed":
            run.publish("error", json.dumps({"detail": run.error}))
            run.publish("done", json.dumps({"reason": "error"}))
        elif status in ("canceled", "aborted"):
            run.publish("done", json.dumps({"reason": "canceled"}))
        else:
            run.publish("done", "{}")
        run.done.set()
        self._webhook(run, "completed")
        asyncio.get_running_loop().call_later(
            self.config.wall(self.config.data_retention), self._remove_data, run
        )

    def cancel(self, run: SandboxRun) -> SandboxRun:
        if not run.terminal:
            self._finish(run, "canceled")
        return run

    def _deadline_reached(self, run: SandboxRun) -> None:
        if not run.terminal:
            self._finish(run, "aborted" if run.status == "starting" else "canceled")

    def _remove_data(self, run: SandboxRun) -> None:
        run.input = {}
        run.output = None
        run.logs = ""
        run.data_removed = True
        run.sse = []
        self.delivery.pop(run.id, None)
        run.changed()

    def _webhook(self, run: SandboxRun, event: str) -> None:
        if run.webhook:
            self.webhooks.notify(run.id, run.webhook, run.webhook_events_filter or [], event, run.to_json)

    # --- files in outputs -----------------------------------------------------------------------

    def _materialize(self, run: SandboxRun, value: Any) -> Any:
        """Replace every OutputFile in `value` by the absolute URL the sandbox serves it at."""
        if isinstance(value, OutputFile):
            files = self.delivery.setdefault(run.id, {})
            name = value.name
            stem, dot, ext = name.rpartition(".")
            n = 1
            while name in files and files[name] != (value.content_type, value.data):
                name = f"{stem}-{n}{dot}{ext}" if dot else f"{value.name}-{n}"
                n += 1
            files[name] = (value.content_type, value.data)
            return f"{run.root}/delivery/{run.id}/{name}"
        if isinstance(value, dict):
            return {k: self._materialize(run, v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._materialize(run, v) for v in value]
        return value

    def inline_files(self, run: SandboxRun, value: Any) -> Any:
        """Delivery URLs of `run` replaced by data: URIs (what a `Prefer: wait` answer carries)."""
        prefix = f"{run.root}/delivery/{run.id}/"
        if isinstance(value, str) and value.startswith(prefix):
            stored = self.delivery.get(run.id, {}).get(value[len(prefix) :])
            if stored is not None:
                return f"data:{stored[0]};base64,{base64.b64encode(stored[1]).decode()}"
        if isinstance(value, dict):
            return {k: self.inline_files(run, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.inline_files(run, v) for v in value]
        return value

    async def aclose(self) -> None:
        for run in self.runs.values():
            if run.task is not None and not run.task.done():
                run.task.cancel()
        await self.webhooks.aclose()
