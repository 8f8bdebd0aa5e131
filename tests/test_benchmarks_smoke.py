"""The benchmark package imports and its P1 measurement works (figures only; no timing)."""

import pytest

from tests.benchmarks.bench_tools import measure_tool_list

pytestmark = pytest.mark.anyio


async def test_tool_list_measurement():
    sizes = await measure_tool_list()
    assert sizes["tools"] == 11
    assert sizes["visible_chars"] > 0
    assert sizes["whole_chars"] > sizes["visible_chars"]
