"""Creates whose answer was lost: find the prediction they made, or prove there is none.

Replicate has no idempotency key, so a create is never sent twice. When its outcome is unknown (the connection
dropped or timed out after the request left, or a 5xx came back), the recent predictions are listed
(`created_after` a little before the intent) and the one with the same model and the same input is adopted;
ids this ledger already holds are never adopted twice. A training's create is settled the same way through the
trainings list (which has no `created_after`: its pages, newest first, are read back to the intent's time).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import anyio

from replicate_mcp.api import APIConnectionError, Prediction, ReplicateClient, ServerError
from replicate_mcp.api.objects import Job
from replicate_mcp.files import Intent, LedgerStore

CLOCK_SLACK = timedelta(minutes=2)  # our clock against Replicate's
LIST_PAGES = 5
SECOND_LOOK_AFTER = 1.5  # seconds: a prediction may show up in the list a moment after its create


class NotCreated(Exception):
    """The create failed and reconciliation proved nothing was created: safe to retry."""


class OutcomeUnknown(Exception):
    """The create's answer was lost and Replicate could not be asked: do not retry yet."""


UNSURE_ERRORS = (
    APIConnectionError,
    ServerError,
)  # a create that failed this way may still have made a prediction


def input_hash(input: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(input).encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _without_files(input: dict[str, Any]) -> dict[str, Any]:
    """The input less its URL and data: values, which Replicate may echo rewritten (uploads, data URIs)."""

    def plain(value: Any) -> bool:
        return not (isinstance(value, str) and value.startswith(("data:", "http://", "https://")))

    return {
        k: v for k, v in input.items() if plain(v) and not (isinstance(v, list) and not all(map(plain, v)))
    }


def same_target(prediction: Job, target: dict[str, str]) -> bool:
    if "trainer" in target:  # a training: the trainer's model and version (the response has no destination)
        return (prediction.model or "").lower() == target["trainer"].lower() and prediction.version == target[
            "version"
        ]
    if "deployment" in target:
        return isinstance(prediction, Prediction) and prediction.deployment in (None, target["deployment"])
    if "version" in target:
        wanted = target["version"]
        version_id = wanted.rsplit(":", 1)[-1]
        return (
            prediction.version in (wanted, version_id) or (prediction.model or "").lower() == wanted.lower()
        )
    return (prediction.model or "").lower() == target.get("model", "").lower()


def same_input(prediction: Job, intent: Intent) -> bool:
    given = prediction.input
    if given is None or getattr(prediction, "data_removed", False):
        return False
    if input_hash(given) == intent.input_hash:
        return True
    return _canonical(_without_files(given)) == _canonical(_without_files(intent.input))


async def reconcile(
    client: ReplicateClient, ledger: LedgerStore, intent: Intent, *, lock: anyio.Lock | None = None
) -> Job | None:
    """The prediction (or training) `intent` created, now completed in the ledger;
    None when Replicate shows none.

    Each look, and the adoption of what it finds, runs under `lock` (one at a time, so two lost creates with
    the same input never adopt the same prediction); the wait between the two looks does not. Raises
    OutcomeUnknown if Replicate can't be asked."""
    lock = lock or anyio.Lock()
    recorded = ledger.created_by(intent.key)
    if recorded is not None:
        try:
            found: Job = await (client.get_training if intent.kind == "training" else client.get_prediction)(
                recorded
            )
        except UNSURE_ERRORS as exc:
            raise OutcomeUnknown(str(exc)) from None
        ledger.complete_intent(intent, found)
        return found
    since = datetime.fromisoformat(intent.created_at.replace("Z", "+00:00")) - CLOCK_SLACK
    for look in range(2):
        if look:
            await anyio.sleep(SECOND_LOOK_AFTER)
        async with lock:
            try:
                find = _find_training if intent.kind == "training" else _find
                adopted = await find(client, ledger, intent, since)
            except UNSURE_ERRORS as exc:
                raise OutcomeUnknown(str(exc)) from None
            if adopted is not None:
                ledger.complete_intent(intent, adopted)
                return adopted
    return None


async def _find(
    client: ReplicateClient, ledger: LedgerStore, intent: Intent, since: datetime
) -> Prediction | None:
    candidates: list[Prediction] = []
    page = await client.list_predictions(created_after=since.isoformat().replace("+00:00", "Z"))
    for number in range(LIST_PAGES):
        candidates += [p for p in page.results if same_target(p, intent.target) and same_input(p, intent)]
        if not page.next or number == LIST_PAGES - 1:
            break
        page = await client.list_predictions(cursor=page.next)
    taken = ledger.claimed(p.id for p in candidates)
    free = [p for p in candidates if p.id not in taken]
    return free[-1] if free else None  # the list is newest first: the oldest unclaimed match


async def _find_training(
    client: ReplicateClient, ledger: LedgerStore, intent: Intent, since: datetime
) -> Job | None:
    candidates: list[Job] = []
    page = await client.list_trainings()
    for number in range(LIST_PAGES):
        recent = [t for t in page.results if not t.created_at or _after(t.created_at, since)]
        candidates += [t for t in recent if same_target(t, intent.target) and same_input(t, intent)]
        if not page.next or number == LIST_PAGES - 1 or len(recent) < len(page.results):
            break
        page = await client.list_trainings(cursor=page.next)
    taken = ledger.claimed(t.id for t in candidates)
    free = [t for t in candidates if t.id not in taken]
    return free[-1] if free else None


def _after(created_at: str, since: datetime) -> bool:
    try:
        return datetime.fromisoformat(created_at.replace("Z", "+00:00")) >= since
    except ValueError:
        return True
