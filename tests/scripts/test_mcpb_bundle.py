"""scripts/build_mcpb.py: the Claude Desktop bundle it writes passes the pinned official
validator, lists exactly the tools the server offers, maps its settings onto the variables
the server reads, and starts from the unpacked bundle the way the manifest says."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from deephaven_mcp import __version__
from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.systems.settings import SystemsSettings

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_mcpb.py"
MCPB_CLI = REPO / "ops/mcpb/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js"
NODE = shutil.which("node")
UV = shutil.which("uv")
BUNDLE = "deephaven-mcp.mcpb"
# Environment variables of the test run that would point uv at another project's venv.
UV_PROJECT_VARS = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")

pytestmark = pytest.mark.skipif(
    NODE is None or not MCPB_CLI.is_file(),
    reason="the pinned mcpb tool is not installed: needs Node.js 20+ and "
    "`cd ops/mcpb && npm ci --no-audit --no-fund`",
)


def build(out: Path) -> Path:
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "Manifest schema validation passes!" in finished.stderr
    return out / BUNDLE


def mcpb(*args: str) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, str(MCPB_CLI), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("mcpb"))


@pytest.fixture(scope="module")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle as the official tool unpacks it (the code Claude Desktop uses)."""
    target = tmp_path_factory.mktemp("unpacked")
    finished = mcpb("unpack", str(bundle), str(target))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return target


@pytest.fixture(scope="module")
def manifest(unpacked: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((unpacked / "manifest.json").read_text("utf-8"))
    return loaded


async def test_the_tools_are_the_servers_tools_list(manifest: dict[str, Any]) -> None:
    async with Client(build_systems_server(config=McpConfig(), auth=None)) as client:
        served = {tool.name: tool.description or "" for tool in await client.list_tools()}
    listed = {tool["name"]: tool["description"] for tool in manifest["tools"]}
    assert list(listed) == list(served)
    for name, description in listed.items():
        assert description, name
        # The first paragraph, on one line.
        assert " ".join(served[name].split()).startswith(description), name
        assert "\n" not in description


def test_the_official_validator_accepts_the_manifest(unpacked: Path) -> None:
    finished = mcpb("validate", str(unpacked / "manifest.json"))
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Manifest schema validation passes!" in finished.stdout


def test_the_manifest_declares_the_package_and_its_uv_entry(
    manifest: dict[str, Any], unpacked: Path
) -> None:
    assert manifest["name"] == "deephaven-mcp"
    assert manifest["version"] == __version__
    server = manifest["server"]
    assert server["type"] == "uv"
    assert (unpacked / server["entry_point"]).is_file()
    assert server["mcp_config"]["command"] == "uv"
    assert server["entry_point"] in server["mcp_config"]["args"]
    # The bundle installs what the repository locks, without the dev group.
    assert {"--frozen", "--no-dev"} <= set(server["mcp_config"]["args"])
    for name in ("pyproject.toml", "uv.lock", "README.md", "LICENSE"):
        assert (unpacked / name).read_bytes() == (REPO / name).read_bytes(), name

    bundled = {
        path.relative_to(unpacked)
        for path in (unpacked / "src" / "deephaven_mcp").rglob("*")
        if path.is_file()
    }
    # What git tracks, so untracked work in progress stays out of a bundle.
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--", "src/deephaven_mcp"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert bundled == {Path(name) for name in listed}


def test_user_settings_reach_the_variables_the_server_reads(manifest: dict[str, Any]) -> None:
    user_config = manifest["user_config"]
    env = manifest["server"]["mcp_config"]["env"]
    config_variable = SystemsSettings.model_fields["config_file"].alias
    assert env[config_variable] == "${user_config.config_file}"
    assert user_config["config_file"]["type"] == "file"
    # Every setting reaches one variable, and every variable comes from a setting.
    referenced = [re.fullmatch(r"\$\{user_config\.(\w+)\}", value) for value in env.values()]
    assert all(referenced)
    assert sorted(match.group(1) for match in referenced if match) == sorted(user_config)
    for key, option in user_config.items():
        # Unset optional values must be blank (the server's "unset"), never the literal
        # placeholder Claude Desktop would otherwise pass on.
        assert option["required"] or option["default"] == "", key
        if key != "config_file":
            assert option["sensitive"] is True, key
            # The description tells the user which variable the configuration must name.
            (variable,) = [name for name, value in env.items() if value.endswith(f".{key}}}")]
            assert variable in option["description"], key


def test_the_bundle_is_reproducible(tmp_path: Path) -> None:
    first = build(tmp_path / "first")
    assert build(tmp_path / "second").read_bytes() == first.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
    assert names == sorted(names)
    assert "manifest.json" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


@pytest.mark.skipif(UV is None, reason="uv is not on PATH")
async def test_the_unpacked_bundle_serves_tools_list_over_stdio(
    manifest: dict[str, Any], unpacked: Path, tmp_path: Path
) -> None:
    """Started as Claude Desktop would: the manifest's command, args and env with
    ${__dirname} and the user settings' defaults substituted. uv works offline from its
    cache (the repository's own `uv sync` filled it): tests reach no network."""
    config = manifest["server"]["mcp_config"]
    defaults = {f"user_config.{key}": o["default"] for key, o in manifest["user_config"].items()}
    values = {"__dirname": str(unpacked), **defaults}

    def substitute(text: str) -> str:
        return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)

    env = {k: v for k, v in os.environ.items() if k not in UV_PROJECT_VARS}
    env |= {name: substitute(value) for name, value in config["env"].items()}
    env["UV_OFFLINE"] = "1"
    env["DH_MCP_STATE_DIR"] = str(tmp_path / "state")  # created 0700 by the server
    transport = StdioTransport(
        command=config["command"],
        args=[substitute(arg) for arg in config["args"]],
        env=env,
        cwd=str(tmp_path),
        log_file=tmp_path / "err.log",
    )
    async with Client(transport, timeout=120) as client:
        names = [tool.name for tool in await client.list_tools()]
    assert names == [tool["name"] for tool in manifest["tools"]]
