"""--auth oauth: JWT access tokens from a local issuer made here
(generated keys, a JWKS served on loopback)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from replicate_mcp.config import ConfigError, load_settings
from replicate_mcp.server import create_server
from replicate_mcp.server.auth import JWTVerifier

from .http_running import free_port, running_http
from .test_auth_replicate_token import HELLO, JSON_HEADERS, Who, add_whoami

pytestmark = pytest.mark.anyio


class Issuer:
    """An identity provider's public side: RFC 8414 metadata and a JWKS with an RSA and an EC key."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks = {
            "keys": [
                {
                    **RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True),
                    "kid": "rsa-1",
                    "use": "sig",
                    "alg": "RS256",
                },
                {
                    **ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True),
                    "kid": "ec-1",
                    "use": "sig",
                    "alg": "ES256",
                },
            ]
        }
        self.fetches = 0
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/.well-known/oauth-authorization-server":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}
                elif self.path == "/jwks":
                    issuer.fetches += 1
                    body = issuer.jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def token(self, audience: str, *, kid: str = "rsa-1", key=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": audience, "sub": "user-42", "iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        signer = key or (self.ec if kid.startswith("ec") else self.rsa)
        algorithm = "ES256" if isinstance(signer, ec.EllipticCurvePrivateKey) else "RS256"
        return jwt.encode(body, signer, algorithm=algorithm, headers={"kid": kid})


@pytest.fixture(scope="module")
def issuer():
    running = Issuer()
    yield running
    running.http.shutdown()


AUDIENCE = "https://mcp.example.com/mcp"


async def test_valid_tokens_from_either_key_give_their_subject(issuer):
    verifier = JWTVerifier(issuer.url, AUDIENCE)  # the JWKS is found through the issuer's metadata
    for kid in ("rsa-1", "ec-1"):
        access = await verifier.verify_token(
            issuer.token(AUDIENCE, kid=kid, scope="replicate:run models:read")
        )
        assert access is not None
        assert (access.subject, access.scopes, access.resource) == (
            "user-42",
            ["replicate:run", "models:read"],
            AUDIENCE,
        )
        assert access.claims == {"iss": issuer.url}


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not yet valid",
        "wrong audience",
        "wrong issuer",
        "bad signature",
        "unknown kid",
        "no exp",
        "no sub",
        "not a jwt",
        "alg none",
    ],
)
async def test_invalid_tokens_are_refused(issuer, case):
    verifier = JWTVerifier(issuer.url, AUDIENCE, jwks_url=f"{issuer.url}/jwks")
    now = int(time.time())
    token = {
        "expired": lambda: issuer.token(AUDIENCE, exp=now - 120),
        "not yet valid": lambda: issuer.token(AUDIENCE, nbf=now + 600),
        "wrong audience": lambda: issuer.token("https://other.example.com/mcp"),
        "wrong issuer": lambda: issuer.token(AUDIENCE, iss="https://evil.example.com"),
        "bad signature": lambda: issuer.token(
            AUDIENCE, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "unknown kid": lambda: issuer.token(AUDIENCE, kid="rsa-9"),
        "no exp": lambda: issuer.token(AUDIENCE, exp=None),
        "no sub": lambda: issuer.token(AUDIENCE, sub=None),
        "not a jwt": lambda: "r8_looks_like_a_replicate_token",
        "alg none": lambda: jwt.encode(
            {"iss": issuer.url, "aud": AUDIENCE, "sub": "x", "exp": now + 60}, None, algorithm="none"
        ),
    }[case]()
    assert await verifier.verify_token(token) is None


@pytest.fixture
def oauth_server(make_settings, sandbox, issuer):
    def serve(**overrides):
        port = free_port()
        settings = make_settings(
            transport="http",
            port=port,
            auth="oauth",
            oauth_issuer=issuer.url,
            oauth_audience=f"http://127.0.0.1:{port}/mcp",
            **overrides,
        )
        server = create_server(settings, base_url=sandbox.base_url)
        add_whoami(server)
        return running_http(server, settings)

    return serve


async def test_missing_or_bad_token_gets_401_pointing_at_the_protected_resource_metadata(
    oauth_server, issuer
):
    with oauth_server() as base:
        async with httpx2.AsyncClient() as http:
            missing = await http.post(f"{base}/mcp", json=HELLO, headers=JSON_HEADERS)
            expired = await http.post(
                f"{base}/mcp",
                json=HELLO,
                headers={
                    **JSON_HEADERS,
                    "authorization": f"Bearer {issuer.token(f'{base}/mcp', exp=int(time.time()) - 120)}",
                },
            )
            metadata = await http.get(f"{base}/.well-known/oauth-protected-resource/mcp")
    for response in (missing, expired):
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token"')
        assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert "identity provider" in response.json()["error_description"]
    assert metadata.status_code == 200
    assert metadata.json()["resource"] == f"{base}/mcp"
    assert metadata.json()["authorization_servers"] == [issuer.url]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_mcp_session_with_a_valid_token_runs_models_on_the_teams_account(oauth_server, issuer, mode):
    with oauth_server() as base:
        token = issuer.token(f"{base}/mcp", sub="alice@example.com")
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {token}"}) as http:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client:
                who = (await client.call_tool("whoami", {})).structured_content
                assert Who.model_validate(who) == Who(tenant="alice@example.com", token_sha256=None)
                result = await client.call_tool(
                    "run_model", {"model": "replicate/hello-world", "input": {"text": "sso"}}
                )
                assert result.structured_content["output"] == "hello sso"


async def test_required_scopes_answer_403_when_missing(oauth_server, issuer):
    with oauth_server(oauth_scopes=("replicate:run",)) as base:
        async with httpx2.AsyncClient() as http:

            async def status(**claims) -> int:
                headers = {**JSON_HEADERS, "authorization": f"Bearer {issuer.token(f'{base}/mcp', **claims)}"}
                return (await http.post(f"{base}/mcp", json=HELLO, headers=headers)).status_code

            assert await status(scope="models:read") == 403
            assert await status(scope="models:read replicate:run") == 200


def test_oauth_settings_name_what_is_missing(tmp_path):
    base = {
        "REPLICATE_MCP_TRANSPORT": "http",
        "REPLICATE_MCP_AUTH": "oauth",
        "REPLICATE_MCP_DATA_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(env={**base, "REPLICATE_API_TOKEN": "r8_team"})
    assert "--oauth-issuer / REPLICATE_MCP_OAUTH_ISSUER" in str(caught.value)
    assert "--oauth-audience / REPLICATE_MCP_OAUTH_AUDIENCE" in str(caught.value)
    with pytest.raises(ConfigError, match="set REPLICATE_API_TOKEN"):
        load_settings(
            env={
                **base,
                "REPLICATE_MCP_OAUTH_ISSUER": "https://id.example.com",
                "REPLICATE_MCP_OAUTH_AUDIENCE": "https://mcp.example.com/mcp",
            }
        )
    settings = load_settings(
        env={
            **base,
            "REPLICATE_API_TOKEN": "r8_team",
            "REPLICATE_MCP_HOST": "0.0.0.0",
            "REPLICATE_MCP_OAUTH_ISSUER": "https://id.example.com",
            "REPLICATE_MCP_PUBLIC_URL": "https://mcp.example.com",
            "REPLICATE_MCP_OAUTH_SCOPES": "replicate:run, models:read",
        }
    )
    assert settings.oauth_audience == "https://mcp.example.com/mcp" == settings.resource_url
    assert settings.oauth_scopes == ("replicate:run", "models:read") and settings.exposure_problem() is None
