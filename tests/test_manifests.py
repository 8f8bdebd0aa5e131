"""The install manifests: valid JSON, the registry's published schema,
versions matching pyproject, real commands."""

import json
import re
import tomllib
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker

ROOT = Path(__file__).parent.parent
MANIFESTS = ROOT / "manifests"
# A copy of https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json
# (github.com/modelcontextprotocol/static, schemas/2025-12-11/server.schema.json, MIT).
REGISTRY_SCHEMA = json.loads(
    (ROOT / "tests" / "fixtures" / "mcp-registry" / "server.schema.2025-12-11.json").read_text()
)
CHECKOUT_PLACEHOLDER = "/absolute/path/to/replicate-mcp"
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


def registry_errors(document: dict) -> list[str]:
    validator = Draft7Validator(REGISTRY_SCHEMA, format_checker=FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_server_json_is_valid_against_the_registry_schema():
    Draft7Validator.check_schema(REGISTRY_SCHEMA)
    server = load("server.json")
    assert server["$schema"] == REGISTRY_SCHEMA["$id"]
    assert registry_errors(server) == []
    too_long = {**server, "description": "x" * 101}
    assert registry_errors(too_long) == ["['description']: '" + "x" * 101 + "' is too long"]


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


def test_server_json_remote_is_a_streamable_http_template_with_the_bearer_header():
    server = load("server.json")
    (remote,) = server["remotes"]
    assert remote["type"] == "streamable-http" and remote["url"] == "https://{host}/mcp"
    assert remote["variables"]["host"]["isRequired"] is True
    (authorization,) = remote["headers"]
    assert authorization["name"] == "Authorization" and authorization["value"] == "Bearer {token}"
    assert authorization["isSecret"] is True and authorization["variables"]["token"]["isSecret"] is True
    for mode in ("--auth replicate-token", "--auth oauth"):
        assert mode in remote["variables"]["host"]["description"]
    without_url = {**server, "remotes": [{k: v for k, v in remote.items() if k != "url"}]}
    assert registry_errors(without_url) != []


def test_mcpb_manifest():
    manifest = load("manifest.json")
    # 0.4 is LATEST_MANIFEST_VERSION of @anthropic-ai/mcpb 2.1.2, the first with the uv server type
    assert manifest["manifest_version"] == "0.4" and manifest["version"] == VERSION
    assert manifest["server"]["type"] == "uv"
    # the bundle's own sources (pack-bundle copies pyproject.toml and replicate_mcp/),
    # not a download from PyPI
    config = manifest["server"]["mcp_config"]
    assert config["command"] == "uv" and config["args"] == [
        "run",
        "--directory",
        "${__dirname}",
        "replicate-mcp",
    ]
    assert "replicate-mcp" in SCRIPTS
    token = manifest["user_config"]["replicate_api_token"]
    assert token["sensitive"] is True
    assert (
        "${user_config.replicate_api_token}" in manifest["server"]["mcp_config"]["env"]["REPLICATE_API_TOKEN"]
    )
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


@pytest.mark.parametrize(
    "name", ["claude_desktop_config.json", "cursor.mcp.json", "vscode.mcp.json", "sandbox.mcp.json"]
)
def test_client_entries_run_our_command_from_a_checkout(name):
    entry = load(name)
    servers = entry.get("mcpServers") or entry["servers"]
    for server in servers.values():
        assert server["command"] == "uvx"
        from_flag, checkout, script, *args = server["args"]
        assert (from_flag, checkout) == (
            "--from",
            CHECKOUT_PLACEHOLDER,
        )  # works before the package is on PyPI
        assert script in SCRIPTS
        from replicate_mcp.cli import build_parser

        build_parser().parse_args(["serve", *args])  # every flag named exists


def test_readme_install_section_shows_the_working_forms():
    readme = (ROOT / "README.md").read_text()
    install = readme[readme.index("## Install in an MCP client") : readme.index("## Tools")]
    (desktop,) = re.findall(r"```json\n(.*?)```", install, re.DOTALL)
    assert json.loads(desktop) == load("claude_desktop_config.json")
    for form in (
        f"uvx --from {CHECKOUT_PLACEHOLDER} replicate-mcp",
        f"pipx install {CHECKOUT_PLACEHOLDER}",
        f"pip install {CHECKOUT_PLACEHOLDER}",
        "manifests/pack-bundle",
        "once published",
    ):
        assert form in install, form
