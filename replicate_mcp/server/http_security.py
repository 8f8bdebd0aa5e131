"""Who may talk to the streamable-HTTP endpoint: Host/Origin allow-lists (DNS rebinding) and a bearer token.

The SDK protects Host and Origin on its own only when bound to a loopback name; the allow-lists here are always
explicit, so binding another address never turns the checks off.
"""

from __future__ import annotations

import hmac
import ipaddress

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from replicate_mcp.config import Settings

LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
UNAUTHORIZED = (
    b'{"error":"unauthorized","error_description":'
    b'"send the header Authorization: Bearer <token>, the token being REPLICATE_MCP_HTTP_TOKEN of the server"}'
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
            await send({"type": "http.response.start", "status": 401, "headers": [
                (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": UNAUTHORIZED})
            return
        await app(scope, receive, send)

    return guarded


def _bearer_matches(scope: Scope, expected: bytes) -> bool:
    given = dict(scope.get("headers") or []).get(b"authorization", b"")
    scheme, _, credentials = given.strip().partition(b" ")
    return hmac.compare_digest(credentials.strip(), expected) and scheme.lower() == b"bearer"
