"""What a user installs: the declared dependencies cover every import, and the built wheel runs on its own.

The wheel test builds an sdist and a wheel from a copy of the sources (so nothing beside them can leak in),
installs the wheel without dependencies into a fresh virtual environment that borrows this environment's
installed packages, and holds a real stdio MCP session with that environment's `replicate-mcp --sandbox`.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "replicate_mcp"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules() -> set[str]:
    """Every absolute top-level module imported anywhere in the package,
    at module level or inside functions."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_every_third_party_import_is_a_declared_dependency():
    third_party = (
        _imported_top_level_modules() - set(sys.stdlib_module_names) - {"replicate_mcp", "__future__"}
    )
    assert {"mcp", "httpx2", "starlette", "uvicorn", "referencing", "PIL"} <= third_party
    declared = {
        _canonical(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
        for requirement in PYPROJECT["project"]["dependencies"]
    }
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module)
        for module in third_party
        if not {_canonical(d) for d in providers.get(module, [])} & declared
    }
    assert undeclared == {}


def test_build_backend_supports_the_license_expression():
    # PEP 639 `license = "Apache-2.0"` needs setuptools >= 77
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    (backend,) = PYPROJECT["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=(\d+)", backend) and int(backend.split(">=")[1]) >= 77


def _copy_sources(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, destination / "replicate_mcp", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, destination / name)
    return destination


def _run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> dict[str, Path]:
    """A fresh venv holding only the built wheel; this environment's packages are visible after its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    sources = _copy_sources(tmp / "src")
    _run(sys.executable, "-m", "build", "--outdir", tmp / "dist", sources)
    (wheel,) = (tmp / "dist").glob("replicate_mcp-*.whl")
    (sdist,) = (tmp / "dist").glob("replicate_mcp-*.tar.gz")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / Path(sys.executable).name
    own_site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    )
    # The dependencies come from this environment, appended after the venv's own site-packages; a plain path
    # in a .pth file is added as is, so this environment's editable finder (if any) is not loaded.
    (own_site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
    )
    return {
        "dir": env_dir,
        "python": python,
        "script": bin_dir / "replicate-mcp",
        "wheel": wheel,
        "sdist": sdist,
    }


@pytest.mark.slow
def test_wheel_holds_the_package_and_its_data_but_no_tests(wheel_env):
    names = zipfile.ZipFile(wheel_env["wheel"]).namelist()
    assert "replicate_mcp/cli.py" in names and "replicate_mcp/sandbox/data/catalog.json" in names
    assert "replicate_mcp/sandbox/data/models/replicate__hello-world.json" in names
    assert [n for n in names if n.startswith("tests/") or "/tests/" in n] == []
    metadata = zipfile.ZipFile(wheel_env["wheel"]).read("replicate_mcp-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    for requirement in ("starlette", "uvicorn", "referencing"):
        assert re.search(rf"^Requires-Dist: {requirement}\b", metadata, re.MULTILINE), requirement


@pytest.mark.slow
@pytest.mark.anyio
async def test_installed_wheel_serves_a_real_stdio_session(wheel_env, tmp_path):
    from mcp import Client, StdioServerParameters

    located = _run(
        wheel_env["python"], "-c", "import replicate_mcp; print(replicate_mcp.__file__)", cwd=tmp_path
    )
    assert Path(located.stdout.strip()).is_relative_to(wheel_env["dir"])  # the wheel's copy, not the checkout
    assert "--sandbox-time-scale" in _run(wheel_env["script"], "--help", cwd=tmp_path).stdout

    env = {"PATH": os.environ.get("PATH", ""), "REPLICATE_MCP_DATA_DIR": str(tmp_path / "data")}
    params = StdioServerParameters(
        command=str(wheel_env["script"]),
        args=["--sandbox", "--sandbox-time-scale", "0.01"],
        env=env,
        cwd=str(tmp_path),
    )
    async with Client(params) as client:
        assert "run_model" in {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "run_model", {"model": "replicate/hello-world", "input": {"text": "wheel"}}
        )
    assert result.structured_content["output"] == "hello wheel"
