"""Which URLs the server may download outputs from: allow-listed hosts whose addresses are all public."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import anyio

DELIVERY_DOMAIN = "replicate.delivery"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class DownloadRefusedError(Exception):
    """A URL the server refuses to fetch (host not allowed, or it resolves to a non-public address)."""


def host_of(url_or_host: str) -> str:
    """Lower-case host name of a URL, `host:port` or bare host ("" if none)."""
    if _ip(url_or_host.strip("[]")) is not None:
        return url_or_host.strip("[]").lower()
    text = url_or_host if "://" in url_or_host else f"//{url_or_host}"
    return (urlsplit(text).hostname or "").lower().rstrip(".")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    ip = _ip(host)
    return ip.is_loopback if ip is not None else host in LOOPBACK_NAMES or host.endswith(".localhost")


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Why connecting to this IP address is refused, or None if it is a public (or allowed loopback) address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else f"loopback address {ip}"
    if ip.is_link_local:
        return f"link-local address {ip}"
    if ip.is_private:
        return f"private address {ip}"
    if not ip.is_global or ip.is_multicast:
        return f"reserved address {ip}"
    return None


class URLPolicy:
    """https from replicate.delivery (and subdomains) and the API host; http(s) loopback only if allowed."""

    def __init__(self, api_host: str, *, allow_loopback: bool = False) -> None:
        self.api_host = host_of(api_host)
        self.allow_loopback = allow_loopback

    def host_allowed(self, host: str) -> bool:
        if self.allow_loopback and is_loopback_host(host):
            return True
        return host == DELIVERY_DOMAIN or host.endswith("." + DELIVERY_DOMAIN) or host == self.api_host

    def check_shape(self, url: str) -> str:
        """Scheme and host checks that need no network. Returns the host."""
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
        if scheme not in ("http", "https") or not host:
            raise DownloadRefusedError(f"not an http(s) URL: {url[:200]}")
        if not self.host_allowed(host):
            raise DownloadRefusedError(f"host {host!r} is not on the download allow-list ({self.describe()})")
        if scheme == "http" and not (self.allow_loopback and is_loopback_host(host)):
            raise DownloadRefusedError(f"plain http is refused for {host!r}: outputs are only downloaded over https")
        return host

    async def check(self, url: str) -> None:
        """Full check, DNS included. Raises DownloadRefusedError before any connection is made."""
        host = self.check_shape(url)
        port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise DownloadRefusedError(f"cannot resolve host {host!r}: {exc}") from None
        if not infos:
            raise DownloadRefusedError(f"host {host!r} has no address")
        for info in infos:
            problem = address_problem(str(info[4][0]), allow_loopback=self.allow_loopback)
            if problem:
                raise DownloadRefusedError(f"host {host!r} resolves to a {problem}: refused")

    def describe(self) -> str:
        hosts = [DELIVERY_DOMAIN, "*." + DELIVERY_DOMAIN, self.api_host]
        if self.allow_loopback:
            hosts.append("loopback")
        return ", ".join(h for h in hosts if h)
