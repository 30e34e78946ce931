"""Scripts on one session do not wait for each other's clean-up, and the runner's temporary
result variable never shows in a listing (real worker, MCP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import pytest
from pydeephaven import Session

from deephaven_mcp.clients import scripts
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller

pytestmark = pytest.mark.integration

SID = "community:config:anon"  # the shared tools fixture (conftest)
INTERNAL = "__dh_mcp_script_result_"


async def _timed(start: float, call: Any) -> tuple[dict[str, Any], float]:
    answer = await call
    return answer, time.monotonic() - start


def _worker_names(worker: RunningWorker) -> list[str]:
    """Every name the worker lists, straight from pydeephaven (no filter, no script)."""
    session = Session(host=worker.host, port=worker.port)
    try:
        return sorted(session.tables)
    finally:
        session.close()


async def test_a_fast_script_does_not_wait_for_a_slow_ones_turn(tools: ToolCaller) -> None:
    await tools.ok("session_script_run", session_id=SID, script="pass")  # connected
    start = time.monotonic()
    fast = asyncio.create_task(
        _timed(
            start,
            tools.ok(
                "session_script_run",
                session_id=SID,
                script="import time\ntime.sleep(0.5)\nprint('fast')",
            ),
        )
    )
    # Sent while the fast one runs, so the engine starts it as soon as the fast one ends.
    await asyncio.sleep(0.2)
    slow = asyncio.create_task(
        _timed(
            start,
            tools.ok(
                "session_script_run",
                session_id=SID,
                script="import time\ntime.sleep(4)\nprint('slow')",
            ),
        )
    )
    (fast_answer, fast_at), (slow_answer, slow_at) = await asyncio.gather(fast, slow)
    assert fast_answer["stdout"] == "fast\n" and slow_answer["stdout"] == "slow\n"
    assert slow_at > 4.4, slow_at  # the slow one really ran after the fast one
    assert fast_at < 2.5, (fast_at, slow_at)


async def test_no_listing_shows_a_result_waiting_for_clean_up(
    tools: ToolCaller, dh_worker: RunningWorker
) -> None:
    fast = tools.ok("session_script_run", session_id=SID, script="import time\ntime.sleep(0.5)")

    async def slow_then_report() -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return await tools.ok(
            "session_script_run",
            session_id=SID,
            script="import time\ntime.sleep(3)\n"
            "from deephaven import empty_table\nsc_made = empty_table(1)\n",
        )

    slow = asyncio.create_task(slow_then_report())
    await fast
    # The slow script holds the engine: whatever the fast one left is still there.
    names = (await tools.ok("session_tables_list", session_id=SID))["table_names"]
    schemas = (await tools.ok("session_tables_schema", session_id=SID))["schemas"]
    resource = await tools.client.read_resource(f"deephaven://{quote(SID, safe='')}/tables")
    assert not slow.done()  # all of it was seen while the clean-up waited
    slow_answer = await slow
    assert not [n for n in names if n.startswith(INTERNAL)], names
    assert not [s["table"] for s in schemas if s["table"].startswith(INTERNAL)]
    assert INTERNAL not in str(resource)
    assert [t["name"] for t in slow_answer["tables"]] == ["sc_made"]

    # And it does not linger: the clean-up follows the slow script, with no further script.
    deadline = time.monotonic() + 10
    while scripts.pending_cleanups() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert scripts.pending_cleanups() == 0  # no clean-up thread is left running
    left = await asyncio.to_thread(_worker_names, dh_worker)
    assert "sc_made" in left and not [n for n in left if n.startswith(INTERNAL)], left
    await tools.ok("session_script_run", session_id=SID, script="del sc_made")


async def test_every_listing_hides_internal_names(tools: ToolCaller) -> None:
    hidden = f"{INTERNAL}0123abcd"
    made = await tools.ok(
        "session_script_run",
        session_id=SID,
        script=f"from deephaven import empty_table\n{hidden} = empty_table(1)\n"
        "sc_visible = empty_table(2)\n",
    )
    try:
        assert [t["name"] for t in made["tables"]] == ["sc_visible"]
        names = (await tools.ok("session_tables_list", session_id=SID))["table_names"]
        assert "sc_visible" in names and hidden not in names
        schemas = (await tools.ok("session_tables_schema", session_id=SID))["schemas"]
        assert hidden not in [s["table"] for s in schemas]
        resource = await tools.client.read_resource(f"deephaven://{quote(SID, safe='')}/tables")
        assert hidden not in str(resource) and "sc_visible" in str(resource)
        gone = await tools.ok("session_script_run", session_id=SID, script=f"del {hidden}")
        assert gone["tables"] == []
    finally:
        await tools.ok(
            "session_script_run",
            session_id=SID,
            script=f"globals().pop({hidden!r}, None)\nglobals().pop('sc_visible', None)",
        )
