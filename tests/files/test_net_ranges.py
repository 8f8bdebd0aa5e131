"""Download address checks: every IANA non-public range, IPv4 hidden in IPv6 forms,
and no second DNS answer."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from replicate_mcp.files import DownloadRefusedError, OutputArchive, URLPolicy
from replicate_mcp.files.net import address_problem, pinned

PUBLIC_V4 = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("64:ff9b::a00:1", "private address 10.0.0.1 (inside 64:ff9b::a00:1)"),  # NAT64
        ("64:ff9b::a9fe:a9fe", "link-local address 169.254.169.254 (inside 64:ff9b::a9fe:a9fe)"),
        ("64:ff9b::7f00:1", "loopback address 127.0.0.1 (inside 64:ff9b::7f00:1)"),
        ("2002:c0a8:101::1", "private address 192.168.1.1 (inside 2002:c0a8:101::1)"),  # 6to4
        ("2002:a9fe:a9fe::", "link-local address 169.254.169.254 (inside 2002:a9fe:a9fe::)"),
        ("2002:7f00:1::", "loopback address 127.0.0.1 (inside 2002:7f00:1::)"),
        ("::ffff:169.254.169.254", "link-local address 169.254.169.254"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "loopback address 127.0.0.1"),
        ("::a00:1", "reserved address ::a00:1"),  # IPv4-compatible (deprecated)
        ("::a9fe:a9fe", "reserved address ::a9fe:a9fe"),
        ("64:ff9b:1::a00:1", "reserved address 64:ff9b:1::a00:1"),  # local-use NAT64
        ("100.64.0.1", "private address 100.64.0.1"),  # shared address space (CGNAT)
        ("fd00::1", "private address fd00::1"),
        ("fe80::1%eth0", "link-local address fe80::1"),
        ("fec0::1", "reserved address fec0::1"),
        ("192.0.0.9", "reserved address 192.0.0.9"),
        ("192.88.99.1", "reserved address 192.88.99.1"),
        ("198.18.0.1", "reserved address 198.18.0.1"),
        ("224.0.0.1", "reserved address 224.0.0.1"),
        ("255.255.255.255", "reserved address 255.255.255.255"),
        ("2001:db8::1", "reserved address 2001:db8::1"),
        ("3fff::1", "reserved address 3fff::1"),
        ("ff02::1", "reserved address ff02::1"),
        ("::", "reserved address ::"),
    ],
)
def test_non_public_addresses_are_refused_in_every_form(address, expected):
    assert address_problem(address, allow_loopback=False) == expected


@pytest.mark.parametrize(
    "address",
    [PUBLIC_V4, "64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "2606:4700:4700::1111", "::ffff:93.184.215.14"],
)
def test_public_addresses_pass(address):
    assert address_problem(address, allow_loopback=False) is None


def test_loopback_allowance_covers_loopback_only_not_a_translated_one():
    assert address_problem("127.0.0.1", allow_loopback=True) is None
    assert address_problem("::1", allow_loopback=True) is None
    assert address_problem("::ffff:127.0.0.1", allow_loopback=True) is None
    assert (
        address_problem("64:ff9b::7f00:1", allow_loopback=True)
        == "loopback address 127.0.0.1 (inside 64:ff9b::7f00:1)"
    )
    assert address_problem("::1", allow_loopback=False) == "loopback address ::1"


class RebindingDNS:
    """Answers a public address the first time and the metadata service's address after that."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [PUBLIC_V4] if len(self.calls) == 1 else ["169.254.169.254"]


@pytest.mark.anyio
async def test_download_connects_to_the_checked_address_naming_the_host(tmp_path: Path):
    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, content=b"png", headers={"content-type": "image/png"})

    dns = RebindingDNS()
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    archive = OutputArchive(tmp_path / "outputs", http_client=client, api_host="api.replicate.com")
    archive.policy = URLPolicy("api.replicate.com", resolver=dns)
    result = await archive.archive("p1", ["https://replicate.delivery/xezq/out-0.png"])
    assert result.failures == [] and Path(result[0].path).read_bytes() == b"png"
    assert dns.calls == ["replicate.delivery"]  # resolved once: no second answer is ever used
    [request] = sent
    assert str(request.url) == f"https://{PUBLIC_V4}/xezq/out-0.png"
    assert request.headers["host"] == "replicate.delivery"
    assert request.extensions["sni_hostname"] == "replicate.delivery"
    # the rebinding answer is refused before any connection
    with pytest.raises(DownloadRefusedError, match="link-local address 169.254.169.254"):
        await archive.policy.check("https://replicate.delivery/xezq/out-1.png")


@pytest.mark.anyio
async def test_any_bad_address_among_the_answers_refuses_the_host():
    async def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC_V4, "64:ff9b::a00:1"]

    with pytest.raises(DownloadRefusedError, match=r"private address 10.0.0.1 \(inside 64:ff9b::a00:1\)"):
        await URLPolicy("api.replicate.com", resolver=mixed).check("https://replicate.delivery/x.png")


def test_pinning_keeps_ports_and_ip_literals_and_brackets_ipv6():
    assert pinned("https://a.replicate.delivery:8443/p/x.png?t=1", "2606:4700::1") == (
        "https://[2606:4700::1]:8443/p/x.png?t=1",
        {"Host": "a.replicate.delivery:8443"},
        {"sni_hostname": "a.replicate.delivery"},
    )
    assert pinned("http://127.0.0.1:8765/v1/files/f/download", "127.0.0.1") == (
        "http://127.0.0.1:8765/v1/files/f/download",
        {},
        {},
    )
