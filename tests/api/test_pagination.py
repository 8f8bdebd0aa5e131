import pytest

from replicate_mcp.api import UnsafeURLError
from replicate_mcp.api.pagination import check_same_origin

BASE = "https://api.replicate.com/v1"


def test_same_origin_next_url_is_accepted_as_is():
    url = "https://api.replicate.com/v1/predictions?cursor=cD0yMDI0"
    assert str(check_same_origin(url, BASE)) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/v1/predictions?cursor=x",
        "http://api.replicate.com/v1/predictions?cursor=x",
        "https://api.replicate.com:8443/v1/predictions",
        "https://api.replicate.com.evil.example/v1/predictions",
        "https://stream.replicate.com/v1/predictions",
    ],
)
def test_other_origins_are_refused(url):
    with pytest.raises(UnsafeURLError):
        check_same_origin(url, BASE)


def test_relative_cursor_is_refused():
    with pytest.raises(UnsafeURLError, match="absolute"):
        check_same_origin("/v1/predictions?cursor=x", BASE)


def test_loopback_port_is_part_of_the_origin():
    assert check_same_origin("http://127.0.0.1:8123/v1/models?cursor=2", "http://127.0.0.1:8123/v1")
    with pytest.raises(UnsafeURLError):
        check_same_origin("http://127.0.0.1:8124/v1/models?cursor=2", "http://127.0.0.1:8123/v1")
