"""Prices at the tool layer: an estimate before a run,
the caps and the user's confirmation it may need, the cost after.

Confirmation uses the SDK's `Resolve`/`Elicit`, which serve both protocol eras: a tool parameter annotated
`Annotated[ElicitationResult[CostConfirmation], Resolve(fn)]` runs `fn` before the tool body. `fn` asks only
when `--confirm-above` is set and the estimate is above it; a client that cannot be asked gets a tool error
stating the estimate and the flag, so an agent can never confirm on the user's behalf.
"""

# No `from __future__ import annotations`: the SDK reads the resolvers' signatures.
from typing import Any

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, Elicit
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from replicate_mcp.api import ReplicateError
from replicate_mcp.api.objects import Job
from replicate_mcp.pricing import Estimate, OverBudget, Spend, price_table, usd
from replicate_mcp.runs import Target
from replicate_mcp.schema import validate_input
from replicate_mcp.server.services import Services, services


class CostConfirmation(BaseModel):
    """The form the user sees: one checkbox."""

    confirm: bool = Field(description="Start this run and pay for it")


def spend(svc: Services) -> Spend:
    """The caller's spend counter (each person has their own --budget), made on first use from the settings;
    with replicas it counts in the shared ledger, per UTC day."""
    counters: dict[str, Spend] = svc.__dict__.setdefault("_spend_by_tenant", {})
    tenant = svc.tenant
    if tenant not in counters:
        shared = svc.base_ledger if svc.settings.state else None
        counters[tenant] = Spend(
            max_per_run=svc.settings.max_cost_per_run,
            budget=svc.settings.budget,
            shared=shared,
            account=tenant,
        )
    return counters[tenant]


async def hardware_of(svc: Services, target: Target) -> str | None:
    """The hardware a run uses when Replicate says (deployments); None for public models."""
    if not target.slug.startswith("deployments/"):
        return None
    owner, name = target.slug.split("/")[1:3]
    try:
        deployment = await svc.client.get_deployment(owner, name)
    except ReplicateError:
        return None
    release = deployment.current_release
    config = (release.configuration if release is not None else None) or {}
    return config.get("hardware")


async def estimate(svc: Services, target: Target, input: dict[str, Any]) -> Estimate | None:
    """What this run should cost, from the price table, the model's example run and the input."""
    model = target.model or target.slug
    seconds = None
    try:
        info = await svc.resolver.model(*model.split("/", 1))
        example = info.default_example
        value = (example.metrics or {}).get("predict_time") if example is not None else None
        seconds = float(value) if isinstance(value, int | float) else None
    except ReplicateError:
        pass
    hardware = await hardware_of(svc, target)
    return price_table().before(
        model, official=target.official, input=input, example_seconds=seconds, hardware=hardware
    )


def cost_after(prediction: Job, files: int) -> Estimate | None:
    """The approximate cost of a finished run, from its metrics and outputs."""
    if prediction.status != "succeeded" or not prediction.model:
        return None
    return price_table().after(
        prediction.model, official=prediction.version == "hidden", metrics=prediction.metrics, outputs=files
    )


def unpriced(prediction: Job) -> str | None:
    """For an official model whose price the table does not hold: a line saying so, with no number."""
    if not prediction.model:
        return None
    note = price_table().unpriced(prediction.model, official=prediction.version == "hidden")
    return f"cost not estimated: {note}" if note else None


def cost_note(prediction: Job, files: int, before: Estimate | None = None) -> str | None:
    """One line for a result: the cost after a run, else the estimate before it,
    else why there is no number."""
    after = cost_after(prediction, files)
    if after is not None:
        return f"cost {after.text}"
    if before is not None:
        return f"estimated cost {before.text}"
    return unpriced(prediction) if prediction.status == "succeeded" else None


def reserve(svc: Services, estimates: list[Estimate | None]) -> None:
    """--max-cost-per-run and --budget, before anything is created."""
    try:
        spend(svc).reserve(estimates)
    except OverBudget as exc:
        raise ToolError(str(exc)) from None


def _can_elicit(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


async def _ask(ctx: Context, what: str, total: Estimate | None) -> Elicit[CostConfirmation] | None:
    svc = services(ctx)
    limit = svc.settings.confirm_above
    if limit is None or total is None or total.high <= limit:
        return None
    if not _can_elicit(ctx):
        raise ToolError(
            f"Nothing was created: {what} has an estimated cost of {total.text}, above this server's "
            f"--confirm-above of {usd(limit)}, and this client cannot ask the user to confirm "
            "(it does not support MCP elicitation). Only the user can approve it: "
            "they can raise --confirm-above (REPLICATE_MCP_CONFIRM_ABOVE) or use a client that asks; "
            "or choose a cheaper input."
        )
    return Elicit(
        f"Start {what}? Estimated cost {total.text}; this server asks above {usd(limit)}.", CostConfirmation
    )


async def _checked(
    svc: Services, model: str, inputs: list[Any]
) -> tuple[Target, list[dict[str, Any]]] | None:
    """The target and valid inputs, or None: the tool itself reports an unknown model or an invalid input."""
    try:
        target = await svc.resolver.resolve(model)
    except Exception:  # noqa: BLE001 - the tool body names the problem
        return None
    checked = []
    for given in inputs:
        if not isinstance(given, dict):
            return None
        verdict = validate_input(target.schema, {k: v for k, v in given.items()})
        checked.append(verdict.normalized if verdict.valid else given)
    return target, checked


async def confirm_run(model: str, input: Any, ctx: Context) -> Elicit[CostConfirmation] | None:
    """Resolver of run_model and create_prediction: ask the user before a run above --confirm-above."""
    svc = services(ctx)
    if svc.settings.confirm_above is None:
        return None
    found = await _checked(svc, model, [input])
    if found is None:
        return None
    target, (checked,) = found
    return await _ask(ctx, f"a run of {target.slug}", await estimate(svc, target, checked))


async def confirm_runs(model: str, inputs: list[Any], ctx: Context) -> Elicit[CostConfirmation] | None:
    """Resolver of run_batch: one question for all the runs, with their total."""
    svc = services(ctx)
    if svc.settings.confirm_above is None or not isinstance(inputs, list):
        return None
    found = await _checked(svc, model, inputs)
    if found is None:
        return None
    target, checked = found
    estimates = [await estimate(svc, target, given) for given in checked]
    total = _total([e for e in estimates if e is not None])
    return await _ask(ctx, f"{len(checked)} runs of {target.slug}", total)


def _total(estimates: list[Estimate]) -> Estimate | None:
    if not estimates:
        return None
    basis = f"{len(estimates)} runs, each {estimates[0].basis}" if len(estimates) > 1 else estimates[0].basis
    return Estimate(sum(e.low for e in estimates), sum(e.high for e in estimates), basis, estimates[0].as_of)


def require_approval(outcome: Any) -> None:
    """After the resolver: go on if nothing was asked or the user confirmed; otherwise create nothing."""
    if isinstance(outcome, AcceptedElicitation) and (
        outcome.data is None or getattr(outcome.data, "confirm", False)
    ):
        return
    action = getattr(outcome, "action", "decline")
    what = "declined" if action in ("decline", "accept") else "dismissed"
    raise ToolError(
        f"The user {what} the cost confirmation, so nothing was created. Do not retry this run "
        "unless the user asks for it again."
    )


async def gate(svc: Services, target: Target, input: dict[str, Any], approval: Any) -> Estimate | None:
    """Before a create: the user's approval if it was needed, then the caps. Returns the estimate."""
    require_approval(approval)
    before = await estimate(svc, target, input)
    reserve(svc, [before])
    return before


def estimate_notes(tracked: Any, before: Estimate | None) -> list[str]:
    """The estimate, for a run not finished yet (a finished one gets its cost where it is rendered)."""
    if tracked.latest.status == "succeeded":
        return []
    if before is None:
        note = unpriced(tracked.latest)
        return [note] if note else []
    return [f"estimated cost {before.text}"]
