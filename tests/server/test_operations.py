"""/healthz, /readyz and the server card, beside /mcp and outside the credential check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx2
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from replicate_mcp import __version__
from replicate_mcp.server import create_server

from .http_running import free_port, running_http

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]
# A copy of schema.json of github.com/modelcontextprotocol/experimental-ext-server-card (SEP-2127, Apache-2.0)
CARD_SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "server-card" / "schema.json").read_text())
CARD = Draft202012Validator({**CARD_SCHEMA, "$ref": "#/$defs/ServerCard"}, format_checker=FormatChecker())


def card_errors(card: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in CARD.iter_errors(card)]


@pytest.fixture
def serve(make_settings, sandbox):
    def running(**overrides):
        settings = make_settings(transport="http", port=free_port(), **overrides)
        server = create_server(settings, base_url=sandbox.base_url)
        return server, settings, running_http(server, settings)

    return running


@pytest.mark.parametrize("protection", [{"auth": "replicate-token"}, {"http_token": "shared-secret"}, {}])
async def test_health_and_readiness_answer_without_credentials(serve, protection):
    _, _, running = serve(**protection)
    with running as base:
        async with httpx2.AsyncClient() as http:
            health, ready = await http.get(f"{base}/healthz"), await http.get(f"{base}/readyz")
            guarded = await http.post(
                f"{base}/mcp", json={}, headers={"accept": "application/json, text/event-stream"}
            )
            posted = await http.post(f"{base}/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "problems": []})
    assert health.headers["cache-control"] == "no-store"
    assert guarded.status_code == (401 if protection else 400)
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")


async def test_not_ready_when_the_output_folder_cannot_be_written_or_a_check_fails(serve, tmp_path):
    server, settings, running = serve()
    with running as base:
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{base}/readyz")).status_code == 200
            shutil.rmtree(settings.output_dir, ignore_errors=True)
            settings.output_dir.write_text("a file where the folder was")
            broken = await http.get(f"{base}/readyz")

            async def redis_down() -> str | None:
                return "the shared state (redis://10.0.0.9:6379) does not answer: check it is running"

            server.readiness_checks.append(redis_down)
            both = await http.get(f"{base}/readyz")
            settings.output_dir.unlink()
            server.readiness_checks.remove(redis_down)
            again = await http.get(f"{base}/readyz")
    assert broken.status_code == 503 and broken.json()["status"] == "not ready"
    (problem,) = broken.json()["problems"]
    assert problem.startswith(f"the output folder {settings.output_dir} is not writable")
    assert problem.endswith("or set --output-dir")
    assert both.json()["problems"] == [
        problem,
        "the shared state (redis://10.0.0.9:6379) does not answer: check it is running",
    ]
    assert (again.status_code, again.json()["problems"]) == (200, [])


async def test_a_check_that_raises_counts_as_not_ready(serve):
    server, _, running = serve()

    async def broken_check() -> str | None:
        raise ConnectionError("refused")

    server.readiness_checks.append(broken_check)
    with running as base:
        async with httpx2.AsyncClient() as http:
            response = await http.get(f"{base}/readyz")
    assert (response.status_code, response.json()["problems"]) == (
        503,
        ["broken_check failed: ConnectionError"],
    )


@pytest.mark.parametrize(
    ("protection", "header"),
    [
        ({"auth": "replicate-token"}, "Bearer <your Replicate API token (r8_...)>"),
        ({"http_token": "shared-secret"}, "Bearer <the server's shared token, REPLICATE_MCP_HTTP_TOKEN>"),
        ({}, None),
    ],
)
async def test_the_server_card_describes_the_remote_endpoint(serve, protection, header):
    _, settings, running = serve(**protection)
    with running as base:
        async with httpx2.AsyncClient() as http:
            response = await http.get(
                f"{base}/mcp/server-card", headers={"accept": "application/mcp-server-card+json"}
            )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/mcp-server-card+json"
    assert response.headers["access-control-allow-origin"] == "*"
    card = response.json()
    assert card_errors(card) == []
    manifest = json.loads((ROOT / "manifests" / "server.json").read_text())
    assert (card["name"], card["description"], card["version"]) == (
        manifest["name"],
        manifest["description"],
        __version__,
    )
    (remote,) = card["remotes"]
    assert remote["type"] == "streamable-http" and remote["url"] == f"{base}/mcp" == settings.resource_url
    assert (
        "2026-07-28" in remote["supportedProtocolVersions"]
        and "2025-11-25" in remote["supportedProtocolVersions"]
    )
    if header is None:
        assert "headers" not in remote
    else:
        (authorization,) = remote["headers"]
        assert authorization["name"] == "Authorization" and authorization["isSecret"] is True
        assert authorization["description"].startswith(header)


def test_the_card_schema_copy_rejects_what_it_should():
    assert (
        card_errors(
            {"$schema": "https://example.com/x.json", "name": "no-slash", "version": "1", "description": "d"}
        )
        != []
    )
    assert (
        card_errors(
            json.loads((ROOT / "tests" / "fixtures" / "server-card" / "templated-remote.json").read_text())
        )
        == []
    )
