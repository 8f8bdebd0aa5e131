"""The supervisor: a prediction belongs to the server, not to the tool call that started it.

Every create is written to the ledger before it is sent, carries a lifetime (`Cancel-After`), and runs in the
server's own task group, so a call that goes away cannot lose its id. One follower per prediction then polls
it (no more than once per 2 s, less as it ages or when no call waits, all polls paced under Replicate's rate
limits), follows its event stream while a call watches a streaming model, takes webhook deliveries as fresher
states, archives the outputs the moment it succeeds, and records every change. Tool calls are views: they
start runs, wait on followers and read the ledger. On start, unfinished predictions and creates with an
unknown outcome are picked up again.

Several replicas share one ledger (`--state redis://`): a replica follows a prediction only while it holds its
lease (`runs/coordination.py`); the others watch it through published events and take it over when the holder
dies. Every prediction belongs to a tenant (one person, when the server serves several); a tenant's calls see
only its own, and its predictions are polled with its own Replicate token.

Trainings are followed the same way (`kind="training"` on the ledger row and on `Tracked`): ledger-first
creates, reconciliation through the trainings list, one paced follower, recovery after a restart. Trainings
take no `Cancel-After`, so their lifetime is a deadline the follower enforces by canceling.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from anyio.abc import TaskGroup

from replicate_mcp.api import (
    NotFoundError,
    Prediction,
    RateLimitError,
    ReplicateClient,
    ReplicateError,
    Training,
)
from replicate_mcp.api.objects import Job
from replicate_mcp.files import ArchivedFile, Intent, LedgerStore, OutputKeeper
from replicate_mcp.runs.coordination import Coordination, LocalCoordination
from replicate_mcp.runs.creates import UNSURE_ERRORS, NotCreated, OutcomeUnknown, input_hash, reconcile
from replicate_mcp.runs.pacer import Pacer
from replicate_mcp.runs.progress import tqdm_percent
from replicate_mcp.runs.resolve import Target

log = logging.getLogger(__name__)

MIN_INTERVAL = 2.0  # never more than one poll per 2 s per prediction
WATCHED_MAX_INTERVAL = 5.0  # a call is waiting: stay close
IDLE_MAX_INTERVAL = 30.0  # nobody waits: back off as it ages
STREAMING_INTERVAL = 10.0  # the event stream carries the news; polls only check it
CLEANUP_SECONDS = 5.0
PROGRESS_COALESCE = 0.2  # at most ~5 progress notifications a second per waiting call
RECONCILE_RETRY = 30.0
RECONCILE_GIVE_UP = 3600.0  # Replicate removes inputs after an hour: nothing left to match then
STORE_RETRY = 5.0  # seconds between tries while the ledger does not answer
KEEP_FINISHED = 2_000  # finished predictions kept in memory for waiting calls; the ledger has the rest
STATUS_RANK = {"starting": 0, "processing": 1}
LOCAL_TENANT = "local"

StateHook = Callable[[Job], Awaitable[None]]
ClientFor = Callable[[str], ReplicateClient]


class TooManyRuns(Exception):
    """The tenant already has as many runs in flight as the server allows each person."""


class NotYours(NotFoundError):
    """The id belongs to another tenant (or to no one this server knows):
    answered as Replicate answers, 404."""

    def __init__(self, kind: str = "prediction") -> None:
        super().__init__(f"The requested {kind} could not be found.", status=404, title="Not found")


@dataclass
class StartRequest:
    """One create: where, what, and how long it may live."""

    target: Target
    input: dict[str, Any]  # as sent (local files already read)
    given: dict[str, Any]  # as the agent meant it, for the ledger
    call: str | None = None  # the tool call that asked, for the ledger
    keep_running: bool = False  # keep it if that call goes away
    lifetime: float | None = None  # seconds, sent as Cancel-After
    prefer_wait: int | None = None  # seconds of `Prefer: wait` on the create
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None
    tenant: str = LOCAL_TENANT


@dataclass
class TrainingRequest:
    """One training: the trainer's version, where the new version goes, and how long it may run."""

    trainer: str  # owner/name of the trainer model
    version_id: str  # the trainer version whose train() runs
    destination: str  # owner/name that receives the new version
    input: dict[str, Any]  # as sent (local files already uploaded)
    given: dict[str, Any]  # as the agent meant it, for the ledger
    call: str | None = None
    lifetime: float | None = None  # seconds; the follower cancels it after
    webhook: str | None = None
    tenant: str = LOCAL_TENANT

    @property
    def target(self) -> dict[str, str]:
        return {"trainer": self.trainer, "version": self.version_id, "destination": self.destination}


@dataclass
class Started:
    prediction: Job
    notes: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    """A create running in the server's task group, and the call waiting for it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    result: Started | None = None
    error: BaseException | None = None
    abandoned: bool = False


@dataclass
class Tracked:
    """What the server knows of one prediction it follows."""

    id: str
    latest: Job  # a Prediction, or a Training when kind is "training"
    since: float  # anyio clock: when following began
    fresh_at: float  # when `latest` was last confirmed
    polled_at: float = -math.inf
    watchers: int = 0
    streaming: bool = False
    failures: int = 0
    files: list[ArchivedFile] = field(default_factory=list)
    problem: str | None = None  # why it can no longer be followed
    changed: anyio.Event = field(default_factory=anyio.Event)
    woken: anyio.Event = field(default_factory=anyio.Event)
    done: anyio.Event = field(default_factory=anyio.Event)  # terminal, and its files kept
    kind: str = "prediction"
    deadline: datetime | None = None  # trainings: canceled by the follower after this
    tenant: str = LOCAL_TENANT
    owned: bool = True  # this replica holds the lease and follows it
    remote_done: bool = False  # the replica holding it says it ended, files kept

    def notify(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


class Supervisor:
    def __init__(
        self,
        client: ReplicateClient,
        ledger: LedgerStore,
        keeper: OutputKeeper,
        *,
        rate: float = 10.0,
        webhook_url: str | None = None,
        min_interval: float = MIN_INTERVAL,
        coordination: Coordination | None = None,
        clients: ClientFor | None = None,
        strict_tenancy: bool = False,
        max_runs_per_tenant: int | None = None,
    ) -> None:
        """`clients` gives the client of a tenant (its own token); `strict_tenancy` (one token shared by many
        tenants) refuses any id this server did not record for the asking tenant."""
        self.client = client
        self.coordination: Coordination = coordination or LocalCoordination()
        self._clients = clients
        self.strict_tenancy = strict_tenancy
        self.max_runs_per_tenant = max_runs_per_tenant
        self._starting: dict[str, int] = {}  # creates under way, per tenant (not in the ledger's count yet)
        self._in_hand: Counter[str] = Counter()  # intents this process is creating or checking (leased too)
        self.ledger = ledger
        self.keeper = keeper
        self.pacer = Pacer(rate)
        self.webhook_url = webhook_url
        self.min_interval = min_interval
        self._tracked: dict[str, Tracked] = {}
        self._finished: OrderedDict[str, Tracked] = OrderedDict()
        self._reconciling = anyio.Lock()
        self._tg: TaskGroup | None = None
        self.polls = 0

    # --- the server's task group ---------------------------------------------------------------------------

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled: the pacer, every follower, every create, and the recovery after a restart."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self.pacer.run)
            if self.coordination.shared:
                tg.start_soon(self.coordination.listen, self._on_event)
                tg.start_soon(self._keep_leases)
            task_status.started()
            while not await self._survive(self._recover, "picking up unfinished work"):
                await anyio.sleep(STORE_RETRY)
            while self.coordination.shared:  # leases of a replica that died expire: take its work over
                await anyio.sleep(self.coordination.lease_seconds)
                await self._survive(self._adopt_orphans, "looking for runs to take over")
            await anyio.sleep_forever()

    async def _survive(self, step: Callable[[], Awaitable[None]], what: str) -> bool:
        """Run a background step; the shared state being away for a while must not stop the server."""
        try:
            await step()
            return True
        except (ReplicateError, OSError) as exc:
            log.warning("%s failed (%s); trying again", what, type(exc).__name__)
        except Exception as exc:  # the store's own errors (redis.RedisError, sqlite3.Error) vary by engine
            log.warning("%s failed: the ledger did not answer (%s); trying again", what, type(exc).__name__)
        return False

    def _client(self, tenant: str) -> ReplicateClient:
        return self._clients(tenant) if self._clients is not None else self.client

    def _spawn(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self._tg is None:
            raise RuntimeError("the supervisor is not running")
        self._tg.start_soon(fn, *args)

    # --- starting ------------------------------------------------------------------------------------------

    def _admit(self, tenant: str) -> None:
        limit = self.max_runs_per_tenant
        if limit is None:
            return
        running = self.ledger.running(tenant) + self._starting.get(tenant, 0)
        if running >= limit:
            raise TooManyRuns(
                f"Nothing was started: {running} of your runs are still going, "
                f"the most this server allows each person (--max-runs-per-tenant {limit}). "
                "Wait for one with wait_for_prediction, or cancel one, then call again."
            )

    async def start(self, request: StartRequest) -> Started:
        """Create a prediction (ledger first); the create is the server's even if this call is cancelled."""
        self._admit(request.tenant)
        self._starting[request.tenant] = self._starting.get(request.tenant, 0) + 1
        try:
            return await self._start(request)
        finally:
            self._starting[request.tenant] -= 1

    async def _start(self, request: StartRequest) -> Started:
        target = request.target
        intent = self.ledger.open_intent(
            target=target.create_args,
            model=target.label,
            input_hash=input_hash(request.input),
            input=request.given,
            secret_fields=target.schema.secret_fields,
            call=request.call,
            keep_running=request.keep_running,
            output_kind=target.schema.output_kind,
            tenant=request.tenant,
        )
        return await self._launch(
            intent,
            lambda: self._create(request, intent),
            keep_running=request.keep_running,
            tenant=request.tenant,
        )

    async def _create(self, request: StartRequest, intent: Intent) -> Started:
        webhook, events = request.webhook, request.webhook_events_filter
        # Each account signs its webhooks with its own secret: the server's receiver knows only its own
        # account's, so a person's own-token runs are followed by polls alone.
        if webhook is None and self.webhook_url is not None and self._client(request.tenant) is self.client:
            webhook, events = self.webhook_url, ["start", "output", "logs", "completed"]
        client = self._client(request.tenant)
        prediction, notes = await self._send(
            intent,
            lambda: client.create_prediction(
                input=request.input,
                wait=request.prefer_wait,
                webhook=webhook,
                webhook_events_filter=events,
                cancel_after=request.lifetime,
                **request.target.create_args,
            ),
            "it was not run twice",
        )
        tracked = self._track(prediction, tenant=request.tenant)
        return Started(tracked.latest, notes)

    async def start_training(self, request: TrainingRequest) -> Started:
        """Create a training (ledger first, in the server's task group); followed like a prediction and
        canceled when its lifetime is over."""
        self._admit(request.tenant)
        intent = self.ledger.open_intent(
            target=request.target,
            model=request.trainer,
            input_hash=input_hash(request.input),
            input=request.given,
            call=request.call,
            keep_running=True,
            kind="training",
            tenant=request.tenant,
        )
        return await self._launch(
            intent, lambda: self._create_training(request, intent), keep_running=True, tenant=request.tenant
        )

    async def _create_training(self, request: TrainingRequest, intent: Intent) -> Started:
        owner, name = request.trainer.split("/", 1)
        client = self._client(request.tenant)
        training, notes = await self._send(
            intent,
            lambda: client.create_training(
                owner,
                name,
                request.version_id,
                destination=request.destination,
                input=request.input,
                webhook=request.webhook,
            ),
            "it was not started twice",
        )
        deadline = None
        if request.lifetime is not None:
            deadline = datetime.now(UTC) + timedelta(seconds=request.lifetime)
            self.ledger.set_deadline(training.id, deadline.isoformat().replace("+00:00", "Z"))
        tracked = self._track(training, kind="training", deadline=deadline, tenant=request.tenant)
        return Started(tracked.latest, notes)

    async def _launch(
        self, intent: Intent, create: Callable[[], Awaitable[Started]], *, keep_running: bool, tenant: str
    ) -> Started:
        """Run `create` in the server's task group and wait for it: the create is the server's even if this
        call is cancelled, and then what it made is canceled upstream once its id is known, unless kept."""
        pending = _Pending()
        self._hold(intent)
        self._spawn(self._creating, create, intent, pending, keep_running, tenant)
        try:
            await pending.done.wait()
        except BaseException:
            pending.abandoned = True
            raise
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    async def _send(
        self, intent: Intent, send: Callable[[], Awaitable[Job]], not_twice: str
    ) -> tuple[Job, list[str]]:
        """The create, and its answer in the ledger; an unsure failure is found, or proved not made."""
        try:
            made = await send()
        except UNSURE_ERRORS as exc:
            made = await self._settle(intent, exc)
            return made, [
                f"The answer to the create was lost ({exc.title or type(exc).__name__}); the server "
                f"found the {intent.kind} it made, {made.id}: {not_twice}."
            ]
        except ReplicateError as exc:
            self.ledger.settle_intent(intent.key, "not_created", str(exc))
            raise
        self.ledger.complete_intent(intent, made)
        return made, []

    async def _settle(self, intent: Intent, exc: ReplicateError) -> Job:
        """After an unsure failure: the prediction the create made, or NotCreated / OutcomeUnknown."""
        what = f"{exc.title or 'error'}" + (f" (HTTP {exc.status})" if exc.status else "")
        noun, lister = (
            ("training", "list_trainings")
            if intent.kind == "training"
            else ("prediction", "list_predictions")
        )
        try:
            found = await reconcile(self._client(intent.tenant), self.ledger, intent, lock=self._reconciling)
        except OutcomeUnknown as unknown:
            self.ledger.settle_intent(intent.key, "unknown", f"{what}; then {unknown}")
            self._check_later(intent)
            raise OutcomeUnknown(
                f"Replicate failed during the create ({what}) and could not be asked whether it made a "
                f"{noun}. Do not retry yet: this server keeps checking. Call {lister} in a minute; "
                f"it shows the {noun} if one was made."
            ) from None
        if found is None:
            self.ledger.settle_intent(intent.key, "not_created", what)
            raise NotCreated(
                f"Replicate failed during the create ({what}); the server checked and no {noun} was "
                "created, so nothing is billed. It is safe to call again."
            ) from None
        return found

    def _hold(self, intent: Intent) -> None:
        """This process is working on the intent:
        no scan here reconciles it, and its lease keeps others off."""
        self._in_hand[intent.key] += 1
        self.coordination.claim(f"intent:{intent.key}")

    def _let_go(self, intent: Intent) -> None:
        self._in_hand[intent.key] -= 1
        if self._in_hand[intent.key] <= 0:
            del self._in_hand[intent.key]
            self.coordination.release(f"intent:{intent.key}")

    async def _creating(
        self,
        create: Callable[[], Awaitable[Started]],
        intent: Intent,
        pending: _Pending,
        keep_running: bool,
        tenant: str,
    ) -> None:
        try:
            try:
                pending.result = await create()
            except BaseException as exc:
                pending.error = exc
                if isinstance(exc, anyio.get_cancelled_exc_class()):
                    raise
            finally:
                pending.done.set()
            if pending.abandoned and not keep_running and pending.result is not None:
                await self.abandon(pending.result.prediction.id, tenant=tenant)
        finally:
            self._let_go(intent)

    def _check_later(self, intent: Intent) -> None:
        self._hold(intent)  # before this one lets go: no moment in which another replica may take it
        self._spawn(self._reconcile_later, intent)

    async def _reconcile_later(self, intent: Intent) -> None:
        """Keep asking until the intent's outcome is known (or its input would be gone anyway)."""
        try:
            await self._keep_asking(intent)
        finally:
            self._let_go(intent)

    async def _keep_asking(self, intent: Intent) -> None:
        created = datetime.fromisoformat(intent.created_at.replace("Z", "+00:00"))
        while (datetime.now(UTC) - created).total_seconds() < RECONCILE_GIVE_UP:
            await anyio.sleep(RECONCILE_RETRY * self.min_interval / MIN_INTERVAL)
            try:
                found = await reconcile(
                    self._client(intent.tenant), self.ledger, intent, lock=self._reconciling
                )
            except OutcomeUnknown:
                continue
            if found is None:
                self.ledger.settle_intent(intent.key, "not_created", "checked later: none was created")
                return
            log.info("intent %s: found its %s %s", intent.key, intent.kind, found.id)
            self._track(found, kind=intent.kind, deadline=self._deadline_of(found.id), tenant=intent.tenant)
            return

    # --- following -----------------------------------------------------------------------------------------

    def _track(
        self,
        prediction: Job,
        *,
        kind: str = "prediction",
        deadline: datetime | None = None,
        tenant: str = LOCAL_TENANT,
    ) -> Tracked:
        """Follow `prediction` (once): poll it if this replica gets its lease,
        else watch the one that has it."""
        tracked = self._tracked.get(prediction.id) or self._finished.get(prediction.id)
        if tracked is not None:
            self._accept(tracked, prediction)
            return tracked
        now = anyio.current_time()
        tracked = Tracked(
            id=prediction.id,
            latest=prediction,
            since=now,
            fresh_at=now,
            polled_at=now,
            kind=kind,
            deadline=deadline,
            tenant=tenant,
            owned=self.coordination.claim(prediction.id),
        )
        self._tracked[prediction.id] = tracked
        self._spawn(self._follow, tracked)
        return tracked

    def _accept(self, tracked: Tracked, prediction: Job, *, publish: bool = True) -> bool:
        """Take `prediction` as the latest state unless it is older than what is known
        (webhooks come out of order)."""
        current = tracked.latest
        if current.is_terminal and current.status:
            if not prediction.is_terminal:
                return False
        elif not prediction.is_terminal and STATUS_RANK.get(prediction.status, 0) < STATUS_RANK.get(
            current.status, 0
        ):
            return False
        if tracked.streaming and not prediction.is_terminal:
            prediction = _keep_longer_text(prediction, current)
        changed_status = prediction.status != current.status
        tracked.latest = prediction
        tracked.fresh_at = anyio.current_time()
        # A finished prediction asked about again is not written again, unless its data was removed meanwhile.
        removed = getattr(prediction, "data_removed", False) != getattr(
            current, "data_removed", False
        )  # trainings have none
        if changed_status or (prediction.is_terminal and removed):
            self.ledger.update(prediction)
        if publish and self.coordination.shared:
            self.coordination.publish(
                {
                    "type": "state",
                    "id": tracked.id,
                    "kind": tracked.kind,
                    "state": prediction.model_dump(mode="json", exclude_none=True),
                }
            )
        tracked.notify()
        if prediction.is_terminal:
            tracked.woken.set()
        return True

    async def _follow(self, tracked: Tracked) -> None:
        try:
            while tracked.problem is None:
                if not tracked.owned:
                    if tracked.remote_done:  # the replica that followed it kept its files
                        tracked.files = self.ledger.files(tracked.id)
                        break
                    await self._watch_from_afar(tracked)
                elif tracked.latest.is_terminal:
                    await self._finish(tracked)
                    break
                elif await self._due(tracked):
                    await self._poll(tracked)
        except Exception:  # a follower never takes the server down; the ledger still has the prediction
            log.exception("following %s failed", tracked.id)
            tracked.problem = tracked.problem or "the server stopped following it after an internal error"
        finally:
            if tracked.owned:
                self.coordination.release(tracked.id)
            tracked.done.set()
            tracked.notify()
            self._tracked.pop(tracked.id, None)
            self._finished[tracked.id] = tracked
            while len(self._finished) > KEEP_FINISHED:
                self._finished.popitem(last=False)

    async def _watch_from_afar(self, tracked: Tracked) -> None:
        """Another replica follows it: wait for its news, and take over if its lease lapses
        (the replica died)."""
        with anyio.move_on_after(self.coordination.lease_seconds):
            await tracked.woken.wait()
        if tracked.woken.is_set():
            tracked.woken = anyio.Event()
        if not tracked.remote_done and self.coordination.claim(tracked.id):
            log.info("took over %s %s", tracked.kind, tracked.id)
            tracked.owned = True
            tracked.fresh_at = (
                tracked.polled_at
            ) = -math.inf  # look at once: its holder may have died long ago

    async def _on_event(self, event: dict[str, Any]) -> None:
        """News from another replica about a prediction a call here may be waiting on."""
        tracked = self._tracked.get(str(event.get("id")))
        if tracked is None:
            return
        if event.get("type") == "state":
            model = Training if tracked.kind == "training" else Prediction
            self._accept(tracked, model.model_validate(event["state"]), publish=False)
        elif event.get("type") == "done":
            tracked.remote_done = True
            tracked.woken.set()

    async def _keep_leases(self) -> None:
        """Renew the leases of what this replica follows;
        one lost to another replica is watched from then on."""
        while True:
            await anyio.sleep(self.coordination.lease_seconds / 3)
            owned = [t.id for t in self._tracked.values() if t.owned]
            owned += [f"intent:{key}" for key in self._in_hand]
            try:
                lost_leases = self.coordination.renew(owned)
            except (
                Exception
            ) as exc:  # Redis away: the leases may lapse, and others then take over, as designed
                log.warning("could not renew %d leases (%s)", len(owned), type(exc).__name__)
                continue
            for lost in lost_leases:
                tracked = self._tracked.get(lost)
                if tracked is not None:
                    log.warning("lost the lease of %s to another replica", lost)
                    tracked.owned = False
                    tracked.woken.set()

    async def _due(self, tracked: Tracked) -> bool:
        """Sleep until the next poll is due (True),
        or until something changed that asks to look again (False)."""
        now = anyio.current_time()
        due = max(tracked.polled_at + self.min_interval, tracked.fresh_at + self._interval(tracked, now))
        if due > now:
            with anyio.move_on_after(due - now):
                await tracked.woken.wait()
            if tracked.woken.is_set():
                tracked.woken = anyio.Event()
                return False
        await self.pacer.acquire(urgent=tracked.watchers > 0)
        return tracked.owned and not tracked.latest.is_terminal

    def _interval(self, tracked: Tracked, now: float) -> float:
        """Seconds between polls; every figure scales with `min_interval`
        (a fast sandbox clock scales them down)."""
        scale = self.min_interval / MIN_INTERVAL
        age = (now - tracked.since) / scale
        if tracked.streaming:
            base = STREAMING_INTERVAL * scale
        elif tracked.watchers:
            base = min(WATCHED_MAX_INTERVAL, MIN_INTERVAL + max(0.0, age - 60) / 60) * scale
        else:
            base = min(IDLE_MAX_INTERVAL, max(MIN_INTERVAL, age / 10)) * scale
        remaining = _seconds_left(tracked.latest)  # on the API's clock, which the sandbox scales too
        if remaining is not None:
            base = min(base, max(self.min_interval, remaining))
        return base

    async def _poll(self, tracked: Tracked) -> None:
        tracked.polled_at = anyio.current_time()
        self.polls += 1
        try:
            if tracked.deadline is not None and datetime.now(UTC) >= tracked.deadline:
                log.info("canceling %s %s: its lifetime is over", tracked.kind, tracked.id)
                prediction = await self._fetch(tracked.kind, tracked.id, tracked.tenant, cancel=True)
            else:
                prediction = await self._fetch(tracked.kind, tracked.id, tracked.tenant)
        except NotFoundError:
            tracked.problem = f"Replicate no longer knows this {tracked.kind} (404)"
            return
        except RateLimitError as exc:
            self.pacer.pause(exc.retry_after or 10.0)
            return
        except ReplicateError as exc:
            tracked.failures += 1
            log.info("polling %s failed (%s); retrying", tracked.id, exc.title or type(exc).__name__)
            await anyio.sleep(min(60.0, 2.0**tracked.failures))
            return
        tracked.failures = 0
        self._accept(tracked, prediction)
        self._maybe_stream(tracked)

    async def _finish(self, tracked: Tracked) -> None:
        prediction = tracked.latest
        if not prediction.is_terminal:
            return
        self.ledger.update(prediction)
        if (
            prediction.status == "succeeded" and tracked.kind == "prediction"
        ):  # a training's output is weights
            try:
                tracked.files = await self.keeper.keep(prediction)
            except (
                Exception
            ) as exc:  # a file that cannot be saved is reported by the archive; the run still ended
                log.warning("could not archive the outputs of %s: %s", tracked.id, type(exc).__name__)
        if self.coordination.shared:
            self.coordination.publish({"type": "done", "id": tracked.id})

    # --- streams -------------------------------------------------------------------------------------------

    def _maybe_stream(self, tracked: Tracked) -> None:
        stream = tracked.latest.urls.get("stream")
        if stream and tracked.watchers and not tracked.streaming and not tracked.latest.is_terminal:
            tracked.streaming = True
            self._spawn(self._stream, tracked, stream)

    async def _stream(self, tracked: Tracked, url: str) -> None:
        """Text and logs as the model makes them, while a call watches;
        the final state still comes from a poll."""
        chunks = list(tracked.latest.output) if isinstance(tracked.latest.output, list) else []
        try:
            async for event in self._client(tracked.tenant).stream_events(url):
                if event.event == "output":
                    chunks.append(event.data)
                    update: dict[str, Any] = {"output": list(chunks)}
                elif event.event == "logs":
                    update = {"logs": (tracked.latest.logs or "") + event.data + "\n"}
                else:
                    break
                if tracked.latest.is_terminal:
                    break
                status = "processing" if tracked.latest.status == "starting" else tracked.latest.status
                tracked.latest = tracked.latest.model_copy(update={**update, "status": status})
                tracked.fresh_at = anyio.current_time()
                tracked.notify()
        except ReplicateError as exc:
            log.info(
                "stream of %s ended early (%s); polling instead", tracked.id, exc.title or type(exc).__name__
            )
        finally:
            tracked.streaming = False
            tracked.fresh_at = -math.inf  # look at once: the stream's end is usually the prediction's end
            tracked.woken.set()

    # --- views for tool calls ------------------------------------------------------------------------------

    def known(self, prediction_id: str, tenant: str = LOCAL_TENANT) -> Tracked | None:
        tracked = self._tracked.get(prediction_id) or self._finished.get(prediction_id)
        return tracked if tracked is not None and tracked.tenant == tenant else None

    def _guard(self, job_id: str, tenant: str, kind: str) -> None:
        """Another tenant's id is answered as unknown; so is any id the server did not record, when tenants
        share one Replicate token (Replicate itself would show it to them)."""
        entry = self.ledger.get(job_id)
        if (entry is not None and entry.tenant != tenant) or (entry is None and self.strict_tenancy):
            raise NotYours(kind)

    async def observe(
        self, prediction: Job, *, kind: str = "prediction", tenant: str | None = None
    ) -> Tracked:
        """A state from outside the follower (a webhook, a tool's GET): take it, and follow if it is running.

        `tenant` None: whoever the ledger says it belongs to (a webhook carries no caller)."""
        entry = self.ledger.get(prediction.id)
        if entry is None:
            tenant = tenant or LOCAL_TENANT
            self.ledger.record(
                prediction,
                model=prediction.model or "?",
                input={},
                origin="observed",
                kind=kind,
                tenant=tenant,
            )
        else:
            tenant, kind = entry.tenant, entry.kind
        return self._track(prediction, kind=kind, deadline=self._deadline_of(prediction.id), tenant=tenant)

    async def refresh(
        self, prediction_id: str, *, kind: str = "prediction", tenant: str = LOCAL_TENANT
    ) -> Tracked:
        """GET now (an agent asked), then the prediction is followed; a finished one has its files kept."""
        self._guard(prediction_id, tenant, kind)
        tracked = await self.observe(await self._fetch(kind, prediction_id, tenant), kind=kind, tenant=tenant)
        if tracked.latest.is_terminal:
            await tracked.done.wait()
        return tracked

    async def wait(
        self,
        prediction_id: str,
        *,
        deadline: float,
        on_state: StateHook | None = None,
        kind: str = "prediction",
        tenant: str = LOCAL_TENANT,
    ) -> Tracked:
        """Wait until the prediction ended and its files are kept, or until `deadline` (anyio clock)."""
        tracked = self.known(prediction_id, tenant) or await self.refresh(
            prediction_id, kind=kind, tenant=tenant
        )
        tracked.watchers += 1
        tracked.woken.set()  # a watcher shortens the interval: recompute it now
        self._maybe_stream(tracked)
        try:
            while True:
                if on_state is not None:
                    await on_state(tracked.latest)
                remaining = deadline - anyio.current_time()
                if tracked.done.is_set() or remaining <= 0:
                    return tracked
                changed = tracked.changed
                with anyio.move_on_after(remaining):
                    await changed.wait()
                    if on_state is not None and not tracked.done.is_set():
                        await anyio.sleep(PROGRESS_COALESCE)  # a token stream changes 50 times a second
        finally:
            tracked.watchers -= 1

    async def cancel(
        self, prediction_id: str, *, kind: str = "prediction", tenant: str = LOCAL_TENANT
    ) -> Tracked:
        self._guard(prediction_id, tenant, kind)
        return await self.observe(
            await self._fetch(kind, prediction_id, tenant, cancel=True), kind=kind, tenant=tenant
        )

    async def _fetch(self, kind: str, job_id: str, tenant: str, *, cancel: bool = False) -> Job:
        client = self._client(tenant)
        if kind == "training":
            return await (client.cancel_training if cancel else client.get_training)(job_id)
        return await (client.cancel_prediction if cancel else client.get_prediction)(job_id)

    def _deadline_of(self, job_id: str) -> datetime | None:
        entry = self.ledger.get(job_id)
        if entry is None or not entry.deadline:
            return None
        return datetime.fromisoformat(entry.deadline.replace("Z", "+00:00"))

    def keep(self, prediction_id: str) -> None:
        """The agent has the id now: it decides what happens to the prediction."""
        self.ledger.keep(prediction_id)

    async def abandon(self, prediction_id: str, *, tenant: str = LOCAL_TENANT) -> None:
        """The call that started it went away before handing out the id: cancel upstream, unless kept."""
        entry = self.ledger.get(prediction_id)
        tracked = self.known(prediction_id, tenant)
        if entry is None or entry.keep_running or (tracked is not None and tracked.latest.is_terminal):
            return
        with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
            try:
                await self.cancel(prediction_id, kind=entry.kind, tenant=entry.tenant)
                log.info("canceled %s: the call that started it went away", prediction_id)
            except Exception as exc:  # cleanup must not mask the cancellation; its lifetime still bounds it
                log.warning("could not cancel %s: %s", prediction_id, type(exc).__name__)

    # --- restart -------------------------------------------------------------------------------------------

    async def _recover(self) -> None:
        """Pick up what a previous process left: unknown creates, running predictions, unarchived outputs."""
        await self._adopt_orphans()

    async def _adopt_orphans(self) -> None:
        """Settle every create whose outcome is unknown and that nobody is working on (its process died), then
        follow every unfinished or unarchived prediction of the ledger that no live replica holds."""
        for intent in self.ledger.unresolved_intents():
            if intent.key in self._in_hand or not self.coordination.claim(f"intent:{intent.key}"):
                continue
            self._hold(intent)
            try:
                found = await reconcile(
                    self._client(intent.tenant), self.ledger, intent, lock=self._reconciling
                )
                if found is None:
                    self.ledger.settle_intent(
                        intent.key, "not_created", "checked after its creator stopped: none was created"
                    )
                    continue
                self._track(
                    found, kind=intent.kind, deadline=self._deadline_of(found.id), tenant=intent.tenant
                )
            except OutcomeUnknown:
                self.ledger.settle_intent(
                    intent.key, "unknown", "Replicate could not be asked after its creator stopped"
                )
                self._check_later(intent)
            finally:
                self._let_go(intent)
        for prediction_id in dict.fromkeys([*self.ledger.pending(), *self.ledger.unarchived()]):
            if prediction_id in self._tracked or prediction_id in self._finished:
                continue
            if not self.coordination.claim(prediction_id):
                continue
            entry = self.ledger.get(prediction_id)
            status = entry.status if entry is not None and entry.status != "succeeded" else "starting"
            kind = entry.kind if entry is not None else "prediction"
            stale = (Training if kind == "training" else Prediction)(id=prediction_id, status=status)
            tracked = self._track(
                stale,
                kind=kind,
                deadline=self._deadline_of(prediction_id),
                tenant=entry.tenant if entry is not None else LOCAL_TENANT,
            )
            tracked.fresh_at = tracked.polled_at = -math.inf  # poll at once


def _keep_longer_text(polled: Job, streamed: Job) -> Job:
    """A poll during a stream may lag the stream's text; keep whichever has more."""

    def length(output: Any) -> int:
        return sum(len(c) for c in output if isinstance(c, str)) if isinstance(output, list) else -1

    if length(streamed.output) > length(polled.output):
        return polled.model_copy(update={"output": streamed.output})
    return polled


def _seconds_left(prediction: Job) -> float | None:
    """An estimate from the logs' percentage and the time spent so far, when both are known."""
    percent = tqdm_percent(prediction.logs)
    if not percent or prediction.status != "processing" or not prediction.started_at:
        return None
    try:
        started = datetime.fromisoformat(prediction.started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    spent = (datetime.now(UTC) - started).total_seconds()
    return max(0.0, spent * (100 - percent) / percent) if spent > 0 else None


__all__ = [
    "NotCreated",
    "NotYours",
    "OutcomeUnknown",
    "TooManyRuns",
    "StartRequest",
    "Started",
    "Supervisor",
    "Tracked",
    "TrainingRequest",
]
