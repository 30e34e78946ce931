"""Which calls are audited, and that an audit line cannot be forged (no Java needed)."""

from __future__ import annotations

import logging

import pytest
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server._audit import AUDITED_TOOLS, MAX_FIELD_CHARS, clean
from deephaven_mcp.mcp_systems_server._server import build_systems_server


async def test_every_state_changing_tool_is_audited() -> None:
    async with Client(build_systems_server(config=McpConfig())) as client:
        tools = await client.list_tools()
    names = {tool.name for tool in tools}
    changing = {
        tool.name
        for tool in tools
        if tool.annotations is None or tool.annotations.read_only_hint is not True
    }
    assert changing <= set(AUDITED_TOOLS), changing - set(AUDITED_TOOLS)
    assert set(AUDITED_TOOLS) <= names  # no stale names
    assert "session_community_credentials" in AUDITED_TOOLS  # reveals a secret


def test_targets_name_what_the_call_acts_on() -> None:
    assert AUDITED_TOOLS["session_script_run"]({"session_id": "community:config:a"}) == (
        "community:config:a"
    )
    assert AUDITED_TOOLS["session_community_create"]({"session_name": "w1"}) == (
        "community:dynamic:w1"
    )
    assert AUDITED_TOOLS["pq_stop"]({"system_name": "prod", "pq_identifier": "42"}) == (
        "enterprise:prod:42"
    )
    assert AUDITED_TOOLS["pq_modify"]({"pq_id": "enterprise:prod:q"}) == "enterprise:prod:q"
    assert AUDITED_TOOLS["session_script_run"]({}) == "?"


@pytest.mark.parametrize(
    "value",
    ["x\nAUDIT tool=pq_delete caller=admin", "a\rb", "tab\there", "quote'\"", "\x1b[31mred"],
)
def test_clean_keeps_one_line(value: str) -> None:
    cleaned = clean(value)
    assert cleaned.isprintable() and "'" not in cleaned and '"' not in cleaned


def test_clean_bounds_length() -> None:
    assert len(clean("s" * 10_000)) == MAX_FIELD_CHARS


async def test_audit_line_for_an_in_process_call(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="deephaven_mcp.audit"):
        async with Client(build_systems_server(config=McpConfig())) as client:
            await client.call_tool_mcp(
                "session_script_run", {"session_id": "community:config:nope\nforged", "script": "x"}
            )
            await client.call_tool_mcp("sessions_list", {})
    lines = [r.getMessage() for r in caplog.records if r.name == "deephaven_mcp.audit"]
    assert len(lines) == 1
    assert lines[0].startswith(
        "AUDIT tool=session_script_run session=community:config:nope?forged "
        "caller=in-process outcome=error ms="
    )
