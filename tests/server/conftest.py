import pytest

from replicate_mcp.config import load_settings
from replicate_mcp.sandbox import SandboxConfig, start_sandbox
from replicate_mcp.server import create_server

TOKEN = "r8_server_tests_token_0123456789"


@pytest.fixture(scope="session")
def sandbox():
    running = start_sandbox(SandboxConfig(time_scale=0.01, seed=7, cold_boot=0.5))
    yield running
    running.stop()


@pytest.fixture
def make_settings(tmp_path, sandbox):
    def make(**overrides):
        env = {"REPLICATE_API_TOKEN": TOKEN}
        overrides.setdefault("data_dir", tmp_path / "data")
        overrides.setdefault("output_dir", tmp_path / "outputs")
        overrides.setdefault("base_url", sandbox.base_url)
        overrides.setdefault("poll_interval", 0.05)  # the sandbox's clock runs 100x fast
        return load_settings(overrides, env=env)

    return make


@pytest.fixture
def make_server(sandbox, make_settings):
    def make(**overrides):
        return create_server(make_settings(**overrides), base_url=sandbox.base_url)

    return make


@pytest.fixture(params=["auto", "legacy"])
def mode(request):
    return request.param
