"""A price on every run, the caps, the user's confirmation, many runs in one call:
over the MCP wire, both eras."""

import pytest
from mcp import Client, types

from replicate_mcp.pricing import PriceTable, Spend, price_table

pytestmark = pytest.mark.anyio

FLUX = "black-forest-labs/flux-schnell"
HELLO = "replicate/hello-world"
LLAMA = "meta/meta-llama-3-8b-instruct"


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def creates(sandbox) -> int:
    requests = sandbox.stats()["requests"]
    return sum(
        n for route, n in requests.items() if route.startswith("POST") and route.endswith("/predictions")
    )


def answering(action: str, confirm: bool = True):
    asked: list[str] = []

    async def callback(context, params):
        asked.append(params.message)
        if action == "accept":
            return types.ElicitResult(action="accept", content={"confirm": confirm})
        return types.ElicitResult(action=action)

    return callback, asked


async def test_the_card_says_how_a_model_is_billed_and_results_carry_the_cost(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        official = (await client.call_tool("get_model", {"model": FLUX})).structured_content
        assert official["billing"] == (
            "per output: $0.003 per image (as of 2026-10-07, "
            "https://replicate.com/black-forest-labs/flux-schnell)"
        )
        assert "cold_boot" not in official
        community = (await client.call_tool("get_model", {"model": HELLO})).structured_content
        assert community["billing"] == (
            "per second of its hardware ($0.000225/s on gpu-t4 to $0.001525/s on gpu-h100, "
            "as of 2026-12-01); the API does not say which GPU it uses"
        )
        assert community["cold_boot"].startswith("may cold-boot: a community model with no deployment")

        images = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a fox", "num_outputs": 2}}
        )
        assert images.structured_content["status"] == "succeeded", text_of(images)
        assert (
            "cost ≈ $0.006 (2 images × $0.003; approximate, prices as of 2026-10-07)"
            in images.structured_content["notes"]
        )

        hello = await client.call_tool("run_model", {"model": HELLO, "input": {"text": "cost"}})
        seconds = hello.structured_content["metrics"]["predict_time"]
        low, high = seconds * 0.000225, seconds * 0.001525
        [note] = [n for n in hello.structured_content["notes"] if n.startswith("cost")]
        assert (
            note.startswith("cost ≈ $") and f"{seconds:.1f} s (predict_time) × $0.000225–$0.001525/s" in note
        )
        assert note.endswith("gpu-t4 to gpu-h100; approximate, prices as of 2026-12-01)")
        assert low < high

        started = await client.call_tool("create_prediction", {"model": FLUX, "input": {"prompt": "a fox"}})
        notes = started.structured_content.get("notes") or []
        assert any(
            n.startswith(("estimated cost ≈ $0.003 (1 image × $0.003", "cost ≈ $0.003 (1 image"))
            for n in notes
        )


async def test_an_official_model_without_a_sourced_price_gets_no_number(make_server, mode):
    async with Client(make_server(), mode=mode) as client:
        card = (await client.call_tool("get_model", {"model": LLAMA})).structured_content
        assert card["billing"] == (
            "per output (official model), at a price this server does not know: see "
            f"https://replicate.com/{LLAMA}"
        )
        result = await client.call_tool(
            "run_model", {"model": LLAMA, "input": {"prompt": "Say hi", "max_tokens": 30}}
        )
        assert result.structured_content["status"] == "succeeded", text_of(result)
        costs = [n for n in result.structured_content["notes"] if "cost" in n]
    assert costs == [
        "cost not estimated: billed per output at a price this server does not know (no public source "
        f"for it in its price table): see https://replicate.com/{LLAMA}"
    ]
    assert not any("$" in n for n in costs)


def test_token_prices_count_input_and_output_tokens():
    table = PriceTable(
        {
            **price_table().data,
            "official": {
                "acme/chat": {
                    "unit": "token",
                    "usd_per_million_input": 0.5,
                    "usd_per_million_output": 2.0,
                    "source": "https://example.test",
                    "as_of": "2026-01-02",
                }
            },
        }
    )
    after = table.after(
        "acme/chat", official=True, metrics={"input_token_count": 1000, "output_token_count": 250}, outputs=0
    )
    assert after.text == "≈ $0.001 (1000 input + 250 output tokens; approximate, prices as of 2026-01-02)"
    before = table.before(
        "acme/chat", official=True, input={"prompt": "x" * 400, "max_tokens": 100}, example_seconds=9.0
    )
    assert (before.low, before.basis) == (0.0, "101 input + at most 100 output tokens")
    assert before.high == (101 * 0.5 + 100 * 2.0) / 1e6


def test_every_official_price_names_its_public_source_and_dates():
    for model, price in price_table().official.items():
        assert price["source"].startswith("https://replicate.com/"), model
        assert price["source_says"] and price["as_of"] == "2026-10-07" and price["checked"] == "2026-12-01", (
            model
        )
    assert price_table().unpriced("meta/meta-llama-3-8b-instruct", official=True) is not None
    assert price_table().unpriced(FLUX, official=True) is None
    assert price_table().unpriced(HELLO, official=False) is None


async def test_max_cost_per_run_refuses_before_anything_is_created(make_server, sandbox, mode):
    before = creates(sandbox)
    async with Client(make_server(max_cost_per_run=0.005), mode=mode) as client:
        refused = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 2}}
        )
        assert refused.is_error
        assert (
            "Refused before anything was created: the run's estimated cost ≈ $0.006 (2 images × $0.003; "
            "approximate, prices as of 2026-10-07) is above this server's --max-cost-per-run of $0.005"
        ) in text_of(refused)
        assert "REPLICATE_MCP_MAX_COST_PER_RUN" in text_of(refused)
        assert creates(sandbox) == before
        allowed = await client.call_tool("run_model", {"model": FLUX, "input": {"prompt": "a"}})
        assert allowed.structured_content["status"] == "succeeded"
    assert creates(sandbox) == before + 1


async def test_budget_caps_the_process_spend(make_server, sandbox, mode):
    async with Client(make_server(budget=0.01, toolsets=("core", "account")), mode=mode) as client:
        first = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 2}}
        )
        assert first.structured_content["status"] == "succeeded"
        before = creates(sandbox)
        second = await client.call_tool(
            "create_prediction", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 2}}
        )
        assert second.is_error
        assert (
            "this server's --budget of $0.01 has $0.004 left (estimated $0.006 spent so far), and this would "
            "cost about $0.006"
        ) in text_of(second)
        assert creates(sandbox) == before
        account = (await client.call_tool("get_account", {})).structured_content
        assert account["estimated_spend"] == "$0.006 estimated since this server started (budget $0.01)"


def test_spend_refuses_a_batch_as_a_whole():
    table = price_table()
    spend = Spend(max_per_run=None, budget=0.01)
    one = table.before(FLUX, official=True, input={"num_outputs": 2}, example_seconds=None)
    with pytest.raises(
        Exception,
        match="has \\$0.01 left .estimated \\$0.00 spent so far., and this would cost about \\$0.012",
    ):
        spend.reserve([one, one])
    assert spend.spent == 0.0
    spend.reserve([one])
    assert round(spend.spent, 6) == 0.006


async def test_confirm_above_asks_the_user_and_a_decline_creates_nothing(make_server, sandbox, mode):
    accept, asked = answering("accept")
    async with Client(make_server(confirm_above=0.005), mode=mode, elicitation_callback=accept) as client:
        cheap = await client.call_tool("run_model", {"model": FLUX, "input": {"prompt": "a"}})
        assert cheap.structured_content["status"] == "succeeded" and asked == []
        dear = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 3}}
        )
        assert dear.structured_content["status"] == "succeeded", text_of(dear)
        assert asked == [
            "Start a run of black-forest-labs/flux-schnell? Estimated cost ≈ $0.009 (3 images × $0.003; "
            "approximate, prices as of 2026-10-07); this server asks above $0.005."
        ]

    for action, confirm in (("decline", True), ("cancel", True), ("accept", False)):
        answer, asked = answering(action, confirm)
        before = creates(sandbox)
        async with Client(make_server(confirm_above=0.005), mode=mode, elicitation_callback=answer) as client:
            refused = await client.call_tool(
                "create_prediction", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 4}}
            )
        assert refused.is_error and len(asked) == 1
        assert "the cost confirmation, so nothing was created" in text_of(refused)
        assert creates(sandbox) == before


async def test_a_client_that_cannot_be_asked_gets_the_estimate_and_the_flag(make_server, sandbox, mode):
    before = creates(sandbox)
    async with Client(make_server(confirm_above=0.005), mode=mode) as client:
        refused = await client.call_tool(
            "run_model", {"model": FLUX, "input": {"prompt": "a", "num_outputs": 4}}
        )
    assert refused.is_error
    message = text_of(refused)
    assert (
        "Nothing was created: a run of black-forest-labs/flux-schnell has an estimated cost of ≈ $0.012 "
        "(4 images × $0.003; approximate, prices as of 2026-10-07), "
        "above this server's --confirm-above of $0.005"
    ) in message
    assert "REPLICATE_MCP_CONFIRM_ABOVE" in message and "cannot ask the user" in message
    assert creates(sandbox) == before


async def test_run_batch_starts_many_runs_and_collects_them(make_server, sandbox, mode):
    async with Client(make_server(), mode=mode) as client:
        inputs = [{"text": f"batch-{mode}-{n}"} for n in range(5)]
        result = await client.call_tool("run_batch", {"model": HELLO, "inputs": inputs})
        data = result.structured_content
        assert not result.is_error, text_of(result)
        outputs = sorted(item["output"] for item in data["finished"])
        assert outputs == sorted(f"hello batch-{mode}-{n}" for n in range(5))
        assert data["running"] == [] and "problems" not in data


async def test_run_batch_validates_every_input_first(make_server, sandbox, mode):
    before = creates(sandbox)
    async with Client(make_server(), mode=mode) as client:
        bad = await client.call_tool(
            "run_batch",
            {
                "model": FLUX,
                "inputs": [{"prompt": "ok"}, {"prompt": "x", "num_outputs": 9}, {"promt": "typo"}],
            },
        )
        assert bad.is_error
        message = text_of(bad)
        assert "2 of 3 inputs for black-forest-labs/flux-schnell are invalid; nothing was created." in message
        assert "inputs[1]:" in message and "inputs[2]:" in message and "inputs[0]" not in message
        too_many = await client.call_tool("run_batch", {"model": HELLO, "inputs": [{"text": "a"}] * 51})
        assert too_many.is_error and "inputs: give a list of 1 to 50 input objects (got 51)" in text_of(
            too_many
        )
        empty = await client.call_tool("run_batch", {"model": HELLO, "inputs": []})
        assert empty.is_error and "inputs: give a list of 1 to 50" in text_of(empty)
    assert creates(sandbox) == before


async def test_run_batch_asks_once_for_the_total(make_server, sandbox, mode):
    answer, asked = answering("decline")
    before = creates(sandbox)
    async with Client(make_server(confirm_above=0.01), mode=mode, elicitation_callback=answer) as client:
        refused = await client.call_tool(
            "run_batch", {"model": FLUX, "inputs": [{"prompt": "a", "num_outputs": 2}] * 3}
        )
    assert refused.is_error and "nothing was created" in text_of(refused)
    assert asked == [
        "Start 3 runs of black-forest-labs/flux-schnell? Estimated cost ≈ $0.018 (3 runs, each 2 images "
        "× $0.003; approximate, prices as of 2026-10-07); this server asks above $0.01."
    ]
    assert creates(sandbox) == before
