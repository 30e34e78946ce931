"""Process-wide settings are the server's, applied at start-up; importing the API changes none.

Each case runs in a fresh interpreter (the settings are process-wide). A witness wraps the
setters of :mod:`deephaven_mcp.serving.process`, so even the C allocator's threshold, which
cannot be read back, is seen being set or not; the collector, Arrow's memory pool and the
SIGTERM handler are also read directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import pytest

# Shared by both children: the witness, installed before anything else of ours loads, and
# the report of the process's settings.
_PRELUDE: Final = r"""
import gc, json, os, signal, sys

from deephaven_mcp.serving import process

calls = []
SETTERS = (
    "collector_paused",
    "return_large_blocks_to_the_system",
    "arrow_uses_the_system_allocator",
    "sigterm_as_keyboard_interrupt",
)
for _name in SETTERS:
    def _witness(*args, _name=_name, _real=getattr(process, _name)):
        calls.append(_name)
        return _real(*args)
    setattr(process, _name, _witness)


def report():
    import pyarrow

    return {
        "calls": sorted(set(calls)),
        "arrow_pool": pyarrow.default_memory_pool().backend_name,
        "arrow_variable": os.environ.get("ARROW_DEFAULT_MEMORY_POOL"),
        "frozen": gc.get_freeze_count(),
        "gc_enabled": gc.isenabled(),
        "sigterm_default": signal.getsignal(signal.SIGTERM) is signal.SIG_DFL,
    }
"""

# A program using the Python API: everything it imports, a DeephavenSystems entered and
# used, and the table reads' module (which loads pyarrow and pydeephaven).
_API_USER: Final = (
    _PRELUDE
    + r"""
import asyncio

import deephaven_mcp
from deephaven_mcp import DeephavenSystems
import deephaven_mcp.clients.table_data
import deephaven_mcp.mcp_systems_server.tools


async def use():
    async with DeephavenSystems.from_config(sys.argv[1]) as systems:
        return [session["session_id"] for session in (await systems.sessions_list()).sessions]


listed = asyncio.run(use())
print(json.dumps(report() | {"listed": listed}))
"""
)

# The console script, stopped where it would start serving: at that point the server's
# first table read loads the read module (and pyarrow with it).
_SERVER: Final = (
    _PRELUDE
    + r"""
from deephaven_mcp.mcp_systems_server import _cli


def serve(server):
    import deephaven_mcp.clients.table_data

    print(json.dumps(report()))


_cli.run_stdio = serve
from deephaven_mcp._console import systems_server

sys.argv = ["dh-mcp-systems-server"]
systems_server()
"""
)

_PLAIN_ARROW: Final = "import pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _run(code: str, tmp_path: Path, *args: str) -> str:
    config = tmp_path / "deephaven_mcp.json"
    config.write_text(
        json.dumps({"community": {"sessions": {"local": {"host": "127.0.0.1", "port": 9}}}}),
        encoding="utf-8",
    )
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DH_MCP_", "ARROW_"))
    }
    env.update(DH_MCP_CONFIG_FILE=str(config), DH_MCP_STATE_DIR=str(tmp_path / "state"))
    done = subprocess.run(
        [sys.executable, "-c", code, str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


def _report(code: str, tmp_path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(_run(code, tmp_path))
    return report


def test_importing_and_using_the_python_api_changes_no_process_setting(tmp_path: Path) -> None:
    plain_pool = _run(_PLAIN_ARROW, tmp_path)  # what a process that never loaded us gets
    report = _report(_API_USER, tmp_path)
    assert report["listed"] == ["community:config:local"]  # the API really was used
    assert report["calls"] == []
    assert report["arrow_pool"] == plain_pool
    assert report["arrow_variable"] is None
    assert report["frozen"] == 0
    assert report["gc_enabled"]
    assert report["sigterm_default"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the settings are for Linux")
def test_the_systems_server_applies_every_setting_before_serving(tmp_path: Path) -> None:
    report = _report(_SERVER, tmp_path)
    assert report["calls"] == [
        "arrow_uses_the_system_allocator",
        "collector_paused",
        "return_large_blocks_to_the_system",
        "sigterm_as_keyboard_interrupt",
    ]
    assert report["arrow_pool"] == "system"  # freed answers go back to the system
    assert report["frozen"] > 0  # what start-up built is frozen
    assert report["gc_enabled"]
    assert not report["sigterm_default"]


_ARROW_SWITCH: Final = r"""
import sys
if sys.argv[2] == "loaded":
    import pyarrow
from deephaven_mcp.serving.process import arrow_uses_the_system_allocator
arrow_uses_the_system_allocator()
import pyarrow
print(pyarrow.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize("when", ["before pyarrow loads", "loaded"])
def test_arrow_uses_the_system_allocator_whenever_it_is_applied(tmp_path: Path, when: str) -> None:
    assert _run(_ARROW_SWITCH, tmp_path, when) == "system"
