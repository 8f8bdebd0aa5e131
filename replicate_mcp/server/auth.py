"""Who is calling over HTTP: each user's own Replicate token,
or an access token from the team's identity provider.

The server is an OAuth 2.1 resource server built on the SDK (`MCPServer(token_verifier=...,
auth=AuthSettings(...))`): the SDK's middleware reads `Authorization: Bearer`, asks a verifier here,
answers 401 with `WWW-Authenticate` when it says no, and keeps the verified `AccessToken` in a context
variable for the request's handlers.

- `--auth replicate-token`: the bearer is the caller's Replicate API token. It is checked once with
  `GET /v1/account` and trusted for `auth_cache_ttl` seconds, cached under its SHA-256, never in clear; a
  revoked token stops working when its entry expires. The tenant is the Replicate account's username, and the
  caller's runs use the caller's token.
- `--auth oauth`: the bearer is a JWT access token. PyJWT checks its signature against the issuer's JWKS
  (found in the issuer's metadata unless `--oauth-jwks-url` is given), `iss`, `aud`, `exp` and `nbf`. The
  tenant is its `sub`; models run with the server's own `REPLICATE_API_TOKEN`. The SDK serves the RFC 9728
  metadata at `/.well-known/oauth-protected-resource/mcp`.

`current_principal()` is the one question the rest of the server asks.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio.to_thread
import httpx2
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from pydantic import SecretStr

from replicate_mcp.api import ReplicateClient
from replicate_mcp.api._errors import AuthenticationError, ReplicateError
from replicate_mcp.config import Settings

if TYPE_CHECKING:  # PyJWT (and cryptography under it) is loaded only by a server with --auth oauth
    import jwt

log = logging.getLogger(__name__)

LOCAL_TENANT = "local"
REPLICATE_ISSUER = "https://replicate.com"  # AuthSettings needs one; token mode serves no OAuth metadata
REFUSED_TTL = 10.0  # seconds a refused token is not asked about again
CACHE_LIMIT = 10_000
JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
JWKS_LIFESPAN = 300  # seconds PyJWKClient keeps the key set before fetching it again


@dataclass(frozen=True)
class Principal:
    tenant: str  # account username (token mode) or the JWT sub (oauth mode); "local" otherwise
    replicate_token: (
        SecretStr | None
    )  # the caller's own Replicate token in token mode; None = use the server's


def current_principal() -> Principal:
    """The caller of the current request; `Principal("local", None)` outside a request or without --auth."""
    access = get_access_token()
    if isinstance(access, ReplicateAccountToken):
        return Principal(access.username, SecretStr(access.token))
    if access is not None and access.subject:
        return Principal(access.subject, None)
    return Principal(LOCAL_TENANT, None)


class ReplicateAccountToken(AccessToken):
    """A caller's Replicate token, verified: its account's username is the tenant."""

    username: str

    def __repr__(self) -> str:
        return f"ReplicateAccountToken(username={self.username!r})"

    __str__ = __repr__


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ReplicateTokenVerifier(TokenVerifier):
    """Checks a Replicate token with `GET /v1/account`, once per `ttl` seconds per token."""

    def __init__(self, api_base: str | Callable[[], str], ttl: float = 300.0) -> None:
        self._api_base = api_base
        self.ttl = ttl
        self._known: dict[
            str, tuple[float, str | None]
        ] = {}  # sha256 -> (expires on the monotonic clock, username)
        self._checking: dict[str, asyncio.Future[str | None]] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        token = token.strip()
        if not token.startswith("r8_"):
            return None
        key = fingerprint(token)
        known = self._known.get(key)
        if known is not None and known[0] > time.monotonic():
            username = known[1]
        elif key in self._checking:
            username = await asyncio.shield(self._checking[key])
        else:
            future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._checking[key] = future
            try:
                username = await self._account(token, key)
                future.set_result(username)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()  # retrieved here: waiters get it too, and nothing logs "never retrieved"
                raise
            finally:
                del self._checking[key]
        if username is None:
            return None
        return ReplicateAccountToken(
            token=token, client_id=username, scopes=[], subject=username, username=username
        )

    async def _account(self, token: str, key: str) -> str | None:
        try:
            base_url = self._api_base if isinstance(self._api_base, str) else self._api_base()
            async with ReplicateClient(token, base_url=base_url, max_retries=1, backoff_base=0.2) as client:
                account = await client.get_account()
        except AuthenticationError:
            self._remember(key, None, REFUSED_TTL)
            return None
        except ReplicateError as exc:  # Replicate unreachable: refuse this request, ask again on the next
            log.warning("could not check a caller's Replicate token (%s): answering 401", exc)
            return None
        if not account.username:
            return None
        self._remember(key, account.username, self.ttl)
        return account.username

    def _remember(self, key: str, username: str | None, ttl: float) -> None:
        if len(self._known) >= CACHE_LIMIT:
            now = time.monotonic()
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
            while len(self._known) >= CACHE_LIMIT:
                del self._known[next(iter(self._known))]
        self._known[key] = (time.monotonic() + ttl, username)


class JWTVerifier(TokenVerifier):
    """Verifies JWT access tokens against the issuer's JWKS with PyJWT."""

    def __init__(self, issuer: str, audience: str, *, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKClient | None = None
        self._discovery = asyncio.Lock()

    async def verify_token(self, token: str) -> AccessToken | None:
        import jwt

        try:
            keys = await self._key_client()
            signing_key = await anyio.to_thread.run_sync(keys.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=JWT_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
                leeway=30,
            )
        except (jwt.PyJWTError, httpx2.HTTPError, ValueError, KeyError) as exc:
            log.info("refused an access token: %s", type(exc).__name__)
            return None
        return AccessToken(
            token=token,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims["sub"]),
            scopes=_scopes(claims),  # the SDK checks AuthSettings.required_scopes (403 insufficient_scope)
            expires_at=int(claims["exp"]),
            resource=self.audience,
            subject=str(claims["sub"]),
            claims={"iss": claims["iss"]},
        )

    async def _key_client(self) -> jwt.PyJWKClient:
        if self._keys is None:
            async with self._discovery:
                if self._keys is None:
                    url = self._jwks_url or await discover_jwks_url(self.issuer)
                    from jwt import PyJWKClient

                    self._keys = PyJWKClient(url, cache_keys=True, lifespan=JWKS_LIFESPAN, timeout=10)
        return self._keys


def _scopes(claims: dict) -> list[str]:
    value = claims.get("scope", claims.get("scp", ""))
    return value.split() if isinstance(value, str) else [str(s) for s in value]


async def discover_jwks_url(issuer: str) -> str:
    """`jwks_uri` from the issuer's RFC 8414 or OpenID Connect metadata."""
    base = issuer.rstrip("/")
    scheme, _, rest = base.partition("://")
    host, _, path = rest.partition("/")
    candidates = [
        f"{scheme}://{host}/.well-known/oauth-authorization-server{'/' + path if path else ''}",
        f"{base}/.well-known/openid-configuration",
    ]
    async with httpx2.AsyncClient(timeout=10) as http:
        for url in candidates:
            try:
                response = await http.get(url)
                if response.status_code == 200 and isinstance(response.json().get("jwks_uri"), str):
                    return response.json()["jwks_uri"]
            except (httpx2.HTTPError, ValueError):
                continue
    raise ValueError(f"no jwks_uri in the metadata of {issuer}; pass --oauth-jwks-url")


def auth_parts(
    settings: Settings, api_base: str | Callable[[], str]
) -> tuple[TokenVerifier | None, AuthSettings | None]:
    """The verifier and AuthSettings for MCPServer(token_verifier=..., auth=...); (None, None) without --auth.

    `api_base` is the Replicate API the server itself uses (a callable when it is known only once running)."""
    if settings.auth == "replicate-token":
        verifier: TokenVerifier = ReplicateTokenVerifier(api_base, ttl=settings.auth_cache_ttl)
        # validated from the URLs as written: AnyHttpUrl(...) itself would add a trailing slash to a bare host
        return verifier, AuthSettings.model_validate(
            {"issuer_url": REPLICATE_ISSUER, "resource_server_url": None}
        )
    if settings.auth == "oauth":
        assert settings.oauth_issuer and settings.oauth_audience  # config.auth_problem() refused otherwise
        verifier = JWTVerifier(
            settings.oauth_issuer, settings.oauth_audience, jwks_url=settings.oauth_jwks_url
        )
        return verifier, AuthSettings.model_validate(
            {
                "issuer_url": settings.oauth_issuer,
                "resource_server_url": settings.resource_url,
                "required_scopes": list(settings.oauth_scopes) or None,
                "validate_token_resource": False,  # JWTVerifier checks `aud` itself
            }
        )
    return None, None
