"""--allow-models names deployments (deployments/owner/name, deployments/owner/*, deployments/*): settings
built by load_settings, then the server over the MCP wire runs what they allow and refuses the rest."""

import httpx2
import pytest
from mcp import Client

from tests.server.conftest import TOKEN

pytestmark = pytest.mark.anyio

HELLO = "replicate/hello-world"
PREFIX = "Error executing tool {}: "


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


@pytest.fixture
def deployment(sandbox) -> tuple[str, str]:
    """(owner, slug) of the seeded deployment of replicate/hello-world in the tests' account."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    [dep] = [
        d
        for d in httpx2.get(f"{sandbox.base_url}/deployments", headers=headers).json()["results"]
        if d["name"] == "hello-world-dep"
    ]
    return dep["owner"], f"deployments/{dep['owner']}/hello-world-dep"


@pytest.mark.parametrize("form", ["name", "owner/*", "*"])
async def test_an_allowed_deployment_runs_and_nothing_else_does(make_server, mode, deployment, form):
    owner, slug = deployment
    pattern = {"name": slug, "owner/*": f"deployments/{owner}/*", "*": "deployments/*"}[form]
    async with Client(make_server(allow_models=(pattern,)), mode=mode) as client:
        ran = await client.call_tool("run_model", {"model": slug, "input": {"text": "dep"}})
        assert ran.structured_content["output"] == "hello dep", text_of(ran)
        card = await client.call_tool("get_model", {"model": slug})
        assert card.structured_content["model"] == slug, text_of(card)
        refused = await client.call_tool("run_model", {"model": HELLO, "input": {"text": "direct"}})
        assert text_of(refused) == PREFIX.format("run_model") + (
            f"{HELLO} is not allowed on this server (allowed: {pattern}); "
            "ask the user to add it to --allow-models"
        )


async def test_another_owners_deployments_are_not_allowed(make_server, mode, deployment):
    _, slug = deployment
    async with Client(make_server(allow_models=("deployments/someone-else/*",)), mode=mode) as client:
        refused = await client.call_tool("run_model", {"model": slug, "input": {"text": "dep"}})
        assert text_of(refused) == PREFIX.format("run_model") + (
            f"{slug} is not allowed on this server (allowed: deployments/someone-else/*); "
            "ask the user to add it to --allow-models"
        )
