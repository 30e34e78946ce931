"""session_script_run reports output, table changes and clean errors (real workers, MCP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
PSK = "community:config:psk"
LIMIT = 64 * 1024


@pytest.fixture(scope="module")
async def tools(
    dh_worker: RunningWorker, dh_psk_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ToolCaller]:
    config = {
        "community": {
            "sessions": {"anon": session_config(dh_worker), "psk": session_config(dh_psk_worker)}
        }
    }
    async with mcp_tools(tmp_path_factory.mktemp("cfg") / "deephaven_mcp.json", config) as caller:
        yield caller


async def test_stdout_and_stderr_are_returned(tools: ToolCaller) -> None:
    answer = await tools.ok(
        "session_script_run",
        session_id=PSK,
        script="import sys\nprint('hello', 42)\nprint('careful', file=sys.stderr)\n",
    )
    assert answer == {
        "success": True,
        "stdout": "hello 42\n",
        "stdout_truncated": False,
        "stdout_dropped_bytes": 0,
        "stderr": "careful\n",
        "stderr_truncated": False,
        "stderr_dropped_bytes": 0,
        "tables": [],
        "tables_truncated": False,
    }


async def test_created_replaced_and_removed_tables(tools: ToolCaller) -> None:
    await tools.ok(
        "session_script_run",
        session_id=PSK,
        script="from deephaven import empty_table\n"
        "sr_keep = empty_table(3)\nsr_swap = empty_table(1)\nsr_gone = empty_table(1)\n",
    )
    answer = await tools.ok(
        "session_script_run",
        session_id=PSK,
        script="from deephaven import empty_table, time_table\n"
        "sr_new = empty_table(4).update(['X = i', 'S = `a`'])\n"
        "sr_swap = sr_swap.update('D = 1.5')\n"
        "sr_keep = sr_keep\n"
        "sr_live = time_table('PT1s')\n"
        "del sr_gone\n",
    )
    assert answer["tables"] == [
        {
            "name": "sr_live",
            "change": "created",
            "row_count": answer["tables"][0]["row_count"],
            "columns": [{"name": "Timestamp", "type": "java.time.Instant"}],
            "is_refreshing": True,
        },
        {
            "name": "sr_new",
            "change": "created",
            "row_count": 4,
            "columns": [{"name": "X", "type": "int"}, {"name": "S", "type": "java.lang.String"}],
            "is_refreshing": False,
        },
        {
            "name": "sr_swap",
            "change": "replaced",
            "row_count": 1,
            "columns": [{"name": "D", "type": "double"}],
            "is_refreshing": False,
        },
        {"name": "sr_gone", "change": "removed"},
    ]
    assert answer["tables_truncated"] is False
    # The worker is shared with other modules, which list its tables: leave none behind.
    await tools.ok(
        "session_script_run", session_id=PSK, script="del sr_live, sr_keep, sr_new, sr_swap"
    )


async def test_an_error_names_the_users_line_without_engine_frames(tools: ToolCaller) -> None:
    script = "a = 1\n\nb = undefined_thing + a\n"
    message = await tools.error("session_script_run", session_id=PSK, script=script)
    assert message == "script failed: NameError: name 'undefined_thing' is not defined (line 3)"

    formula = "from deephaven import empty_table\nt = empty_table(1)\nt.update('Z = nosuch(i)')\n"
    message = await tools.error("session_script_run", session_id=PSK, script=formula)
    assert message.startswith("script failed: DHError: ") and message.endswith("(line 3)")
    assert "nosuch" in message and "\tat " not in message and "io.deephaven" not in message
    await tools.ok("session_script_run", session_id=PSK, script="del t")  # ran before line 3

    inside = "def f():\n    return 1 / 0\n\nf()\n"
    message = await tools.error("session_script_run", session_id=PSK, script=inside)
    assert message == "script failed: ZeroDivisionError: division by zero (line 2)"


async def test_output_over_the_cap_is_cut_with_the_exact_byte_count(tools: ToolCaller) -> None:
    answer = await tools.ok(
        "session_script_run",
        session_id=PSK,
        script="import sys\nprint('é' * 50000, end='')\nsys.stderr.write('x' * 70000)\n",
    )
    assert answer["stdout_truncated"] is True
    assert answer["stdout"] == "é" * (LIMIT // 2)
    assert answer["stdout_dropped_bytes"] == 100_000 - LIMIT
    assert answer["stderr_truncated"] is True and len(answer["stderr"]) == LIMIT
    assert answer["stderr_dropped_bytes"] == 70_000 - LIMIT


async def test_nothing_is_left_behind_in_the_worker(tools: ToolCaller) -> None:
    await tools.ok("session_script_run", session_id=ANON, script="def shout():\n    print('x')\n")
    answer = await tools.ok(
        "session_script_run",
        session_id=ANON,
        script="import sys\n"
        "print(sorted(k for k in globals() if 'dh_mcp' in k or 'runner' in k))\n"
        # During a run the streams are routers; what they replaced must be no older router.
        "print(type(sys.stdout._target).__name__, type(sys.stderr._target).__name__)\n",
    )
    assert answer["stdout"] == "[]\nTeeStream TeeStream\n"
    names = (await tools.ok("session_tables_list", session_id=ANON))["table_names"]
    assert not [name for name in names if "dh_mcp" in name]
    # A function the script defined prints to the worker's log later, not into an answer.
    later = await tools.ok("session_script_run", session_id=ANON, script="x_quiet = 1")
    assert later["stdout"] == ""


async def test_concurrent_scripts_get_their_own_output(tools: ToolCaller) -> None:
    def script(tag: str) -> str:
        return f"import time\nfor i in range(5):\n    print('{tag}', i)\n    time.sleep(0.2)\n"

    answers = await asyncio.gather(
        tools.ok("session_script_run", session_id=ANON, script=script("anon")),
        tools.ok("session_script_run", session_id=PSK, script=script("psk")),
        tools.ok("session_script_run", session_id=PSK, script=script("psk2")),
    )
    for answer, tag in zip(answers, ("anon", "psk", "psk2"), strict=True):
        assert answer["stdout"] == "".join(f"{tag} {i}\n" for i in range(5))


async def test_every_field_is_present_even_without_output(tools: ToolCaller) -> None:
    answer = await tools.ok("session_script_run", session_id=PSK, script="pass")
    assert set(answer) == {
        "success",
        "stdout",
        "stdout_truncated",
        "stdout_dropped_bytes",
        "stderr",
        "stderr_truncated",
        "stderr_dropped_bytes",
        "tables",
        "tables_truncated",
    }
