"""A failed script answers with what it printed and changed before failing (real worker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydeephaven import Session

from deephaven_mcp.clients import scripts
from deephaven_mcp.errors import InvalidArgumentError, ScriptFailedError
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller

pytestmark = pytest.mark.integration

SID = "community:config:anon"  # the shared tools fixture (conftest)
FAILING = (
    "import sys\n"
    "from deephaven import empty_table\n"
    "print('partial')\n"
    "sys.stderr.write('warned')\n"
    "sf_made = empty_table(2).update('X = i')\n"
    "raise RuntimeError('boom')\n"
    "sf_never = empty_table(1)\n"
)


@pytest.fixture
def session(dh_worker: RunningWorker) -> Iterator[Session]:
    client = Session(host=dh_worker.host, port=dh_worker.port)
    try:
        yield client
    finally:
        client.close()


async def test_a_failed_script_reports_its_output_and_tables(tools: ToolCaller) -> None:
    result = await tools.client.call_tool_mcp(
        "session_script_run", {"session_id": SID, "script": FAILING}
    )
    payload: dict[str, Any] = result.structured_content
    try:
        assert result.is_error is True
        assert payload == {
            "success": False,
            "error": "script failed: RuntimeError: boom (line 6)",
            "isError": True,
            "details": {
                "stdout": "partial\n",
                "stdout_truncated": False,
                "stdout_dropped_bytes": 0,
                "stderr": "warned",
                "stderr_truncated": False,
                "stderr_dropped_bytes": 0,
                "tables": [
                    {
                        "name": "sf_made",
                        "change": "created",
                        "row_count": 2,
                        "columns": [{"name": "X", "type": "int"}],
                        "is_refreshing": False,
                    }
                ],
                "tables_truncated": False,
            },
        }
        text = result.content[0]
        assert text.type == "text" and json.loads(text.text) == payload
        await tools.call("session_script_run", session_id=SID, script=FAILING)  # schema-valid
    finally:
        await tools.ok("session_script_run", session_id=SID, script="del sf_made")


async def test_a_syntax_error_reports_empty_output(tools: ToolCaller) -> None:
    payload = await tools.call("session_script_run", session_id=SID, script="x = (\n")
    assert payload["success"] is False and payload["error"].startswith("script failed: SyntaxError")
    assert payload["details"]["stdout"] == "" and payload["details"]["tables"] == []


def test_the_client_raises_script_failed_with_what_happened(session: Session) -> None:
    with pytest.raises(ScriptFailedError) as caught:
        scripts.run_script(session, FAILING, "python")
    try:
        error = caught.value
        assert isinstance(error, InvalidArgumentError)
        assert str(error) == "script failed: RuntimeError: boom (line 6)"
        assert (error.stdout, error.stderr) == ("partial\n", "warned")
        assert [t["name"] for t in error.tables] == ["sf_made"]
        assert error.details is not None and error.details["stdout_truncated"] is False
    finally:
        session.run_script("del sf_made")


def test_an_engine_reported_failure_keeps_the_engines_changes(session: Session) -> None:
    """The Groovy path (the script sent as it is, changes from the engine's change set),
    driven here through a Python worker, which reports the same way."""
    with pytest.raises(ScriptFailedError) as caught:
        scripts._run_groovy(session, FAILING)
    try:
        error = caught.value
        assert (error.stdout, error.stderr) == (None, None)
        assert str(error) == "script failed: line 6: RuntimeError: boom"
        assert [(t["name"], t["change"], t["row_count"]) for t in error.tables] == [
            ("sf_made", "created", 2)
        ]
    finally:
        session.run_script("globals().pop('sf_made', None)")
