"""Which URLs the server may download outputs from: allow-listed hosts whose addresses are all public."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import anyio
import httpx2

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


def _networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# IANA special-purpose registries, entries not globally reachable (Python's properties miss some, by version).
PRIVATE = _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
LINK_LOCAL = _networks("169.254.0.0/16", "fe80::/10")
RESERVED = _networks(
    "0.0.0.0/8",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/96",
    "64:ff9b:1::/48",
    "100::/63",
    "2001::/23",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fec0::/10",
    "ff00::/8",
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to `ip` reaches: IPv4-mapped, 6to4 (2002::/16) or NAT64 (64:ff9b::/96)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Why connecting to this IP address is refused, or None if it is a public
    (or allowed loopback) address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # the very same IPv4 host
    if ip.is_loopback:
        return None if allow_loopback else f"loopback address {ip}"
    inner = embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    if (
        inner is not None
    ):  # reached through a translator: the IPv4 address decides, with no loopback allowance
        problem = address_problem(str(inner), allow_loopback=False)
        return f"{problem} (inside {ip})" if problem else None
    if any(ip in net for net in PRIVATE):
        return f"private address {ip}"
    if ip.is_link_local or any(ip in net for net in LINK_LOCAL):
        return f"link-local address {ip}"
    if ip.is_private or not ip.is_global or ip.is_multicast or any(ip in net for net in RESERVED):
        return f"reserved address {ip}"
    return None


async def _resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class URLPolicy:
    """https from replicate.delivery (and subdomains) and the API host; http(s) loopback only if allowed."""

    def __init__(
        self,
        api_host: str,
        *,
        allow_loopback: bool = False,
        resolver: Callable[[str, int], Awaitable[list[str]]] = _resolve,
    ) -> None:
        self.api_host = host_of(api_host)
        self.allow_loopback = allow_loopback
        self._resolve = resolver

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
            raise DownloadRefusedError(
                f"plain http is refused for {host!r}: outputs are only downloaded over https"
            )
        return host

    async def check(self, url: str) -> str:
        """Full check, DNS included, before any connection is made: the checked IP address to connect to.

        Every address the host resolves to must be acceptable; connect to the one returned (see `pinned`), so
        that a second, different DNS answer (rebinding) is never used.
        """
        host = self.check_shape(url)
        if _ip(host) is not None:
            addresses = [host]
        else:
            port = urlsplit(url).port or (443 if url.lower().startswith("https") else 80)
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise DownloadRefusedError(f"cannot resolve host {host!r}: {exc}") from None
        if not addresses:
            raise DownloadRefusedError(f"host {host!r} has no address")
        for address in addresses:
            problem = address_problem(address, allow_loopback=self.allow_loopback)
            if problem:
                raise DownloadRefusedError(f"host {host!r} resolves to a {problem}: refused")
        return addresses[0].split("%", 1)[0]

    def describe(self) -> str:
        hosts = [DELIVERY_DOMAIN, "*." + DELIVERY_DOMAIN, self.api_host]
        if self.allow_loopback:
            hosts.append("loopback")
        return ", ".join(h for h in hosts if h)


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url, headers, extensions) that reach `address` while naming the original host in Host and TLS SNI.

    Names served from the hosts file (localhost) are left as they are.
    """
    parts = httpx2.URL(url)
    if _ip(parts.host) is not None or parts.host.lower() in LOOPBACK_NAMES:
        return url, {}, {}
    host_header = parts.netloc.decode("ascii")
    return str(parts.copy_with(host=address)), {"Host": host_header}, {"sni_hostname": parts.host}
