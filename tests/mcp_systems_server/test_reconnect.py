"""A restarted worker is picked up again by the next tool call, without mcp_reload."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastmcp import Client

from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._ports import free_port
from tests._workers import RunningWorker, start_worker
from tests.mcp_systems_server._helpers import ToolCaller, write_config

pytestmark = pytest.mark.integration


async def test_worker_restart_reconnects_by_itself(tmp_path: Path) -> None:
    port = free_port()
    first = start_worker(tmp_path / "first", table_group="simple", port=port)
    config = {
        "community": {
            "sessions": {
                "w": {"host": "127.0.0.1", "port": port},
                "other": {"host": "127.0.0.1", "port": free_port()},
            }
        }
    }
    path = write_config(tmp_path / "c.json", config)
    second = None
    try:
        async with Client(build_systems_server(path)) as client:
            tools = ToolCaller(client)
            before = await tools.ok("session_tables_list", session_id="community:config:w")
            assert "simple_numbers" in before["table_names"]

            first.kill()  # SIGKILL: the cached session is now dead
            second = start_worker(tmp_path / "second", table_group="financial", port=port)

            after = await tools.ok("session_tables_list", session_id="community:config:w")
            assert "trades" in after["table_names"]
            assert "simple_numbers" not in after["table_names"]
            rows = await tools.ok(
                "session_table_data", session_id="community:config:w", table_name="portfolio"
            )
            assert rows["row_count"] == 5
            # A session that never worked does not disturb the healthy one.
            await tools.error("session_tables_list", session_id="community:config:other")
            await tools.ok("session_tables_list", session_id="community:config:w")
    finally:
        first.stop()
        if second is not None:
            second.stop()


async def test_reload_during_a_running_call_does_not_break_it(
    dh_worker: RunningWorker, tmp_path: Path
) -> None:
    """mcp_reload closes cached clients; a call still running on one must finish cleanly."""
    config = {"community": {"sessions": {"w": {"host": dh_worker.host, "port": dh_worker.port}}}}
    path = write_config(tmp_path / "c.json", config)
    async with Client(build_systems_server(path)) as client:
        tools = ToolCaller(client)
        await tools.ok("session_tables_list", session_id="community:config:w")
        slow = asyncio.create_task(
            tools.call(
                "session_script_run",
                session_id="community:config:w",
                script="import time\ntime.sleep(3)\nslow_done = 1",
            )
        )
        await asyncio.sleep(1)
        await tools.ok("mcp_reload")
        assert (await slow)["success"] is True
        # The server and the session keep working on a fresh connection.
        listed = await tools.ok("session_tables_list", session_id="community:config:w")
        assert "trades" in listed["table_names"]
