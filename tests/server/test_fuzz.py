"""Every tool driven over the MCP wire with garbage: each answer is a result or a readable tool error, never a
protocol error and never "failed unexpectedly".
REPLICATE_MCP_FUZZ_EXAMPLES raises the number of calls (default 60)."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

EXAMPLES = int(os.environ.get("REPLICATE_MCP_FUZZ_EXAMPLES", "60"))
MODELS = [
    "replicate/hello-world",
    "black-forest-labs/flux-schnell",
    "openai/whisper",
    "sandbox/text-to-video",
]
TOOLS = [
    "search_models",
    "list_collections",
    "get_model",
    "validate_input",
    "get_prediction",
    "wait_for_prediction",
    "list_predictions",
]  # cancel, create and run are driven with garbage that fails first

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(MODELS + ["", ".", "..", "a/b/c", "x" * 500, "\x00"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
REQUIRED = {
    "search_models": ["query"],
    "get_model": ["model"],
    "validate_input": ["model", "input"],
    "get_prediction": ["id"],
    "wait_for_prediction": ["ids"],
    "cancel_prediction": ["id"],
    "run_model": ["model", "input"],
    "create_prediction": ["model", "input"],
    "upload_file": ["path"],
    "list_collections": [],
    "list_predictions": [],
}
strings = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["", ".", "..", "a/b", "a/b/c", "x" * 500, "a\x00b", "../../etc/passwd", "deployments/x/y", *MODELS]
    ),
)
calls = st.sampled_from(sorted(REQUIRED)).flatmap(
    lambda tool: st.tuples(
        st.just(tool),
        st.fixed_dictionaries(
            {name: st.one_of(strings, values) for name in REQUIRED[tool]},
            optional={
                name: values
                for name in (
                    "limit",
                    "slug",
                    "cursor",
                    "wait_seconds",
                    "logs_chars",
                    "images",
                    "cancel_after",
                    "keep_running",
                )
            },
        ),
    )
)


def _safe(tool: str, arguments: dict) -> dict:
    """Keep runs and creates from starting real work: their model is always one that does not exist."""
    if tool in ("run_model", "create_prediction"):
        return {**arguments, "model": f"fuzz/{abs(hash(str(arguments.get('model')))) % 1000}"}
    return arguments


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_garbage_gets_a_result_or_a_readable_tool_error(make_server, mode):
    seen: list[tuple[str, dict]] = []

    async with Client(make_server(max_wait=1), mode=mode) as client:

        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(calls)
        def collect(call):
            seen.append(call)

        collect()
        for tool, arguments in seen:
            arguments = _safe(tool, arguments)
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:  # a protocol error is a finding
                pytest.fail(f"{tool}({arguments!r}) raised a protocol error: {exc}")
            text = "".join(b.text for b in result.content if b.type == "text")
            assert "failed unexpectedly" not in text, (tool, arguments, text)
            if result.is_error:
                assert text.startswith(f"Error executing tool {tool}: ") or text.startswith(
                    "Input validation error"
                ), text
                assert len(text) < 25_000
            else:
                assert result.structured_content is not None, (tool, arguments)
