"""Settings from the environment and flags, validated at start; the CLI's help and error messages."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from replicate_mcp.config import ConfigError, load_settings


def test_base_url_is_normalized_with_or_without_v1():
    for raw in (
        "http://127.0.0.1:8765",
        "http://127.0.0.1:8765/",
        "http://127.0.0.1:8765/v1",
        "http://127.0.0.1:8765/v1/",
    ):
        assert load_settings(env={"REPLICATE_BASE_URL": raw}).base_url == "http://127.0.0.1:8765/v1"


def test_flags_win_over_environment_and_dirs_add_up(tmp_path):
    env = {
        "REPLICATE_MCP_MAX_WAIT": "30",
        "REPLICATE_MCP_ALLOW_DIRS": str(tmp_path / "a"),
        "REPLICATE_MCP_READ_ONLY": "yes",
    }
    settings = load_settings({"max_wait": 20.0, "allow_dirs": (tmp_path / "b",)}, env=env)
    assert settings.max_wait == 20 and settings.read_only is True
    assert settings.allow_dirs == (tmp_path / "a", tmp_path / "b")
    assert settings.effective_wait == 20  # the default 45 s wait is capped by --max-wait


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REPLICATE_MCP_PORT": "eighty"}, "REPLICATE_MCP_PORT"),
        ({"REPLICATE_MCP_READ_ONLY": "maybe"}, "REPLICATE_MCP_READ_ONLY"),
        ({"REPLICATE_MCP_ALLOW_MODELS": "not a model"}, "REPLICATE_MCP_ALLOW_MODELS"),
        ({"REPLICATE_BASE_URL": "ftp://x"}, "REPLICATE_BASE_URL"),
        ({"REPLICATE_MCP_MAX_RESPONSE_CHARS": "10"}, "--max-response-chars"),
    ],
)
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(ConfigError) as caught:
        load_settings(env=env)
    assert named in str(caught.value)


def test_boolean_words():
    assert (
        load_settings(env={"REPLICATE_MCP_ARCHIVE": "off", "REPLICATE_MCP_READ_ONLY": "Yes"}).archive is False
    )
    with pytest.raises(ConfigError, match="use 1/0, true/false"):
        load_settings(env={"REPLICATE_MCP_INLINE_IMAGES": "t"})


def test_allow_models_patterns():
    settings = load_settings(env={"REPLICATE_MCP_ALLOW_MODELS": "black-forest-labs/*, replicate/hello-world"})
    assert settings.model_allowed("black-forest-labs/flux-schnell")
    assert settings.model_allowed("replicate/hello-world")
    assert not settings.model_allowed("stability-ai/sdxl")


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "replicate_mcp", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_help_lists_every_subcommand_and_option():
    top = run_cli("--help")
    assert top.returncode == 0 and all(word in top.stdout for word in ("serve", "sandbox", "demo"))
    serve = run_cli("serve", "--help").stdout
    for flag in (
        "--transport",
        "--sandbox",
        "--read-only",
        "--allow-models",
        "--max-wait",
        "--allow-dir",
        "--output-dir",
        "--no-archive",
        "--no-inline-images",
        "--max-response-chars",
        "--port",
    ):
        assert flag in serve, flag
    sandbox = run_cli("sandbox", "--help").stdout
    for flag in ("--time-scale", "--seed", "--catalog", "--fault-429", "--data-retention"):
        assert flag in sandbox, flag


def readme_section(start: str, end: str) -> str:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    return readme[readme.index(start) : readme.index(end)]


def flags_named_in(text: str) -> set[str]:
    """Every `--flag` in the text; `--fault-429/500/drop` stands for --fault-429,
    --fault-500 and --fault-drop."""
    flags = set()
    for first, alternatives in re.findall(r"(--[a-z][a-z0-9-]*)((?:/[a-z0-9]+)*)", text):
        flags.add(first)
        stem = first.rsplit("-", 1)[0]
        flags.update(f"{stem}-{alternative}" for alternative in alternatives.split("/")[1:])
    return flags


def test_top_level_help_lists_every_readme_flag_and_variable():
    wide = {**os.environ, "COLUMNS": "1000"}  # no line wrapping inside a name
    top = run_cli("--help", env=wide)
    assert top.returncode == 0 and top.stderr == ""
    options = readme_section("## Options and environment", "### The sandbox")
    flags, variables = flags_named_in(options), set(re.findall(r"REPLICATE_[A-Z_]+", options))
    assert {"--transport", "--allow-dir", "--no-inline-images", "--log-level"} <= flags
    assert {"REPLICATE_API_TOKEN", "REPLICATE_MCP_HTTP_TOKEN", "REPLICATE_MCP_ALLOW_DIRS"} <= variables
    assert sorted(f for f in flags if f not in top.stdout) == []
    assert sorted(v for v in variables if v not in top.stdout) == []
    from replicate_mcp.config import ENVIRONMENT

    for variable, flag in ENVIRONMENT.values():
        assert variable in top.stdout and (flag is None or flag in top.stdout), (variable, flag)
    serve = run_cli("serve", "--help", env=wide).stdout
    for flag in re.findall(r"^  (--[a-z-]+)", serve, flags=re.MULTILINE):
        assert f"\n  {flag}" in top.stdout, flag


def test_sandbox_help_lists_every_readme_sandbox_flag():
    sandbox = run_cli("sandbox", "--help", env={**os.environ, "COLUMNS": "1000"}).stdout
    flags = flags_named_in(readme_section("### The sandbox", "## How it differs"))
    assert {"--time-scale", "--fault-429", "--fault-slow", "--slow-seconds", "--catalog"} <= flags
    assert sorted(f for f in flags if f not in sandbox) == []


def test_bad_setting_stops_the_server_with_a_clear_message_and_no_stdout():
    result = run_cli("--max-wait", "-3", env={"PATH": "/usr/bin"})
    assert result.returncode != 0 and result.stdout == ""
    assert "--max-wait" in result.stderr and "Traceback" not in result.stderr


def test_readme_documents_every_flag_and_variable():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    from replicate_mcp.config import ENVIRONMENT

    for variable, flag in ENVIRONMENT.values():
        assert variable in readme, variable
        if flag:
            assert flag in readme, flag
