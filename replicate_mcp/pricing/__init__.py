"""What a run costs, approximately. Replicate has no pricing API: the prices ship as data (`prices.json`).

Community models are billed per second of the hardware they run on, and the API does not say which hardware a
public model uses: their estimates are a range from the cheapest to the dearest GPU in the table, unless the
hardware is known (deployments, trainers). Official models are billed per output (images, tokens); the table
holds only the prices a public page states, each with its source and date, and an official model without one
gets no number at all (`unpriced` says so), never a guess from its run time. Estimates come before a run (the
model's example `predict_time`, or the input's output count); costs come after it (`metrics.predict_time` ×
the rate, or the outputs × the price). Every figure is marked approximate, with its date. `Spend` caps what
one server process may start (`--budget`) and each run (`--max-cost-per-run`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

TOKENS_PER_CHAR = 0.25  # Llama's tokenizer: about 4 characters a token in English
DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True)
class Estimate:
    low: float
    high: float
    basis: str  # how it was computed, e.g. "2 images × $0.003"
    as_of: str

    @property
    def text(self) -> str:
        amount = usd(self.high) if self.low == self.high else f"{usd(self.low)}–{usd(self.high)}"
        return f"≈ {amount} ({self.basis}; approximate, prices as of {self.as_of})"


def usd(value: float) -> str:
    """Dollars as people write them: $1,234.50, $0.006, $0.000225 (at most six decimals)."""
    if value >= 1:
        return f"${value:,.2f}"
    digits = f"{value:.6f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


class PriceTable:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.as_of: str = data["as_of"]
        self.hardware: dict[str, dict[str, Any]] = data["hardware"]
        self.official: dict[str, dict[str, Any]] = data["official"]
        low, high = data["community_range"]
        self.range = (low, high)

    def rate(self, sku: str) -> float | None:
        entry = self.hardware.get(sku)
        return float(entry["usd_per_second"]) if entry else None

    def billing(self, model: str, *, official: bool, hardware: str | None = None) -> str:
        """How a model is billed, in one line, for its card."""
        price = self.official.get(model.lower())
        if price is not None:
            return f"per output: {_unit_text(price)} (as of {price['as_of']}, {price['source']})"
        if official:
            return (
                "per output (official model), at a price this server does not know: "
                f"see https://replicate.com/{model}"
            )
        if hardware and self.rate(hardware) is not None:
            return f"per second of {hardware} at {usd(self.rate(hardware) or 0)}/s (as of {self.as_of})"
        low, high = (self.rate(s) or 0 for s in self.range)
        return (
            f"per second of its hardware ({usd(low)}/s on {self.range[0]} to {usd(high)}/s on "
            f"{self.range[1]}, as of {self.as_of}); the API does not say which GPU it uses"
        )

    def before(
        self,
        model: str,
        *,
        official: bool,
        input: dict[str, Any],
        example_seconds: float | None,
        hardware: str | None = None,
    ) -> Estimate | None:
        """An estimate before the run, or None when nothing is known to estimate from."""
        price = self.official.get(model.lower())
        if price is not None:
            if price["unit"] == "image":
                count = _int(input.get("num_outputs"), 1)
                return self._per_output(price, count)
            if price["unit"] == "token":
                prompt = sum(len(v) for k, v in input.items() if isinstance(v, str) and "prompt" in k)
                out_tokens = _int(input.get("max_tokens") or input.get("max_new_tokens"), DEFAULT_MAX_TOKENS)
                return self._tokens(price, int(prompt * TOKENS_PER_CHAR) + 1, out_tokens, upper=True)
        if official or example_seconds is None:  # an official model's run time says nothing of its price
            return None
        return self._seconds(example_seconds, hardware, "its example run")

    def unpriced(self, model: str, *, official: bool) -> str | None:
        """For an official model whose price the table does not hold:
        a line saying so, in place of a number."""
        if not official or model.lower() in self.official:
            return None
        return (
            f"billed per output at a price this server does not know (no public source for it in its price "
            f"table): see https://replicate.com/{model}"
        )

    def after(
        self,
        model: str,
        *,
        official: bool,
        metrics: dict[str, Any] | None,
        outputs: int,
        hardware: str | None = None,
    ) -> Estimate | None:
        """The cost of a finished run from its metrics and outputs, or None when they do not say."""
        metrics = metrics or {}
        price = self.official.get(model.lower())
        if price is not None:
            if price["unit"] == "image":
                return self._per_output(price, _int(metrics.get("image_count"), outputs))
            if price["unit"] == "token" and "output_token_count" in metrics:
                return self._tokens(
                    price,
                    _int(metrics.get("input_token_count"), 0),
                    _int(metrics.get("output_token_count"), 0),
                    upper=False,
                )
            return None
        seconds = metrics.get("predict_time")
        if official or not isinstance(seconds, int | float):
            return None
        return self._seconds(float(seconds), hardware, "predict_time")

    def _per_output(self, price: dict[str, Any], count: int) -> Estimate:
        cost = count * float(price["usd"])
        noun = price["unit"] + ("" if count == 1 else "s")
        return Estimate(cost, cost, f"{count} {noun} × {usd(float(price['usd']))}", price["as_of"])

    def _tokens(self, price: dict[str, Any], tokens_in: int, tokens_out: int, *, upper: bool) -> Estimate:
        cost = (
            tokens_in * price["usd_per_million_input"] + tokens_out * price["usd_per_million_output"]
        ) / 1e6
        what = f"{tokens_in} input + {'at most ' if upper else ''}{tokens_out} output tokens"
        return Estimate(0.0 if upper else cost, cost, what, price["as_of"])

    def _seconds(self, seconds: float, hardware: str | None, source: str) -> Estimate:
        rate = self.rate(hardware) if hardware else None
        if rate is not None:
            cost = seconds * rate
            return Estimate(
                cost, cost, f"{seconds:.1f} s ({source}) × {usd(rate)}/s on {hardware}", self.as_of
            )
        low, high = (self.rate(s) or 0.0 for s in self.range)
        basis = f"{seconds:.1f} s ({source}) × {usd(low)}–{usd(high)}/s, {self.range[0]} to {self.range[1]}"
        return Estimate(seconds * low, seconds * high, basis, self.as_of)

    def trainer_hardware(self, trainer: str) -> str | None:
        return self.data.get("trainer_hardware", {}).get(trainer.lower())


def _unit_text(price: dict[str, Any]) -> str:
    if price["unit"] == "token":
        return (
            f"{usd(price['usd_per_million_input'])} per million input tokens, "
            f"{usd(price['usd_per_million_output'])} per million output tokens"
        )
    return f"{usd(float(price['usd']))} per {price['unit']}"


def _int(value: Any, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


@cache
def price_table() -> PriceTable:
    text = resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    return PriceTable(json.loads(text))


class OverBudget(Exception):
    """A run refused by --max-cost-per-run or --budget; the message says which, the estimate and the flag."""


class SharedSpend(Protocol):
    def add_spend(self, key: str, amount: float, cap: float | None) -> tuple[bool, float]: ...
    def get_spend(self, key: str) -> float: ...


class Spend:
    """Estimated spend of one person: each started run adds its estimate's high end.

    Alone, a process counts in memory from its start. With `shared` (the replicas' Redis ledger) every replica
    counts into one total per person and UTC day, so the budget holds whichever replica a run starts on."""

    def __init__(
        self,
        *,
        max_per_run: float | None,
        budget: float | None,
        shared: SharedSpend | None = None,
        account: str = "local",
    ) -> None:
        self.max_per_run = max_per_run
        self.budget = budget
        self._spent = 0.0
        self._lock = threading.Lock()
        self._shared = shared
        self._account = account

    @property
    def per_day(self) -> bool:
        return self._shared is not None

    def _key(self) -> str:
        return f"{self._account}:{datetime.now(UTC).date().isoformat()}"

    @property
    def spent(self) -> float:
        return self._shared.get_spend(self._key()) if self._shared is not None else self._spent

    def reserve(self, estimates: list[Estimate | None]) -> None:
        """Check every estimate against the caps, then count them all; raises OverBudget and counts none."""
        known = [e for e in estimates if e is not None]
        if self.max_per_run is not None:
            for estimate in known:
                if estimate.high > self.max_per_run:
                    raise OverBudget(
                        f"Refused before anything was created: the run's estimated cost {estimate.text} is "
                        f"above this server's --max-cost-per-run of {usd(self.max_per_run)}. "
                        "Use fewer or smaller outputs, or ask the user to raise --max-cost-per-run "
                        "(REPLICATE_MCP_MAX_COST_PER_RUN)."
                    )
        total = sum(e.high for e in known)
        if self._shared is not None:
            accepted, spent = self._shared.add_spend(self._key(), total, self.budget)
            if not accepted:
                raise OverBudget(
                    self._refusal(
                        spent,
                        total,
                        "today (UTC)",
                        "It starts again at midnight UTC, or ask the user to raise --budget "
                        "(REPLICATE_MCP_BUDGET).",
                    )
                )
            return
        with self._lock:
            if self.budget is not None and self._spent + total > self.budget:
                raise OverBudget(
                    self._refusal(
                        self._spent,
                        total,
                        "so far",
                        "Ask the user to raise --budget (REPLICATE_MCP_BUDGET) or restart the server.",
                    )
                )
            self._spent += total

    def _refusal(self, spent: float, total: float, period: str, then: str) -> str:
        assert self.budget is not None
        left = max(0.0, self.budget - spent)
        return (
            f"Refused before anything was created: this server's --budget of {usd(self.budget)} has "
            f"{usd(left)} left (estimated {usd(spent)} spent {period}), and this would cost about "
            f"{usd(total)}. {then}"
        )


__all__ = ["Estimate", "OverBudget", "PriceTable", "Spend", "price_table", "usd"]
