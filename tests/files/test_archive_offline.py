"""OutputArchive without a network: data: URIs, the URL policy (refused before any request), redirects."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx2
import pytest

from replicate_mcp.files import DownloadRefusedError, OutputArchive, URLPolicy, decode_data_uri

pytestmark = pytest.mark.anyio

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def data_uri(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


class Recorder:
    """An httpx transport that answers from a table and remembers every request it was asked to send."""

    def __init__(self, routes: dict[str, httpx2.Response] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.routes.get(str(request.url), httpx2.Response(404))


def make_archive(tmp_path: Path, recorder: Recorder, **options) -> OutputArchive:
    client = httpx2.AsyncClient(
        transport=httpx2.MockTransport(recorder), headers={"Authorization": "Bearer r8_test"}
    )
    options.setdefault("api_host", "api.replicate.com")
    return OutputArchive(tmp_path / "outputs", http_client=client, **options)


def test_decode_data_uris():
    assert decode_data_uri(data_uri(b"\x00\x01binary")) == (b"\x00\x01binary", "image/png")
    assert decode_data_uri("data:,hello%20world") == (b"hello world", "text/plain")
    assert decode_data_uri("data:text/plain;charset=utf-8,caf%C3%A9") == ("café".encode(), "text/plain")
    assert decode_data_uri("data:image/png;base64,iVBORw0KGgo") == (PNG[:8], "image/png")  # padding restored


async def test_data_uri_outputs_are_decoded_in_output_order(tmp_path: Path):
    archive = make_archive(tmp_path, Recorder())
    output = {
        "images": [data_uri(PNG), data_uri(b"RIFFxxxxWEBP", "image/webp")],
        "caption": "two images",
        "audio": data_uri(b"ID3", "audio/mpeg"),
    }
    result = await archive.archive("p1", output)
    assert [f.index for f in result] == [0, 1, 2] and result.failures == []
    assert [Path(f.path).name for f in result] == ["output_0.png", "output_1.webp", "output_2.mp3"]
    assert Path(result[0].path).read_bytes() == PNG
    assert result[0].sha256 == hashlib.sha256(PNG).hexdigest() and result[0].size == len(PNG)
    assert result[0].mime_type == "image/png" and result[0].url.startswith("data:image/png;base64,")
    assert len(result[0].url) < 80
    assert Path(result[0].path).parent == tmp_path / "outputs" / "p1"


async def test_archiving_again_returns_the_same_files_without_rewriting(tmp_path: Path):
    archive = make_archive(tmp_path, Recorder())
    output = [data_uri(PNG), data_uri(b"GIF89a", "image/gif")]
    first = await archive.archive("p1", output)
    stats = [Path(f.path).stat().st_mtime_ns for f in first]
    again = await make_archive(tmp_path, Recorder()).archive("p1", output)  # a new process, same folder
    assert again == first
    assert [Path(f.path).stat().st_mtime_ns for f in again] == stats
    assert sorted(p.name for p in (tmp_path / "outputs" / "p1").iterdir()) == [
        ".archive.json",
        "output_0.png",
        "output_1.gif",
    ]


async def test_the_same_file_twice_in_one_output_is_stored_once(tmp_path: Path):
    result = await make_archive(tmp_path, Recorder()).archive("p1", [data_uri(PNG), "text", data_uri(PNG)])
    assert [(f.index, Path(f.path).name) for f in result] == [(0, "output_0.png"), (1, "output_0.png")]


async def test_a_changed_copy_is_archived_again(tmp_path: Path):
    archive = make_archive(tmp_path, Recorder())
    [file] = await archive.archive("p1", data_uri(PNG))
    Path(file.path).write_bytes(b"tampered")
    [again] = await archive.archive("p1", data_uri(PNG))
    assert again.path == file.path and Path(again.path).read_bytes() == PNG


async def test_too_big_file_fails_alone(tmp_path: Path):
    archive = make_archive(tmp_path, Recorder(), max_bytes=100)
    result = await archive.archive("p1", [data_uri(b"x" * 101), data_uri(PNG)])
    assert [f.index for f in result] == [1]
    assert [f.index for f in result.failures] == [0] and "limit" in result.failures[0].reason


async def test_outputs_without_files(tmp_path: Path):
    archive = make_archive(tmp_path, Recorder())
    assert await archive.archive("p1", ["Hello", " world"]) == []
    assert await archive.archive("p2", None) == []
    assert not (tmp_path / "outputs" / "p1").exists()


async def test_prediction_ids_cannot_escape_the_output_folder(tmp_path: Path):
    with pytest.raises(ValueError):
        await make_archive(tmp_path, Recorder()).archive("../etc", data_uri(PNG))


@pytest.mark.parametrize(
    ("url", "api_host", "allow_loopback", "expected"),
    [
        ("http://10.0.0.1/x.png", "api.replicate.com", False, "allow-list"),
        ("http://10.0.0.1/x.png", "api.replicate.com", True, "allow-list"),
        ("https://10.0.0.1/x.png", "10.0.0.1", False, "private address 10.0.0.1"),
        ("https://192.168.1.20/x.png", "192.168.1.20:8443", True, "private address"),
        ("https://169.254.169.254/latest/meta-data/x.png", "169.254.169.254", True, "link-local"),
        ("https://localhost/x.png", "localhost", False, "loopback address"),
        ("https://127.0.0.1/x.png", "127.0.0.1", False, "loopback address 127.0.0.1"),
        ("https://[::ffff:10.0.0.1]/x.png", "::ffff:10.0.0.1", False, "private address"),
        ("https://0.0.0.0/x.png", "0.0.0.0", False, "address 0.0.0.0"),
        ("http://api.replicate.com/x.png", "api.replicate.com", False, "plain http"),
        ("https://evil.example/x.png", "api.replicate.com", True, "allow-list"),
        ("https://replicate.delivery.evil.example/x.png", "api.replicate.com", False, "allow-list"),
        ("ftp://replicate.delivery/x.png", "api.replicate.com", False, "not an http(s) URL"),
    ],
)
async def test_unsafe_urls_are_refused_before_any_request(tmp_path, url, api_host, allow_loopback, expected):
    recorder = Recorder()
    archive = make_archive(tmp_path, recorder, api_host=api_host, allow_loopback=allow_loopback)
    with pytest.raises(DownloadRefusedError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        await archive.policy.check(url)
    result = await archive.archive("p1", [url])
    if url.startswith("http"):
        assert result == [] and expected in result.failures[0].reason
    assert recorder.requests == []


async def test_loopback_is_allowed_only_when_asked(tmp_path: Path):
    await URLPolicy("api.replicate.com", allow_loopback=True).check(
        "http://localhost:8000/delivery/p/out.png"
    )
    await URLPolicy("api.replicate.com", allow_loopback=True).check(
        "http://127.0.0.1:8000/delivery/p/out.png"
    )
    with pytest.raises(DownloadRefusedError):
        await URLPolicy("api.replicate.com").check("http://127.0.0.1:8000/delivery/p/out.png")


async def test_redirects_are_followed_only_on_the_same_host(tmp_path: Path):
    base = "http://127.0.0.1:9/delivery/p1"
    recorder = Recorder(
        {
            f"{base}/a.png": httpx2.Response(302, headers={"Location": "/delivery/p1/real-a.png"}),
            f"{base}/real-a.png": httpx2.Response(200, content=PNG, headers={"Content-Type": "image/png"}),
            f"{base}/b.png": httpx2.Response(302, headers={"Location": "http://localhost:9/b.png"}),
            f"{base}/c.png": httpx2.Response(307, headers={"Location": "http://10.0.0.1/c.png"}),
        }
    )
    archive = make_archive(tmp_path, recorder, api_host="127.0.0.1", allow_loopback=True)
    result = await archive.archive("p1", [f"{base}/a.png", f"{base}/b.png", f"{base}/c.png"])
    assert [(f.index, Path(f.path).name) for f in result] == [(0, "a.png")]
    assert Path(result[0].path).read_bytes() == PNG
    assert {f.index: "another host" in f.reason for f in result.failures} == {1: True, 2: True}
    assert {r.url.host for r in recorder.requests} == {"127.0.0.1"}


async def test_token_is_sent_only_to_the_api_host(tmp_path: Path):
    recorder = Recorder(
        {
            "http://127.0.0.1:9/v1/files/f1/download": httpx2.Response(200, content=b"a"),
            "http://localhost:9/delivery/p1/out.txt": httpx2.Response(200, content=b"b"),
        }
    )
    archive = make_archive(tmp_path, recorder, api_host="127.0.0.1:9", allow_loopback=True)
    result = await archive.archive(
        "p1", ["http://127.0.0.1:9/v1/files/f1/download", "http://localhost:9/delivery/p1/out.txt"]
    )
    assert len(result) == 2
    sent = {r.url.host: r.headers.get("Authorization") for r in recorder.requests}
    assert sent == {"127.0.0.1": "Bearer r8_test", "localhost": None}


async def test_names_come_from_the_url_and_are_made_unique_and_safe(tmp_path: Path):
    base = "http://127.0.0.1:9"
    recorder = Recorder(
        {
            f"{base}/a/out-0.webp": httpx2.Response(
                200, content=b"1", headers={"Content-Type": "image/webp"}
            ),
            f"{base}/b/out-0.webp": httpx2.Response(
                200, content=b"2", headers={"Content-Type": "image/webp"}
            ),
            f"{base}/c/..%2F.bashrc": httpx2.Response(200, content=b"3"),
            f"{base}/d/download": httpx2.Response(200, content=b"4", headers={"Content-Type": "image/jpeg"}),
        }
    )
    archive = make_archive(tmp_path, recorder, api_host="api.replicate.com", allow_loopback=True)
    result = await archive.archive(
        "p1", [f"{base}/a/out-0.webp", f"{base}/b/out-0.webp", f"{base}/c/..%2F.bashrc", f"{base}/d/download"]
    )
    names = [Path(f.path).name for f in result]
    assert names == ["out-0.webp", "out-0-1.webp", "bashrc.bin", "download.jpg"]
    assert all(Path(f.path).parent == tmp_path / "outputs" / "p1" for f in result)
    assert result[3].mime_type == "image/jpeg"


async def test_declared_and_streamed_sizes_are_capped(tmp_path: Path):
    base = "http://127.0.0.1:9"
    recorder = Recorder(
        {
            f"{base}/big.bin": httpx2.Response(200, content=b"x" * 1000),
            f"{base}/ok.bin": httpx2.Response(200, content=b"x" * 10),
        }
    )
    archive = make_archive(
        tmp_path, recorder, api_host="api.replicate.com", allow_loopback=True, max_bytes=100
    )
    result = await archive.archive("p1", [f"{base}/big.bin", f"{base}/ok.bin"])
    assert [f.index for f in result] == [1] and "limit" in result.failures[0].reason
    assert sorted(p.name for p in (tmp_path / "outputs" / "p1").iterdir()) == [".archive.json", "ok.bin"]
