"""Fair use through the MCP client: stuck scripts fill one session, everything else answers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.model.timeouts import Timeouts
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, session_config

pytestmark = pytest.mark.integration

BUSY = "community:config:busy"
OTHER = "community:config:other"
LIMIT = 2
SLEEP = 4  # the worker runs scripts one at a time, so the stuck ones end LIMIT * SLEEP s in
TIMEOUTS = Timeouts(script=1.5, session_busy=1.0, max_calls_per_session=LIMIT)
PROMPT = 3.0  # seconds: a control call or another session's read answers within this


def _work_threads() -> int:
    return sum(thread.name == "dh-work" for thread in threading.enumerate())


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _promptly(call: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    began = time.monotonic()
    result = await call
    assert time.monotonic() - began < PROMPT
    return result


async def test_stuck_scripts_fill_one_session_but_others_answer(dh_worker: RunningWorker) -> None:
    # Two sessions on the same worker: the limit is per session, not per worker.
    config = McpConfig.model_validate(
        {
            "community": {
                "sessions": {"busy": session_config(dh_worker), "other": session_config(dh_worker)}
            }
        }
    )
    assert _work_threads() == 0
    async with Client(build_systems_server(config=config, timeouts=TIMEOUTS)) as client:
        tools = ToolCaller(client)
        await tools.ok("session_tables_list", session_id=BUSY)  # connected before the rush
        stuck = [
            asyncio.create_task(
                tools.error(
                    "session_script_run",
                    session_id=BUSY,
                    script=f"import time\ntime.sleep({SLEEP})",
                )
            )
            for _ in range(LIMIT)
        ]
        try:
            await _until(lambda: _work_threads() >= LIMIT, timeout=10)

            began = time.monotonic()
            message = await tools.error(
                "session_script_run",
                session_id=BUSY,
                script="from deephaven import empty_table\nrefused_ran = empty_table(1)",
            )
            assert time.monotonic() - began >= TIMEOUTS.session_busy * 0.9
            assert f"session '{BUSY}' is busy: {LIMIT} calls are running on it" in message
            assert f"at most {LIMIT} at once per session" in message
            assert "DH_MCP_MAX_CALLS_PER_SESSION" in message

            # Control calls and the other session's reads are not held up.
            listed = await _promptly(tools.ok("sessions_list"))
            assert {BUSY, OTHER} <= {entry["session_id"] for entry in listed["sessions"]}
            for session_id in (OTHER, BUSY):
                details = await _promptly(
                    tools.ok("session_details", session_id=session_id, attempt_to_connect=True)
                )
                assert details["session"]["available"] is True
            names = await _promptly(tools.ok("session_tables_list", session_id=OTHER))
            assert "trades" in names["table_names"]

            # The stuck scripts time out for their callers, yet still hold the session's slots
            # while the worker runs them: a read on the busy session is refused as well.
            for task in stuck:
                assert "timed out after 1.5 s" in await task
            assert "is busy" in await tools.error("session_tables_list", session_id=BUSY)
        finally:
            # Nothing may outlive the test: wait until the worker has finished every script.
            await asyncio.gather(*stuck, return_exceptions=True)
            await _until(lambda: _work_threads() == 0, timeout=LIMIT * SLEEP + 20)

        names = await tools.ok("session_tables_list", session_id=BUSY)
        assert "refused_ran" not in names["table_names"]
        await tools.ok("session_script_run", session_id=BUSY, script="after_the_rush = 1")
