"""Starting a server imports no heavy client library: fast start (no Java needed).

A fresh interpreter builds both servers and lists their tools (the schemas are built, the
systems server's lifespan runs on a config with a session), then reports which heavy
packages are loaded and which of our modules imported each one first. A positive control in
the same interpreter proves the witness sees such imports at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

HEAVY: Final = (
    "pandas",
    "pydeephaven",
    "pyarrow",
    "numpy",
    "docker",
    "openai",
    "deephaven_enterprise",
    "matplotlib",
)

# Runs in the child. The witness is a meta-path finder, so it also sees importlib imports
# (the lazy module attributes use those); it records the chain of our modules on the stack.
_CHILD = r"""
import asyncio
import json
import sys

HEAVY = tuple(json.loads(sys.argv[1]))
first = {}


class Witness:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in HEAVY and name not in first:
            chain = []
            frame = sys._getframe(1)
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith("deephaven_mcp") and module not in chain:
                    chain.append(module)
                frame = frame.f_back
            first[name] = " <- ".join(chain) or "a module outside deephaven_mcp"
        return None


sys.meta_path.insert(0, Witness)

from fastmcp import Client

from deephaven_mcp.mcp_docs_server import build_docs_server
from deephaven_mcp.mcp_systems_server import build_systems_server


async def tool_names(server):
    async with Client(server) as client:
        return sorted(tool.name for tool in await client.list_tools())


def loaded():
    return sorted(name for name in HEAVY if name in sys.modules)


report = {
    "systems_tools": asyncio.run(tool_names(build_systems_server())),
    "docs_tools": asyncio.run(tool_names(build_docs_server())),
    "loaded_at_start": loaded(),
    "first_at_start": dict(first),
    "finalizers_patched_at_start": "deephaven_mcp.clients.finalizers" in sys.modules,
}

import deephaven_mcp.clients.community  # the positive control: pydeephaven comes in here
from deephaven_mcp.clients import finalizers

report["loaded_after_control"] = loaded()
report["first_after_control"] = dict(first)
report["finalizers_patched_after_control"] = finalizers._installed
print(json.dumps(report))
"""


def _run_child(tmp_path: Path) -> dict[str, Any]:
    config = tmp_path / "deephaven_mcp.json"
    config.write_text(
        json.dumps({"community": {"sessions": {"local": {"host": "127.0.0.1", "port": 10000}}}}),
        encoding="utf-8",
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DH_MCP_", "INKEEP_", "OPENAI_"))
    }
    env.update(DH_MCP_CONFIG_FILE=str(config), DH_MCP_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_starting_both_servers_imports_no_heavy_package(tmp_path: Path) -> None:
    report = _run_child(tmp_path)

    # The servers really were built and listed their tools (so the schemas exist).
    assert "session_table_data" in report["systems_tools"]
    assert "session_table_aggregate" in report["systems_tools"]
    assert report["docs_tools"] == ["docs_chat"]

    first = report["first_at_start"]
    culprits = [
        f"{name} (first imported by {first.get(name, '?')})" for name in report["loaded_at_start"]
    ]
    assert not culprits, "heavy packages imported at start-up: " + "; ".join(culprits)
    assert not report["finalizers_patched_at_start"]

    # Positive control: the witness does see a heavy import, and who made it.
    assert {"pydeephaven", "pyarrow", "pandas", "numpy"} <= set(report["loaded_after_control"])
    assert report["first_after_control"]["pydeephaven"].startswith(
        "deephaven_mcp.clients.community"
    )
    assert report["finalizers_patched_after_control"]


_CLI_CHILD = r"""
import contextlib
import io
import json
import sys

from deephaven_mcp.cli import main

heavy = tuple(json.loads(sys.argv[1]))
codes = []
for argv in (["--help"], ["pq", "--help"], ["catalog", "--help"], ["install", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        codes.append(main(argv))
print(json.dumps({"codes": codes, "loaded": sorted(n for n in heavy if n in sys.modules)}))
"""


def test_dh_mcp_help_imports_no_heavy_package(tmp_path: Path) -> None:
    """``dh-mcp --help`` (and a sub-app's) stays quick: the API loads when a command runs."""
    done = subprocess.run(
        [sys.executable, "-c", _CLI_CHILD, json.dumps([*HEAVY, "grpc"])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0]
    assert report["loaded"] == []
