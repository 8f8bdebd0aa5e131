"""Streamable HTTP exposed beyond loopback:
refused without a token, Host/Origin always checked, bearer in any case."""

import logging
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.config import ConfigError
from replicate_mcp.server import create_server, http_app

pytestmark = pytest.mark.anyio

HTTP_TOKEN = "s3cret-http-token-for-tests"
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(make_settings, sandbox):
    """serve(**settings) runs http_app for those settings on loopback
    (whatever --host says) and gives its URL."""

    @contextmanager
    def running(**overrides):
        port = _free_port()
        settings = make_settings(transport="http", port=port, **overrides)
        app = http_app(create_server(settings, base_url=sandbox.base_url), settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(250):
            if server.started:
                break
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True
            thread.join(5)

    return running


def test_non_loopback_host_without_a_token_is_refused_naming_the_fix(make_settings):
    with pytest.raises(ConfigError) as caught:
        make_settings(transport="http", host="0.0.0.0")
    message = str(caught.value)
    assert "--host 0.0.0.0" in message and "REPLICATE_MCP_HTTP_TOKEN" in message
    assert "--host 127.0.0.1" in message and "--allow-unauthenticated" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_token(make_settings, host):
    assert make_settings(transport="http", host=host).exposure_problem() is None


def test_stdio_ignores_the_http_host(make_settings):
    assert make_settings(transport="stdio", host="0.0.0.0").exposure_problem() is None


def test_http_app_refuses_unsafe_settings_built_by_hand(make_settings):
    settings = make_settings(transport="http").model_copy(update={"host": "192.0.2.10"})
    with pytest.raises(ConfigError, match="REPLICATE_MCP_HTTP_TOKEN"):
        http_app(create_server(settings), settings)


def test_cli_refuses_to_start_on_all_interfaces_without_a_token(tmp_path):
    env = {"PATH": "/usr/bin", "REPLICATE_MCP_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "replicate_mcp", "--transport", "http", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode != 0 and result.stdout == ""
    assert "REPLICATE_MCP_HTTP_TOKEN" in result.stderr and "--allow-unauthenticated" in result.stderr
    assert "Traceback" not in result.stderr


def test_environment_lists_of_hosts_and_origins(make_settings):
    from replicate_mcp.config import load_settings

    settings = load_settings(
        env={
            "REPLICATE_MCP_ALLOWED_HOSTS": "mcp.example.com, 10.0.0.5:8000",
            "REPLICATE_MCP_ALLOWED_ORIGINS": "https://app.example.com",
        }
    )
    assert settings.allowed_hosts == ("mcp.example.com", "10.0.0.5:8000")
    assert settings.allowed_origins == ("https://app.example.com",)


async def test_unauthenticated_exposure_is_allowed_only_explicitly_and_loudly(serve, caplog):
    with caplog.at_level(logging.WARNING), serve(host="0.0.0.0", allow_unauthenticated=True) as url:
        async with httpx2.AsyncClient() as http:
            response = await http.post(url, json=HELLO, headers=JSON_HEADERS)
            assert response.status_code == 200
            # Host checks stay on: a name not in the allow-list is refused (DNS rebinding)
            rebound = await http.post(url, json=HELLO, headers={**JSON_HEADERS, "host": "attacker.example"})
            assert rebound.status_code == 421
            foreign = await http.post(
                url, json=HELLO, headers={**JSON_HEADERS, "origin": "https://evil.example"}
            )
            assert foreign.status_code == 403
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("--allow-unauthenticated" in w and "REPLICATE_MCP_HTTP_TOKEN" in w for w in warnings), warnings


async def test_allowed_hosts_and_origins_are_accepted_and_others_refused(serve):
    options = dict(
        host="0.0.0.0",
        http_token=HTTP_TOKEN,
        allowed_hosts=("mcp.example.com",),
        allowed_origins=("https://app.example.com",),
    )
    with serve(**options) as url:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {HTTP_TOKEN}"}) as http:

            async def status(**headers: str) -> int:
                return (await http.post(url, json=HELLO, headers={**JSON_HEADERS, **headers})).status_code

            assert await status(host="mcp.example.com") == 200
            assert await status(host="mcp.example.com:8443") == 200
            assert await status(host="other.example.com") == 421
            assert await status(host="mcp.example.com", origin="https://app.example.com") == 200
            assert await status(host="mcp.example.com", origin="https://evil.example") == 403
            assert await status(origin="http://localhost:3000") == 200


async def test_specific_bind_address_is_an_allowed_host(serve):
    with serve(host="192.0.2.10", http_token=HTTP_TOKEN) as url:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {HTTP_TOKEN}"}) as http:
            ok = await http.post(url, json=HELLO, headers={**JSON_HEADERS, "host": "192.0.2.10:8000"})
            assert ok.status_code == 200
            other = await http.post(url, json=HELLO, headers={**JSON_HEADERS, "host": "192.0.2.11:8000"})
            assert other.status_code == 421


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_in_any_letter_case(serve, scheme):
    with serve(http_token=HTTP_TOKEN) as url:
        async with httpx2.AsyncClient() as http:
            good = await http.post(
                url, json=HELLO, headers={**JSON_HEADERS, "authorization": f"{scheme} {HTTP_TOKEN}"}
            )
            assert good.status_code == 200


@pytest.mark.parametrize(
    "given",
    [
        None,
        f"Basic {HTTP_TOKEN}",
        "Bearer wrong-token",
        f"Bearer{HTTP_TOKEN}",
        f"Bearer {HTTP_TOKEN}x",
        HTTP_TOKEN,
    ],
)
async def test_anything_but_the_bearer_token_gets_401_saying_what_to_send(serve, given):
    with serve(http_token=HTTP_TOKEN) as url:
        async with httpx2.AsyncClient() as http:
            headers = JSON_HEADERS if given is None else {**JSON_HEADERS, "authorization": given}
            response = await http.post(url, json=HELLO, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error_description"]
    assert HTTP_TOKEN not in response.text


async def test_mcp_client_through_an_allowed_host_with_a_lower_case_bearer(serve, mode):
    options = dict(host="0.0.0.0", http_token=HTTP_TOKEN, allowed_hosts=("mcp.example.com",))
    with serve(**options) as url:
        headers = {"authorization": f"bearer {HTTP_TOKEN}", "host": "mcp.example.com"}
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                result = await client.call_tool(
                    "run_model", {"model": "replicate/hello-world", "input": {"text": "hi"}}
                )
                assert result.structured_content["output"] == "hello hi"
