"""Operator limits (``limits`` in the config) through a real MCP client, on a real worker.

``max_response_bytes`` caps every answer with rows; ``default_max_rows`` is the default the
row-reading tools advertise and use, and a reload changes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler

from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker
from tests.enterprise.conftest import PASSWORD
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import ToolCaller, session_config, write_config

pytestmark = pytest.mark.integration

ROW_TOOLS = ("session_table_data", "session_table_aggregate", "catalog_table_sample")
LOCAL = "community:config:local"


class _Notifications(MessageHandler):
    def __init__(self) -> None:
        self.tool_list_changes = 0

    async def on_tool_list_changed(self, message: mcp_types.ToolListChangedNotification) -> None:
        self.tool_list_changes += 1


def _config(worker: RunningWorker, limits: dict[str, Any]) -> dict[str, Any]:
    system = {
        "connection_json_url": "https://enterprise.test/iris/connection.json",
        "auth_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "session_creation": {"max_concurrent_sessions": 1, "defaults": {"heap_size_gb": 2}},
    }
    return {
        "community": {"sessions": {"local": session_config(worker)}},
        "enterprise": {"systems": {"prod": system}},
        "limits": limits,
    }


@pytest.fixture
async def limited(
    fake: FakeEnterpriseBackend, dh_worker: RunningWorker, tmp_path: Path
) -> AsyncIterator[tuple[Path, Client[Any], _Notifications]]:
    path = tmp_path / "deephaven_mcp.json"
    write_config(path, _config(dh_worker, {"max_response_bytes": 4096, "default_max_rows": 7}))
    notifications = _Notifications()
    server = build_systems_server(str(path), enterprise_backend=fake)
    async with Client(server, message_handler=notifications, timeout=300) as client:
        yield path, client, notifications


async def _max_rows_schemas(client: Client[Any]) -> dict[str, dict[str, Any]]:
    return {
        tool.name: tool.input_schema["properties"]["max_rows"]
        for tool in await client.list_tools()
        if "max_rows" in tool.input_schema["properties"]
    }


async def test_the_operator_default_is_advertised_and_used(
    limited: tuple[Path, Client[Any], _Notifications],
) -> None:
    _, client, _ = limited
    schemas = await _max_rows_schemas(client)
    for name in ROW_TOOLS:
        assert schemas[name]["default"] == 7, name
        assert "default 7" in schemas[name]["description"], schemas[name]
    assert schemas["catalog_tables_list"]["default"] == 10_000  # entries, not rows: untouched

    tools = ToolCaller(client)
    omitted = await tools.ok(
        "session_table_data", session_id=LOCAL, table_name="trades", format="csv"
    )
    assert omitted["row_count"] == 7 and omitted["next_offset"] == 7
    explicit = await tools.ok(
        "session_table_data", session_id=LOCAL, table_name="trades", max_rows=3, format="csv"
    )
    assert explicit["row_count"] == 3
    grouped = await tools.ok(
        "session_table_aggregate",
        session_id=LOCAL,
        table_name="trades",
        group_by=["Size"],
        aggregations=[{"op": "count"}],
        format="csv",
    )
    assert grouped["row_count"] == 7 and grouped["total_rows"] == 900


async def test_every_row_answer_is_capped(
    limited: tuple[Path, Client[Any], _Notifications],
) -> None:
    _, client, _ = limited
    tools = ToolCaller(client)
    too_big = await tools.error(
        "session_table_data", session_id=LOCAL, table_name="trades", max_rows=None, format="csv"
    )
    assert "over the 4 KB response limit" in too_big and "max_rows" in too_big
    aggregated = await tools.error(
        "session_table_aggregate",
        session_id=LOCAL,
        table_name="trades",
        group_by=["Size"],
        aggregations=[{"op": "count"}],
        max_rows=None,
        format="json-row",
    )
    assert "over the 4 KB response limit" in aggregated
    await tools.ok("session_enterprise_create", system_name="prod", session_name="lim")
    try:
        sid = "enterprise:prod:lim"
        sample = await tools.ok(
            "catalog_table_sample", session_id=sid, namespace="MarketUS", table_name="Trades"
        )
        assert sample["row_count"] == 7
        whole = await tools.error(
            "catalog_table_sample",
            session_id=sid,
            namespace="MarketUS",
            table_name="Trades",
            max_rows=None,
            format="json-row",
        )
        assert "over the 4 KB response limit" in whole
        listing = await tools.ok("catalog_tables_list", session_id=sid, format="xml")
        assert listing["row_count"] == 7  # well under the cap
    finally:
        await tools.ok("session_enterprise_delete", system_name="prod", session_name="lim")


async def test_a_reload_changes_the_limits_and_tells_the_client(
    limited: tuple[Path, Client[Any], _Notifications], dh_worker: RunningWorker
) -> None:
    path, client, notifications = limited
    write_config(path, _config(dh_worker, {"default_max_rows": 12}))
    await ToolCaller(client).ok("mcp_reload")
    assert notifications.tool_list_changes == 1
    schemas = await _max_rows_schemas(client)
    assert {schemas[name]["default"] for name in ROW_TOOLS} == {12}
    answer = await ToolCaller(client).ok(
        "session_table_data", session_id=LOCAL, table_name="trades", format="csv"
    )
    assert answer["row_count"] == 12  # and the 4 KB cap is gone with the old file
    assert len(answer["data"]) > 300

    write_config(path, _config(dh_worker, {}))
    await ToolCaller(client).ok("mcp_reload")
    assert notifications.tool_list_changes == 2
    schemas = await _max_rows_schemas(client)
    assert [schemas[name]["default"] for name in ROW_TOOLS] == [1000, 1000, 100]


async def test_the_python_api_follows_the_same_limits(
    dh_worker: RunningWorker, tmp_path: Path
) -> None:
    from deephaven_mcp import DeephavenSystems
    from deephaven_mcp.errors import LimitExceededError

    config = {
        "community": {"sessions": {"local": session_config(dh_worker)}},
        "limits": {"max_response_bytes": 4096, "default_max_rows": 5},
    }
    path = write_config(tmp_path / "c.json", config)
    async with DeephavenSystems(path) as systems:
        page = await systems.session_table_data(LOCAL, "trades", format="csv")
        assert page.row_count == 5
        assert (await systems.session_table_data(LOCAL, "trades", 2, format="csv")).row_count == 2
        with pytest.raises(LimitExceededError, match="over the 4 KB response limit"):
            await systems.session_table_data(LOCAL, "trades", None, format="csv")
