"""Every foundation tool, driven through an in-process MCP client against real workers."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from deephaven_mcp.systems._tables import SCRIPT_PATH_REFUSED
from tests._ports import free_port
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
PSK = "community:config:psk"
DEAD = "community:config:dead"


@pytest.fixture(scope="module")
def script_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one directory script_path may read from (security.script_path_roots)."""
    return tmp_path_factory.mktemp("scripts")


@pytest.fixture(scope="module")
async def tools(
    dh_worker: RunningWorker,
    dh_psk_worker: RunningWorker,
    tmp_path_factory: pytest.TempPathFactory,
    script_root: Path,
) -> AsyncIterator[ToolCaller]:
    config = {
        "community": {
            "sessions": {
                "anon": session_config(dh_worker),
                "psk": session_config(dh_psk_worker),
                "dead": {"host": "127.0.0.1", "port": free_port()},
            }
        },
        "security": {"script_path_roots": [str(script_root)]},
    }
    async with mcp_tools(tmp_path_factory.mktemp("cfg") / "deephaven_mcp.json", config) as caller:
        yield caller


async def test_every_tool_is_annotated_and_has_an_output_schema(tools: ToolCaller) -> None:
    listed = {tool.name: tool for tool in await tools.client.list_tools()}
    expected = {
        "mcp_reload",
        "enterprise_systems_status",
        "sessions_list",
        "session_details",
        "session_tables_list",
        "session_tables_schema",
        "session_table_data",
        "session_table_summary",
        "session_table_aggregate",
        "session_script_run",
        "session_pip_list",
    }
    assert expected <= set(listed)
    for name in expected:
        tool = listed[name]
        assert tool.annotations is not None and tool.annotations.read_only_hint is not None
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.description
    table_data = listed["session_table_data"].annotations
    script_run = listed["session_script_run"].annotations
    assert table_data is not None and table_data.read_only_hint is True
    for name in ("session_table_summary", "session_table_aggregate"):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.read_only_hint is True
    assert script_run is not None and script_run.destructive_hint is True


async def test_sessions_list_and_details(tools: ToolCaller) -> None:
    listed = await tools.ok("sessions_list")
    ids = {entry["session_id"] for entry in listed["sessions"]}
    assert {ANON, PSK, DEAD} <= ids
    entry = next(e for e in listed["sessions"] if e["session_id"] == PSK)
    assert entry == {
        "session_id": PSK,
        "type": "community",
        "source": "config",
        "session_name": "psk",
    }

    details = (await tools.ok("session_details", session_id=PSK, attempt_to_connect=True))[
        "session"
    ]
    assert details["available"] is True
    assert details["programming_language"] == "python"
    assert details["deephaven_core_version"].startswith("42.")
    assert details["deephaven_enterprise_version"] is None

    dead = (await tools.ok("session_details", session_id=DEAD, attempt_to_connect=True))["session"]
    assert dead["available"] is False
    assert "unreachable" in dead["last_error"]


async def test_session_details_leaves_no_helper_tables(tools: ToolCaller) -> None:
    before = (await tools.ok("session_tables_list", session_id=ANON))["table_names"]
    await tools.ok("session_details", session_id=ANON, attempt_to_connect=True)
    await tools.ok("session_pip_list", session_id=ANON)
    after = (await tools.ok("session_tables_list", session_id=ANON))["table_names"]
    assert after == before


async def test_tables_list(tools: ToolCaller) -> None:
    listed = await tools.ok("session_tables_list", session_id=ANON)
    assert {"trades", "quotes", "simple_awkward"} <= set(listed["table_names"])
    assert listed["count"] == len(listed["table_names"])
    assert listed["session_id"] == ANON
    psk = await tools.ok("session_tables_list", session_id=PSK)
    assert "trades" not in psk["table_names"] and "simple_numbers" in psk["table_names"]


async def test_tables_schema_full_metadata_and_partial_failure(tools: ToolCaller) -> None:
    result = await tools.ok(
        "session_tables_schema", session_id=ANON, table_names=["trades", "no_such_table"]
    )
    assert result["count"] == 2
    good, bad = result["schemas"]
    assert good["success"] is True and good["table"] == "trades" and good["format"] == "json-row"
    names = [row["Name"] for row in good["data"]]
    assert names == ["Timestamp", "Sym", "Price", "Size", "Exchange"]
    assert {"Name", "DataType"} <= set(good["data"][0])
    assert good["row_count"] == 5
    assert {"name": "Name", "type": "string"} in good["meta_columns"]
    assert bad == {
        "success": False,
        "table": "no_such_table",
        "error": bad["error"],
        "isError": True,
    }
    assert "not found" in bad["error"]

    everything = await tools.ok("session_tables_schema", session_id=PSK)
    assert {entry["table"] for entry in everything["schemas"]} == {
        "simple_numbers",
        "simple_people",
        "simple_awkward",
    }


async def test_table_data_head_tail_and_completeness(tools: ToolCaller) -> None:
    head = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name="simple_numbers",
        max_rows=3,
        format="json-row",
    )
    assert [row["Id"] for row in head["data"]] == [0, 1, 2]
    assert head["row_count"] == 3 and head["is_complete"] is False
    assert head["schema"][0] == {"name": "Id", "type": "int32"}

    tail = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name="simple_numbers",
        max_rows=2,
        head=False,
        format="json-column",
    )
    assert tail["data"]["Id"] == [98, 99]

    whole = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name="simple_numbers",
        max_rows=None,
        format="csv",
    )
    assert whole["row_count"] == 100 and whole["is_complete"] is True
    default = await tools.ok("session_table_data", session_id=ANON, table_name="trades")
    assert default["format"] == "markdown-table"
    assert default["row_count"] == 1000 and default["is_complete"] is False


@pytest.mark.parametrize(
    ("strategy", "concrete"),
    [
        ("optimize-rendering", "markdown-table"),
        ("optimize-accuracy", "markdown-kv"),
        ("optimize-cost", "csv"),
        ("optimize-speed", "json-column"),
    ],
)
async def test_strategies_resolve(tools: ToolCaller, strategy: str, concrete: str) -> None:
    result = await tools.ok(
        "session_table_data", session_id=PSK, table_name="simple_people", format=strategy
    )
    assert result["format"] == concrete


async def _awkward(tools: ToolCaller, fmt: str) -> Any:
    result = await tools.ok(
        "session_table_data", session_id=ANON, table_name="simple_awkward", format=fmt
    )
    assert result["row_count"] == 8
    return result["data"]


async def test_awkward_values_survive_every_format(tools: ToolCaller) -> None:
    rows = await _awkward(tools, "json-row")
    json.loads(json.dumps(rows, allow_nan=False))
    texts = [row["Text"] for row in rows]
    assert texts == ["plain", None, "a|b", "line1\nline2", 'say "hi", ok', "<&>", "ünï¢ødé ✓", ""]
    assert [row["Value"] for row in rows][:5] == [1.5, None, "NaN", "Infinity", "-Infinity"]
    assert rows[1]["When"] is None and rows[0]["When"].startswith("2024-03-01T12:00:00")

    parsed = list(csv.reader(io.StringIO(await _awkward(tools, "csv"))))
    assert parsed[0] == ["Text", "Count", "Value", "Flag", "When"]
    assert all(len(row) == 5 for row in parsed)
    assert [row[0] for row in parsed[1:]] == [t or "" for t in texts]

    table = await _awkward(tools, "markdown-table")
    lines = table.strip().splitlines()
    assert len(lines) == 10
    counts = {line.replace("\\|", "").count("|") for line in lines}
    assert counts == {6}

    loaded = yaml.safe_load(await _awkward(tools, "yaml"))
    assert [row["Text"] for row in loaded] == texts

    root = ET.fromstring(await _awkward(tools, "xml"))
    assert len(list(root)) == 8
    assert "<&>" in ET.tostring(root, encoding="unicode").replace("&lt;&amp;&gt;", "<&>")

    kv = await _awkward(tools, "markdown-kv")
    assert kv.count("## Record") == 8


async def test_bad_arguments_are_clear_and_leave_everything_working(tools: ToolCaller) -> None:
    assert "not found" in await tools.error(
        "session_tables_list", session_id="community:config:nope"
    )
    assert "malformed" in await tools.error("session_tables_list", session_id="nonsense")
    assert "non-ASCII" in await tools.error(
        "session_tables_list", session_id="community:config:zoë"
    )
    message = await tools.error("session_table_data", session_id=ANON, table_name="no_such_table")
    assert "not found" in message and "trades" in message
    assert "max_rows" in await tools.error(
        "session_table_data", session_id=ANON, table_name="trades", max_rows=-5
    )
    assert "format" in await tools.error(
        "session_table_data", session_id=ANON, table_name="trades", format="html"
    )
    assert "non-ASCII" in await tools.error(
        "session_table_data", session_id=ANON, table_name="tabelle_ä"
    )
    assert "max_rows" in await tools.error(
        "session_table_data", session_id=ANON, table_name="trades", max_rows="lots"
    )
    assert "unreachable" in await tools.error("session_tables_list", session_id=DEAD)
    # The server and the session still work afterwards.
    listed = await tools.ok("session_tables_list", session_id=ANON)
    assert "trades" in listed["table_names"]


async def test_script_run_inline_file_and_errors(tools: ToolCaller, script_root: Path) -> None:
    await tools.ok(
        "session_script_run",
        session_id=PSK,
        script="from deephaven import empty_table\nmcp_made = empty_table(5).update('X = i * 2')",
    )
    data = await tools.ok(
        "session_table_data", session_id=PSK, table_name="mcp_made", format="json-column"
    )
    assert data["data"]["X"] == [0, 2, 4, 6, 8]

    script_file = script_root / "make.py"
    script_file.write_text("from deephaven import empty_table\nfrom_file = empty_table(2)\n")
    await tools.ok("session_script_run", session_id=PSK, script_path=str(script_file))
    assert "from_file" in (await tools.ok("session_tables_list", session_id=PSK))["table_names"]

    message = await tools.error("session_script_run", session_id=PSK, script="x = undefined_name")
    assert "NameError" in message and "undefined_name" in message and "line 1" in message
    assert "exactly one" in await tools.error("session_script_run", session_id=PSK)
    assert "exactly one" in await tools.error(
        "session_script_run", session_id=PSK, script="1", script_path=str(script_file)
    )
    assert (
        await tools.error(
            "session_script_run", session_id=PSK, script_path=str(script_root / "missing.py")
        )
        == SCRIPT_PATH_REFUSED
    )


async def test_pip_list(tools: ToolCaller) -> None:
    packages = (await tools.ok("session_pip_list", session_id=ANON))["result"]
    names = {entry["package"].lower(): entry["version"] for entry in packages}
    assert "deephaven-core" in names and names["deephaven-core"].startswith("42.")


async def test_enterprise_status_empty_without_systems(tools: ToolCaller) -> None:
    assert (await tools.ok("enterprise_systems_status"))["systems"] == []


async def test_reload_keeps_working(tools: ToolCaller) -> None:
    await tools.ok("mcp_reload")
    listed = await tools.ok("session_tables_list", session_id=PSK)
    assert "simple_numbers" in listed["table_names"]
