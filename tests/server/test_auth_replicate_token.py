"""--auth replicate-token: each caller's own Replicate token is the bearer,
checked once with GET /v1/account."""

from __future__ import annotations

import hashlib
import time

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import BaseModel

from replicate_mcp.config import ConfigError
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server
from replicate_mcp.server.auth import Principal, ReplicateTokenVerifier, current_principal

from .http_running import free_port, running_http

pytestmark = pytest.mark.anyio

ALICE, BOB = "r8_alice_0123456789abcdef", "r8_bob_0123456789abcdef"
HELLO = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
JSON_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture
def accounts():
    running = start_sandbox(
        SandboxConfig(time_scale=0.01, seed=3, cold_boot=0.5, accounts={ALICE: "alice", BOB: "bob"})
    )
    yield running
    running.stop()


def account_checks(box) -> int:
    return box.stats()["requests"].get("GET /v1/account", 0)


class Who(BaseModel):
    tenant: str
    token_sha256: str | None


def add_whoami(server) -> None:
    @server.tool()
    def whoami() -> Who:
        """The caller as the server sees it (a hash of its token, never the token)."""
        principal = current_principal()
        token = principal.replicate_token.get_secret_value() if principal.replicate_token else ""
        return Who(
            tenant=principal.tenant,
            token_sha256=hashlib.sha256(token.encode()).hexdigest() if token else None,
        )


async def test_a_token_is_checked_once_then_trusted_for_the_ttl(accounts):
    verifier = ReplicateTokenVerifier(accounts.base_url, ttl=0.5)
    first = await verifier.verify_token(ALICE)
    assert first is not None and (first.subject, first.client_id, first.username) == (
        "alice",
        "alice",
        "alice",
    )
    assert ALICE not in repr(first) and ALICE not in str(first)
    assert (await verifier.verify_token(ALICE)).username == "alice"
    assert (await verifier.verify_token(BOB)).username == "bob"
    assert account_checks(accounts) == 2
    assert ALICE not in repr(verifier.__dict__)  # cached by hash only


async def test_a_revoked_token_stops_working_when_its_entry_expires(accounts):
    verifier = ReplicateTokenVerifier(accounts.base_url, ttl=0.3)
    assert (await verifier.verify_token(ALICE)).username == "alice"
    accounts.config.token = BOB  # the sandbox now accepts only Bob's token: Alice's is revoked
    assert (await verifier.verify_token(ALICE)).username == "alice"  # still inside the TTL
    time.sleep(0.4)
    assert await verifier.verify_token(ALICE) is None
    assert (await verifier.verify_token(BOB)).username == "bob"


async def test_tokens_replicate_refuses_or_that_are_not_replicate_tokens_are_refused(accounts):
    accounts.config.token = ALICE
    verifier = ReplicateTokenVerifier(accounts.base_url)
    assert await verifier.verify_token("r8_unknown_token_000") is None
    assert await verifier.verify_token("not-a-replicate-token") is None
    assert account_checks(accounts) == 1  # only the r8_ token was asked about
    assert await verifier.verify_token("r8_unknown_token_000") is None
    assert account_checks(accounts) == 1  # a refusal is remembered for a few seconds too


def test_outside_a_request_the_principal_is_local():
    assert current_principal() == Principal("local", None)


@pytest.fixture
def token_server(make_settings, accounts):
    def serve(**overrides):
        settings = make_settings(
            transport="http",
            port=free_port(),
            auth="replicate-token",
            base_url=accounts.base_url,
            **overrides,
        )
        server = create_server(settings, base_url=accounts.base_url)
        add_whoami(server)
        return running_http(server, settings)

    return serve


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_each_caller_is_their_own_replicate_account(token_server, mode):
    with token_server() as base:
        for token, username in ((ALICE, "alice"), (BOB, "bob")):
            async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}) as http:
                async with Client(
                    streamable_http_client(f"{base}/mcp", http_client=http), mode=mode
                ) as client:
                    who = (await client.call_tool("whoami", {})).structured_content
                    assert who == {
                        "tenant": username,
                        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                    }
                    listed = await client.call_tool("search_models", {"query": "hello"})
                    assert listed.is_error is False


@pytest.mark.parametrize(
    "given", [None, "Bearer r8_revoked_or_unknown", "Bearer not-a-token", f"Basic {ALICE}"]
)
async def test_no_valid_token_gets_401_saying_what_to_send(token_server, accounts, given):
    accounts.config.token = ALICE
    with token_server() as base:
        async with httpx2.AsyncClient() as http:
            headers = JSON_HEADERS if given is None else {**JSON_HEADERS, "authorization": given}
            response = await http.post(f"{base}/mcp", json=HELLO, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    body = response.json()
    assert body["error"] == "invalid_token"
    assert "Authorization: Bearer r8_" in body["error_description"]
    assert "https://replicate.com/account/api-tokens" in body["error_description"]
    assert "r8_revoked_or_unknown" not in response.text


def test_auth_modes_need_http_and_replace_the_shared_token(make_settings):
    with pytest.raises(ConfigError) as caught:
        make_settings(auth="replicate-token")
    assert "--transport http" in str(caught.value) and "stdio" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        make_settings(transport="http", auth="replicate-token", http_token="shared-secret")
    assert "REPLICATE_MCP_HTTP_TOKEN" in str(caught.value) and "use one" in str(caught.value)
    exposed = make_settings(transport="http", host="0.0.0.0", auth="replicate-token")
    assert exposed.exposure_problem() is None and exposed.protected


def test_auth_is_read_from_the_environment():
    from replicate_mcp.config import load_settings

    settings = load_settings(
        env={
            "REPLICATE_MCP_AUTH": "replicate-token",
            "REPLICATE_MCP_TRANSPORT": "http",
            "REPLICATE_MCP_AUTH_CACHE_TTL": "60",
        }
    )
    assert (settings.auth, settings.auth_cache_ttl) == ("replicate-token", 60.0)
    with pytest.raises(ConfigError, match="REPLICATE_MCP_AUTH"):
        load_settings(env={"REPLICATE_MCP_AUTH": "magic", "REPLICATE_MCP_TRANSPORT": "http"})
