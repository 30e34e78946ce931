"""Whole-process behaviour: orphan cleanup after SIGKILL, and --demo with no config."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._ports import free_port, wait_until_listening
from tests.mcp_systems_server._helpers import ToolCaller

pytestmark = pytest.mark.integration

SERVER = shutil.which("dh-mcp-systems-server")


def _start_http_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    assert SERVER
    port = free_port()
    with log.open("ab") as out:  # the server keeps its own descriptor; ours is closed here
        process = subprocess.Popen(
            [SERVER, "--transport", "streamable-http", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_until_listening(port, process, log)
    return process, f"http://127.0.0.1:{port}/mcp"


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _python_creation_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a server that launches python workers and records them under tmp_path."""
    config = tmp_path / "c.json"
    defaults = {"launch_method": "python", "heap_size_gb": 1, "auth_type": "Anonymous"}
    creation = {"defaults": defaults}
    config.write_text(json.dumps({"community": {"session_creation": creation}}))
    return dict(
        os.environ, DH_MCP_CONFIG_FILE=str(config), DH_MCP_STATE_DIR=str(tmp_path / "state")
    )


async def test_sigkilled_server_takes_its_worker_along_and_restart_cleans_up(
    tmp_path: Path,
) -> None:
    env = _python_creation_env(tmp_path)
    first, url = _start_http_server(env, tmp_path / "first.log")
    second = None
    try:
        async with Client(url, timeout=600) as client:
            created = await client.call_tool("session_community_create", {"session_name": "orphan"})
        pid = created.structured_content["pid"]
        assert psutil.pid_exists(pid)

        first.send_signal(signal.SIGKILL)
        first.wait(30)
        deadline = time.monotonic() + 10
        while not _gone(pid):  # the kernel's parent-death signal, sandbox or not
            assert time.monotonic() < deadline, "the worker outlived a crashed server"
            await asyncio.sleep(0.1)
        records = list((tmp_path / "state" / "instances").glob("*.json"))
        assert len(records) == 1  # the crashed server could not remove its record

        second, _ = _start_http_server(env, tmp_path / "second.log")
        deadline = time.monotonic() + 90
        while records[0].exists():
            assert time.monotonic() < deadline, "the orphaned record was not cleaned up"
            await asyncio.sleep(0.5)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(30)


async def test_sigterm_stops_launched_workers(tmp_path: Path) -> None:
    env = _python_creation_env(tmp_path)
    server, url = _start_http_server(env, tmp_path / "server.log")
    try:
        async with Client(url, timeout=600) as client:
            created = await client.call_tool("session_community_create", {"session_name": "term"})
        pid = created.structured_content["pid"]
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        assert _gone(pid), (tmp_path / "server.log").read_text()[-3000:]
        log = (tmp_path / "server.log").read_text()
        assert "POST /mcp" not in log  # access log lines are quiet below DEBUG
    finally:
        if server.poll() is None:
            server.kill()


async def test_demo_mode_needs_no_config(tmp_path: Path) -> None:
    assert SERVER
    env = {k: v for k, v in os.environ.items() if k != "DH_MCP_CONFIG_FILE"}
    env["DH_MCP_STATE_DIR"] = str(tmp_path / "state")
    transport = StdioTransport(
        command=SERVER, args=["--demo"], env=env, log_file=tmp_path / "err.log", keep_alive=False
    )
    async with Client(transport, timeout=600) as client:
        listed = await client.call_tool("sessions_list", {})
        ids = [s["session_id"] for s in listed.structured_content["sessions"]]
        assert ids == ["community:dynamic:demo"]
        rows = await client.call_tool(
            "session_table_data",
            {
                "session_id": "community:dynamic:demo",
                "table_name": "portfolio",
                "format": "json-row",
            },
        )
        assert rows.structured_content["row_count"] == 5
        assert rows.structured_content["data"][0]["Sym"] == "AAPL"
        details = await client.call_tool(
            "session_details", {"session_id": "community:dynamic:demo"}
        )
        pid = details.structured_content["session"]["pid"]
    # Closing stdin ends the server, which stops the demo worker.
    deadline = time.monotonic() + 60
    while not _gone(pid):
        assert time.monotonic() < deadline, "demo worker outlived the server"
        await asyncio.sleep(0.2)
    banner = (tmp_path / "err.log").read_text()
    assert "Session 'demo' created" in banner and "built-in default" in banner


async def test_the_demo_worker_counts_toward_the_session_limit(tmp_path: Path) -> None:
    """A limit of 1 with --demo leaves no room for another worker, while the demo worker is
    starting and once it is up (three workers once ran under a limit of 2)."""
    config = McpConfig.model_validate(
        {
            "community": {
                "session_creation": {
                    "max_concurrent_sessions": 1,
                    "defaults": {"launch_method": "python", "heap_size_gb": 1},
                }
            }
        }
    )
    async with Client(build_systems_server(config=config, demo=True), timeout=600) as client:
        tools = ToolCaller(client)
        full = "Session limit reached: 1/1 sessions active"
        assert await tools.error("session_community_create", session_name="early") == full
        assert await tools.error("session_community_create", session_name="demo") == (
            "session 'community:dynamic:demo' already exists"
        )
        await tools.ok("session_details", session_id="community:dynamic:demo")  # waits for it
        assert await tools.error("session_community_create", session_name="late") == full
