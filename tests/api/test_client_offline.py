"""Client behaviour that needs no server: a closed loopback port, argument checks, secrecy of the token."""

import logging
import socket

import httpx2
import pytest

from replicate_mcp import __version__
from replicate_mcp.api import (
    USER_AGENT,
    APIConnectionError,
    MissingTokenError,
    ReplicateClient,
    UnsafeURLError,
    normalize_base_url,
)

TOKEN = "r8_offlineSecretToken0123456789"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """Counts every attempt the client makes (httpx2 calls request hooks once per send)."""

    def __init__(self):
        self.requests: list[httpx2.Request] = []

    async def __call__(self, request):
        self.requests.append(request)

    def client(self):
        return httpx2.AsyncClient(event_hooks={"request": [self]}, timeout=httpx2.Timeout(5, connect=2))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.replicate.com", "https://api.replicate.com/v1"),
        ("https://api.replicate.com/", "https://api.replicate.com/v1"),
        ("https://api.replicate.com/v1", "https://api.replicate.com/v1"),
        ("https://api.replicate.com/v1/", "https://api.replicate.com/v1"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000/v1"),
    ],
)
def test_base_url_normalization(given, expected):
    assert normalize_base_url(given) == expected
    assert ReplicateClient(TOKEN, base_url=given).base_url == expected


def test_user_agent_has_package_version():
    assert USER_AGENT == f"replicate-mcp/{__version__}"


def test_token_is_not_in_repr_or_str():
    client = ReplicateClient(TOKEN)
    assert TOKEN not in repr(client)
    assert TOKEN not in str(client)
    assert "token=set" in repr(client)
    assert "token=missing" in repr(ReplicateClient(None))
    assert not ReplicateClient("").has_token


@pytest.mark.anyio
async def test_missing_token_raises_before_any_request():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(None, base_url=f"http://127.0.0.1:{closed_port()}", http_client=http)
        with pytest.raises(MissingTokenError):
            await client.get_prediction("abc")
        with pytest.raises(MissingTokenError):
            await client.create_prediction(model="black-forest-labs/flux-schnell", input={"prompt": "x"})
        with pytest.raises(MissingTokenError):
            await client.list_predictions()
    assert recorder.requests == []


@pytest.mark.anyio
async def test_search_needs_no_token_and_sends_none():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(
            None, base_url=f"http://127.0.0.1:{closed_port()}", http_client=http, max_retries=0
        )
        with pytest.raises(APIConnectionError):
            await client.search("flux")
    assert len(recorder.requests) == 1
    assert "authorization" not in recorder.requests[0].headers


@pytest.mark.anyio
async def test_connect_error_is_retried_then_raised(caplog):
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(
            TOKEN,
            base_url=f"http://127.0.0.1:{closed_port()}",
            http_client=http,
            max_retries=3,
            backoff_base=0.01,
        )
        with (
            caplog.at_level(logging.DEBUG, logger="replicate_mcp"),
            pytest.raises(APIConnectionError) as info,
        ):
            await client.get_model("replicate", "hello-world")
    assert len(recorder.requests) == 4  # first try + 3 retries
    assert info.value.status is None
    assert "ConnectError" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    assert caplog.text.count("retry") == 3


@pytest.mark.anyio
async def test_create_is_retried_when_the_connection_never_opened():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(
            TOKEN,
            base_url=f"http://127.0.0.1:{closed_port()}",
            http_client=http,
            max_retries=2,
            backoff_base=0.01,
        )
        with pytest.raises(APIConnectionError) as info:
            await client.create_prediction(model="replicate/hello-world", input={"text": "x"})
    assert len(recorder.requests) == 3
    assert "may or may not" not in str(info.value)  # it surely was not created


@pytest.mark.anyio
async def test_requests_carry_auth_user_agent_and_accept():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(
            TOKEN, base_url=f"http://127.0.0.1:{closed_port()}", http_client=http, max_retries=0
        )
        with pytest.raises(APIConnectionError):
            await client.get_account()
    headers = recorder.requests[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["user-agent"] == USER_AGENT
    assert headers["accept"] == "application/json"


@pytest.mark.anyio
async def test_cursor_on_another_origin_is_refused_without_a_request():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(TOKEN, base_url="http://127.0.0.1:9", http_client=http)
        with pytest.raises(UnsafeURLError):
            await client.list_predictions(cursor="https://evil.example/v1/predictions?cursor=x")
        with pytest.raises(UnsafeURLError):
            await client.list_models(cursor="/v1/models?cursor=x")
    assert recorder.requests == []


@pytest.mark.anyio
async def test_stream_to_a_foreign_host_gets_no_token():
    recorder = Recorder()
    port = closed_port()
    async with recorder.client() as http:
        client = ReplicateClient(TOKEN, base_url="https://api.replicate.com", http_client=http, max_retries=0)
        with pytest.raises(APIConnectionError):
            async for _ in client.stream_events(f"http://127.0.0.1:{port}/v1/streams/x"):
                pass
    assert "authorization" not in recorder.requests[0].headers
    assert recorder.requests[0].headers["accept"] == "text/event-stream"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"model": "a/b", "version": "a/b"},
        {"model": "a/b", "deployment": "c/d"},
        {"model": "not-owner-name"},
        {"deployment": "a/b/c"},
        {"model": "a/b", "wait": 0},
        {"model": "a/b", "wait": 61},
        {"model": "a/b", "wait": True},
        {"model": "a/b", "cancel_after": True},
    ],
)
async def test_create_prediction_argument_checks(kwargs):
    client = ReplicateClient(TOKEN, base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError):
        await client.create_prediction(input={}, **kwargs)
    await client.aclose()


@pytest.mark.anyio
async def test_path_segments_are_escaped_and_dot_segments_refused():
    recorder = Recorder()
    async with recorder.client() as http:
        client = ReplicateClient(
            TOKEN, base_url=f"http://127.0.0.1:{closed_port()}", http_client=http, max_retries=0
        )
        with pytest.raises(ValueError):
            await client.get_model("..", "x")
        with pytest.raises(APIConnectionError):
            await client.get_model("a/b", "c?d")
    assert recorder.requests[0].url.raw_path == b"/v1/models/a%2Fb/c%3Fd"
