"""The install manifests: valid JSON, the registry's required shape, versions matching pyproject, real commands."""

import json
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
MANIFESTS = ROOT / "manifests"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
SCRIPTS = PYPROJECT["project"]["scripts"]


def load(name: str) -> dict:
    return json.loads((MANIFESTS / name).read_text())


def test_every_manifest_is_valid_json():
    files = sorted(MANIFESTS.glob("*.json"))
    assert len(files) >= 5
    for path in files:
        json.loads(path.read_text())


def test_registry_server_json():
    server = load("server.json")
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/[A-Za-z0-9._-]+", server["name"])
    assert 0 < len(server["description"]) <= 100
    assert server["version"] == VERSION
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == PYPROJECT["project"]["name"]
    assert package["version"] == VERSION and package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    token = next(v for v in package["environmentVariables"] if v["name"] == "REPLICATE_API_TOKEN")
    assert token["isSecret"] is True and token["isRequired"] is True
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()


def test_mcpb_manifest():
    manifest = load("manifest.json")
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == VERSION
    assert manifest["server"]["type"] == "uv" and manifest["server"]["mcp_config"]["args"] == ["replicate-mcp"]
    token = manifest["user_config"]["replicate_api_token"]
    assert token["sensitive"] is True
    assert "${user_config.replicate_api_token}" in manifest["server"]["mcp_config"]["env"]["REPLICATE_API_TOKEN"]
    assert (ROOT / manifest["server"]["entry_point"]).is_file()


@pytest.mark.anyio
async def test_manifest_tool_names_match_the_server(tmp_path):
    from mcp import Client

    from replicate_mcp.config import load_settings
    from replicate_mcp.server import create_server

    settings = load_settings({"data_dir": tmp_path}, env={})
    async with Client(create_server(settings, base_url="http://127.0.0.1:9/v1")) as client:
        served = {t.name for t in (await client.list_tools()).tools}
    assert {t["name"] for t in load("manifest.json")["tools"]} == served


@pytest.mark.parametrize("name", ["claude_desktop_config.json", "cursor.mcp.json", "vscode.mcp.json", "sandbox.mcp.json"])
def test_client_entries_run_our_command(name):
    entry = load(name)
    servers = entry.get("mcpServers") or entry["servers"]
    for server in servers.values():
        assert server["command"] == "uvx"
        package, *args = server["args"]
        assert package in SCRIPTS  # uvx runs the package's console script of the same name
        from replicate_mcp.cli import build_parser

        build_parser().parse_args(["serve", *args])  # every flag named exists
