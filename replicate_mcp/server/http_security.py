"""Who may talk to the streamable-HTTP endpoint: Host/Origin allow-lists (DNS rebinding) and a bearer token.

The SDK protects Host and Origin on its own only when bound to a loopback name; the allow-lists here are
always explicit, so binding another address never turns the checks off.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from replicate_mcp.config import Settings

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
UNAUTHORIZED = (
    b'{"error":"unauthorized","error_description":'
    b'"send the header Authorization: Bearer <token>, '
    b'the token being REPLICATE_MCP_HTTP_TOKEN of the server"}'
)


def _host_patterns(host: str) -> list[str]:
    """Host header patterns for one allowed host: without a port it matches any port (and none)."""
    host = host.strip().lower()
    if _is_ipv6(host):
        host = f"[{host}]"
    if host.endswith("]") or ":" not in host:
        return [host, f"{host}:*"]
    return [host]


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Loopback names always; the bound address when it is a specific one; then --allowed-hosts/-origins."""
    hosts = list(LOOPBACK_HOSTS)
    if settings.host.strip("[]") not in WILDCARD_BINDS:
        hosts += _host_patterns(settings.host.strip("[]"))
    for allowed in settings.allowed_hosts:
        hosts += _host_patterns(allowed)
    origins = [*LOOPBACK_ORIGINS, *(o.strip().rstrip("/") for o in settings.allowed_origins)]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """`app` behind `Authorization: Bearer <token>` (the scheme in any letter case); 401 otherwise."""
    expected = token.encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _bearer_matches(scope, expected):
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": UNAUTHORIZED})
            return
        await app(scope, receive, send)

    return guarded


AUTH_HELP = {
    "replicate-token": "send your own Replicate API token as the header Authorization: "
    "Bearer r8_... (create one at https://replicate.com/account/api-tokens); "
    "a token Replicate refuses is refused here",
    "oauth": "sign in with your team's identity provider and send its access token as Authorization: Bearer "
    "<token>; the WWW-Authenticate header's resource_metadata URL names the provider. Expired tokens and "
    "tokens issued for another audience are refused",
}


def explain_unauthorized(app: ASGIApp, mode: str) -> ASGIApp:
    """The SDK's 401 for `--auth <mode>` with a body that says what to send;
    its WWW-Authenticate header is kept."""
    body = json.dumps(
        {"error": "invalid_token", "error_description": "no valid credential: " + AUTH_HELP[mode]}
    ).encode()

    async def explained(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        replacing = False

        async def sending(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 401:
                replacing = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                message = {**message, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
            elif message["type"] == "http.response.body" and replacing:
                if message.get("more_body"):
                    return
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await app(scope, receive, sending)

    return explained


def _bearer_matches(scope: Scope, expected: bytes) -> bool:
    given = dict(scope.get("headers") or []).get(b"authorization", b"")
    scheme, _, credentials = given.strip().partition(b" ")
    return hmac.compare_digest(credentials.strip(), expected) and scheme.lower() == b"bearer"
