"""Enterprise tools through an MCP client, backed by the in-process fake Core+ backend.

The fake hands out real pydeephaven sessions to the test worker, so the session data tools
run for real on enterprise sessions and persistent queries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastmcp import Client

from deephaven_mcp.enterprise import adapter
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker
from tests.enterprise.conftest import PASSWORD
from tests.enterprise.fake_backend import ENGINE_VERSION, FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config, write_config

pytestmark = pytest.mark.integration


def _system(password: str, limit: int = 2) -> dict[str, object]:
    return {
        "connection_json_url": "https://enterprise.test/iris/connection.json",
        "auth_type": "password",
        "username": "alice",
        "password": password,
        "session_creation": {"max_concurrent_sessions": limit, "defaults": {"heap_size_gb": 2}},
        # A query's script and schedule are the caller's here; every launch setting is not.
        "agent_limits": {"agent_may_set": ["script_body", "schedule"]},
    }


@pytest.fixture(scope="module")
async def tools(
    fake: FakeEnterpriseBackend, dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ToolCaller]:
    config = {
        "community": {"sessions": {"local": session_config(dh_worker)}},
        "enterprise": {"systems": {"prod": _system(PASSWORD), "badpw": _system("wrong-password")}},
    }
    path = tmp_path_factory.mktemp("ent") / "c.json"
    async with mcp_tools(path, config, enterprise_backend=fake, timeout=300) as caller:
        yield caller


async def test_status_is_typed_and_redacted(tools: ToolCaller) -> None:
    quick = {s["name"]: s for s in (await tools.ok("enterprise_systems_status"))["systems"]}
    assert quick["prod"]["status"] == "UNKNOWN"
    checked = await tools.ok("enterprise_systems_status", attempt_to_connect=True)
    systems = {s["name"]: s for s in checked["systems"]}
    assert systems["prod"]["status"] == "ONLINE" and systems["prod"]["is_alive"] is True
    assert systems["badpw"]["status"] == "UNAUTHORIZED" and systems["badpw"]["is_alive"] is False
    text = json.dumps(checked)
    assert PASSWORD not in text and "wrong-password" not in text
    assert systems["prod"]["config"]["username"] == "alice"


async def test_created_worker_is_a_full_session(tools: ToolCaller) -> None:
    created = await tools.ok("session_enterprise_create", system_name="prod", session_name="w1")
    sid = created["session_id"]
    assert sid == "enterprise:prod:w1" and created["system_name"] == "prod"
    ids = {s["session_id"] for s in (await tools.ok("sessions_list"))["sessions"]}
    assert sid in ids
    tables = await tools.ok("session_tables_list", session_id=sid)
    assert "trades" in tables["table_names"]
    rows = await tools.ok(
        "session_table_data", session_id=sid, table_name="portfolio", format="json-row"
    )
    assert rows["row_count"] == 5
    details = (await tools.ok("session_details", session_id=sid))["session"]
    assert details["type"] == "enterprise" and details["kind"] == "worker"
    # issue 10: the Core+ version the controller reports, not always null
    assert details["deephaven_enterprise_version"] == ENGINE_VERSION

    await tools.ok("session_enterprise_create", system_name="prod", session_name="w2")
    assert "max_concurrent_sessions" in await tools.error(
        "session_enterprise_create", system_name="prod", session_name="w3"
    )
    for name in ("w1", "w2"):
        deleted = await tools.ok("session_enterprise_delete", system_name="prod", session_name=name)
        assert deleted["message"] == "Session deleted successfully"
    ids = {s["session_id"] for s in (await tools.ok("sessions_list"))["sessions"]}
    assert sid not in ids
    assert "'w1'" in await tools.error("session_tables_list", session_id=sid)
    assert "not found" in await tools.error("session_enterprise_create", system_name="nope")


async def test_catalog_tools(tools: ToolCaller) -> None:
    await tools.ok("session_enterprise_create", system_name="prod", session_name="cat")
    sid = "enterprise:prod:cat"
    try:
        listed = await tools.ok(
            "catalog_tables_list",
            session_id=sid,
            filters=["Namespace = `MarketUS`"],
            format="json-row",
        )
        assert {row["TableName"] for row in listed["data"]} == {"Trades", "Quotes", "LiveTicks"}
        assert (
            listed["is_complete"] is True
            and {"name": "Namespace", "type": "string"} in listed["columns"]
        )

        namespaces = await tools.ok("catalog_namespaces_list", session_id=sid, format="json-column")
        assert namespaces["data"]["Namespace"] == sorted(namespaces["data"]["Namespace"])
        assert "MarketUS" in namespaces["data"]["Namespace"]
        truncated = await tools.ok("catalog_namespaces_list", session_id=sid, max_rows=1)
        assert truncated["row_count"] == 1 and truncated["is_complete"] is False

        schemas = await tools.ok(
            "catalog_tables_schema",
            session_id=sid,
            namespace="MarketUS",
            table_names=["Trades", "Nope"],
        )
        good = next(s for s in schemas["schemas"] if s["table"] == "Trades")
        assert good["success"] is True and good["namespace"] == "MarketUS"
        assert [row["Name"] for row in good["data"]] == ["Date", "Sym", "Price", "Seq"]
        bad = next(s for s in schemas["schemas"] if s["table"] == "Nope")
        assert bad["success"] is False and bad["isError"] is True

        sample = await tools.ok(
            "catalog_table_sample",
            session_id=sid,
            namespace="MarketUS",
            table_name="Trades",
            max_rows=3,
            head=False,
            format="json-column",
        )
        assert sample["data"]["Seq"] == [247, 248, 249] and sample["is_complete"] is False
        assert sample["source"] == "historical"
        assert sample["table_name"] == "Trades" and sample["namespace"] == "MarketUS"
        csv_sample = await tools.ok(
            "catalog_table_sample",
            session_id=sid,
            namespace="MarketUS",
            table_name="Trades",
            max_rows=2,
            format="optimize-cost",
        )
        assert csv_sample["format"] == "csv" and csv_sample["data"].startswith("Date,Sym,Price,Seq")

        # A filter is a where clause, never code: an injection attempt is just a bad filter.
        await tools.error(
            "catalog_tables_list", session_id=sid, filters=["true); import os; os._exit(1); (true"]
        )
        assert "Trades" in json.dumps(
            (await tools.ok("catalog_tables_list", session_id=sid))["data"]
        )
        assert "enterprise" in await tools.error(
            "catalog_tables_list", session_id="community:config:local"
        )
    finally:
        await tools.ok("session_enterprise_delete", system_name="prod", session_name="cat")


async def test_persistent_query_lifecycle(tools: ToolCaller) -> None:
    created = await tools.ok(
        "pq_create",
        system_name="prod",
        pq_name="analytics",
        heap_size_gb=2,
        script_body="from deephaven import empty_table\nt = empty_table(1)\n",
        schedule={"type": "manual"},
    )
    serial = created["serial"]
    assert created["state"] == "UNINITIALIZED" and created["pq_name"] == "analytics"
    assert created["starts_now"] is False and created["schedule"] == {"type": "manual"}
    assert "start it with pq_start" in created["message"]

    started = await tools.ok(
        "pq_start", system_name="prod", pq_identifier="analytics", timeout_seconds=30
    )
    assert started["state"] == "RUNNING" and started["session_id"] == "enterprise:prod:analytics"

    listed = await tools.ok("pq_list", system_name="prod")
    entry = next(q for q in listed["pqs"] if q["serial"] == serial)
    assert entry["session_id"] == "enterprise:prod:analytics"
    ids = {s["session_id"] for s in (await tools.ok("sessions_list"))["sessions"]}
    assert "enterprise:prod:analytics" in ids

    # The running PQ is a session for every data tool.
    rows = await tools.ok(
        "session_table_data",
        session_id="enterprise:prod:analytics",
        table_name="trades",
        max_rows=2,
    )
    assert rows["row_count"] == 2

    details = await tools.ok("pq_details", system_name="prod", pq_identifier=serial)
    assert details["name"] == "analytics" and details["config"]["heap_size_gb"] == 2.0

    modified = await tools.ok("pq_modify", pq_id=f"enterprise:prod:{serial}", heap_size_gb=3)
    assert modified["restarted"] is False and modified["name"] == "analytics"
    assert (await tools.ok("pq_details", system_name="prod", pq_identifier="analytics"))["config"][
        "heap_size_gb"
    ] == 3.0
    assert "nothing to change" in await tools.error("pq_modify", pq_id="enterprise:prod:analytics")
    assert "malformed pq_id" in await tools.error(
        "pq_modify", pq_id="prod:analytics", heap_size_gb=1
    )

    stopped = await tools.ok(
        "pq_stop", system_name="prod", pq_identifier=serial, timeout_seconds=30
    )
    assert stopped["state"] == "STOPPED"
    assert "RUNNING" in await tools.error(
        "session_tables_list", session_id="enterprise:prod:analytics"
    )
    restarted = await tools.ok("pq_restart", system_name="prod", pq_identifier=serial)
    assert restarted["message"] == "PQ restarted successfully"  # waited for the new run
    assert restarted["state"] == "RUNNING"
    assert restarted["session_id"] == "enterprise:prod:analytics"

    await tools.ok("pq_delete", system_name="prod", pq_identifier="analytics")
    assert "No persistent query" in await tools.error(
        "pq_details", system_name="prod", pq_identifier=serial
    )


async def test_launch_settings_are_the_operators(
    tools: ToolCaller, fake: FakeEnterpriseBackend
) -> None:
    """agent_limits.agent_may_set lists no launch setting on 'prod': they are refused, naming it."""
    key = "enterprise.systems.prod.agent_limits.agent_may_set"
    before = len(fake.calls)
    assert await tools.error(
        "session_enterprise_create",
        system_name="prod",
        session_name="w9",
        extra_jvm_args=["-javaagent:/tmp/agent.jar"],
    ) == (
        f'extra_jvm_args is set by the operator: add "extra_jvm_args" to {key} '
        "to let callers choose it"
    )
    assert await tools.error(
        "pq_create",
        system_name="prod",
        pq_name="grouped",
        heap_size_gb=1,
        admin_groups=["allusers"],
        viewer_groups=["allusers"],
    ) == (
        'admin_groups, viewer_groups are set by the operator: add "admin_groups", '
        f'"viewer_groups" to {key} to let callers choose them'
    )
    assert await tools.error(
        "pq_modify", pq_id="enterprise:prod:grouped", extra_environment_vars={"LD_PRELOAD": "x"}
    ) == (
        f'extra_environment_vars is set by the operator: add "extra_environment_vars" to {key} '
        "to let callers choose it"
    )
    assert fake.calls[before:] == []  # refused before the backend is asked anything
    described = {tool.name: tool for tool in await tools.client.list_tools()}
    create = described["session_enterprise_create"]
    assert "agent_may_set" in (create.description or "")
    assert "agent_may_set" in create.input_schema["properties"]["extra_jvm_args"]["description"]
    assert "agent_may_set" not in create.input_schema["properties"]["heap_size_gb"]["description"]


async def test_without_the_enterprise_extra(
    dh_worker: RunningWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(adapter, "_import_module", missing)
    config = {
        "community": {"sessions": {"local": session_config(dh_worker)}},
        "enterprise": {"systems": {"prod": _system(PASSWORD)}},
    }
    path = write_config(tmp_path / "c.json", config)
    async with Client(build_systems_server(path)) as client:
        tools = ToolCaller(client)
        status = (await tools.ok("enterprise_systems_status", attempt_to_connect=True))["systems"]
        assert status[0]["status"] == "MISCONFIGURED"
        assert "deephaven-mcp[enterprise]" in status[0]["detail"]
        assert "deephaven-mcp[enterprise]" in await tools.error("pq_list", system_name="prod")
        # Everything else keeps working.
        listed = await tools.ok("session_tables_list", session_id="community:config:local")
        assert "trades" in listed["table_names"]
