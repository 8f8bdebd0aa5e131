import shutil

import pytest

from tests.services import REDIS_MISSING, free_port, redis_server, s3_server

__all__ = ["free_port"]  # tests import it from here


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on loopback for this test session (no persistence); .ci/run installs Debian's."""
    if shutil.which("redis-server") is None:
        pytest.skip(REDIS_MISSING)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_store():
    """A real S3-compatible server (moto's server mode) on loopback with one bucket;
    yields (url, environment)."""
    with s3_server() as store:
        yield store
