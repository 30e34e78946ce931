"""Which tools the server offers: read-only mode, allow/deny lists, reloads, annotations.

Everything here works without a Deephaven worker: a hidden tool must be absent before any
session exists, and the policy is checked through a real MCP client.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from fastmcp import Client, FastMCP
from fastmcp.client.messages import MessageHandler
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from deephaven_mcp.config import McpConfig, load_config
from deephaven_mcp.config.systems_tools import (
    READ_ONLY_MODE_TOOL_NAMES,
    STATE_CHANGING_TOOL_NAMES,
    SYSTEMS_TOOL_NAMES,
    SYSTEMS_TOOLS,
)
from deephaven_mcp.errors import ConfigError, PermissionDeniedError
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.mcp_systems_server._annotations import (
    BY_EFFECT,
    DESTRUCTIVE,
    MUTATING,
    READ_ONLY,
    RESETTING,
    RUNS_CODE,
)
from deephaven_mcp.mcp_systems_server._tool_policy import ToolSet, enabled_tool_names
from deephaven_mcp.mcp_systems_server.tools import ALL_TOOLS
from deephaven_mcp.mcp_systems_server.tools._common import Systems, systems_tool
from deephaven_mcp.systems.results import Done
from tests.mcp_systems_server._helpers import ToolCaller, write_config

SERVER = shutil.which("dh-mcp-systems-server")


def _security(**security: Any) -> McpConfig:
    return McpConfig.model_validate({"security": security})


async def _offered(server: Any) -> set[str]:
    async with Client(server) as client:
        return {tool.name for tool in await client.list_tools()}


# -- the names and the policy, without a server ------------------------------------------------


def test_the_name_sets_cover_exactly_the_registered_tools() -> None:
    names = {fn.__name__ for fn in ALL_TOOLS}
    assert names == SYSTEMS_TOOL_NAMES
    assert not READ_ONLY_MODE_TOOL_NAMES & STATE_CHANGING_TOOL_NAMES


def test_the_tools_come_in_table_order_each_with_a_service_method() -> None:
    from deephaven_mcp import DeephavenSystems

    assert [fn.__name__ for fn in ALL_TOOLS] == [tool.name for tool in SYSTEMS_TOOLS]
    for tool in SYSTEMS_TOOLS:
        assert callable(getattr(DeephavenSystems, tool.name, None)), tool.name


def test_a_tool_function_without_a_table_entry_is_refused_when_defined() -> None:
    with pytest.raises(LookupError, match="session_frobnicate is not declared in deephaven_mcp"):

        @systems_tool("Frobnicating")
        async def session_frobnicate(systems: Systems) -> Done:
            return Done()


def test_a_tool_set_that_disagrees_with_the_table_is_refused() -> None:
    with pytest.raises(RuntimeError, match=r"no tool function \['pq_restart'\]"):
        ToolSet(FastMCP("t"), ALL_TOOLS[:-1])


async def test_every_tool_is_advertised_with_the_annotations_of_its_effect() -> None:
    async with Client(build_systems_server(config=McpConfig())) as client:
        listed = {tool.name: tool.annotations for tool in await client.list_tools()}
    assert listed == {tool.name: BY_EFFECT[tool.effect] for tool in SYSTEMS_TOOLS}
    # As advertised before the table existed, spelled out for the kinds that differ.
    assert listed["session_script_run"] == DESTRUCTIVE  # runs the caller's code
    assert listed["session_pip_list"] == RUNS_CODE  # a helper script: idempotent, not read-only
    assert listed["session_community_credentials"] == READ_ONLY  # changes nothing, yet hidden
    assert listed["pq_start"] == listed["pq_create"] == MUTATING
    assert listed["pq_stop"] == listed["pq_modify"] == DESTRUCTIVE
    assert listed["mcp_reload"] == RESETTING


def test_read_only_mode_keeps_only_tools_that_change_nothing() -> None:
    config = _security(read_only=True)
    assert enabled_tool_names(config.security) == READ_ONLY_MODE_TOOL_NAMES
    assert enabled_tool_names(McpConfig().security, read_only=True) == READ_ONLY_MODE_TOOL_NAMES
    for name in ("session_script_run", "session_pip_list", "pq_create", "pq_start"):
        assert name not in READ_ONLY_MODE_TOOL_NAMES


def test_allow_and_deny_lists() -> None:
    allowed = _security(tools={"enabled": ["sessions_list", "session_table_data"]})
    assert enabled_tool_names(allowed.security) == {"sessions_list", "session_table_data"}
    denied = _security(tools={"disabled": ["session_script_run"]})
    assert enabled_tool_names(denied.security) == SYSTEMS_TOOL_NAMES - {"session_script_run"}
    # An allow-list cannot bring back what read-only mode removes.
    both = _security(read_only=True, tools={"enabled": ["sessions_list", "pq_create"]})
    assert enabled_tool_names(both.security) == {"sessions_list"}


@pytest.mark.parametrize("key", ["enabled", "disabled"])
async def test_a_misspelled_tool_name_is_a_config_error_naming_the_key(
    tmp_path: Path, key: str
) -> None:
    path = write_config(
        tmp_path / "c.json", {"security": {"tools": {key: ["sessions_list", "session_scrpit_run"]}}}
    )
    with pytest.raises(ConfigError) as error:
        await load_config(path)
    assert f"security.tools.{key}" in str(error.value)
    assert "session_scrpit_run" in str(error.value)


async def test_allow_and_deny_lists_are_exclusive(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "c.json",
        {"security": {"tools": {"enabled": ["sessions_list"], "disabled": ["pq_create"]}}},
    )
    with pytest.raises(ConfigError, match="either 'enabled' or 'disabled'"):
        await load_config(path)


async def test_read_only_hints_are_honest() -> None:
    """readOnlyHint only on tools that change nothing on any worker: not on session_pip_list,
    which runs a helper script."""
    async with Client(build_systems_server(config=McpConfig())) as client:
        tools = {tool.name: tool for tool in await client.list_tools()}
    for name, tool in tools.items():
        assert tool.annotations is not None
        hint = tool.annotations.read_only_hint
        if name in STATE_CHANGING_TOOL_NAMES - {"session_community_credentials"}:
            assert hint is False, name
        elif name != "mcp_reload":
            assert hint is True, name
    assert tools["session_pip_list"].annotations is not None
    assert tools["session_pip_list"].annotations.read_only_hint is False


# -- through a client --------------------------------------------------------------------------


async def test_read_only_mode_hides_tools_entirely() -> None:
    for server in (
        build_systems_server(config=_security(read_only=True)),
        build_systems_server(config=McpConfig(), read_only=True),
    ):
        assert await _offered(server) == READ_ONLY_MODE_TOOL_NAMES
    async with Client(build_systems_server(config=McpConfig(), read_only=True)) as client:
        with pytest.raises(ToolError, match="Unknown tool"):
            await client.call_tool(
                "session_script_run", {"session_id": "community:config:x", "script": "1"}
            )


async def test_a_disabled_tool_cannot_be_called() -> None:
    server = build_systems_server(config=_security(tools={"disabled": ["session_script_run"]}))
    async with Client(server) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert names == SYSTEMS_TOOL_NAMES - {"session_script_run"}
        with pytest.raises(ToolError, match="Unknown tool"):
            await client.call_tool(
                "session_script_run", {"session_id": "community:config:x", "script": "1"}
            )


async def test_catalog_filters_are_refused_in_read_only_mode() -> None:
    """Filters are compiled by the engine; read-only mode refuses them before anything else."""
    async with Client(build_systems_server(config=_security(read_only=True))) as client:
        tools = ToolCaller(client)
        for name in ("catalog_tables_list", "catalog_namespaces_list", "catalog_tables_schema"):
            message = await tools.error(
                name, session_id="enterprise:prod:x", filters=["Namespace = `a`"]
            )
            assert "read-only mode" in message, message


class _Notifications(MessageHandler):
    def __init__(self) -> None:
        self.tool_list_changes = 0

    async def on_tool_list_changed(self, message: mcp_types.ToolListChangedNotification) -> None:
        self.tool_list_changes += 1


@pytest.fixture
async def reloadable(tmp_path: Path) -> AsyncIterator[tuple[Path, Client[Any], _Notifications]]:
    path = tmp_path / "deephaven_mcp.json"
    write_config(path, {})
    notifications = _Notifications()
    server = build_systems_server(str(path))
    async with Client(server, message_handler=notifications) as client:
        yield path, client, notifications


async def test_reload_applies_a_changed_policy_and_notifies(
    reloadable: tuple[Path, Client[Any], _Notifications],
) -> None:
    path, client, notifications = reloadable
    assert {tool.name for tool in await client.list_tools()} == SYSTEMS_TOOL_NAMES

    write_config(path, {"security": {"tools": {"disabled": ["session_script_run", "pq_delete"]}}})
    await ToolCaller(client).ok("mcp_reload")
    assert notifications.tool_list_changes == 1
    offered = {tool.name for tool in await client.list_tools()}
    assert offered == SYSTEMS_TOOL_NAMES - {"session_script_run", "pq_delete"}

    write_config(path, {"security": {"read_only": True}})
    await ToolCaller(client).ok("mcp_reload")
    assert notifications.tool_list_changes == 2
    assert {tool.name for tool in await client.list_tools()} == READ_ONLY_MODE_TOOL_NAMES

    await ToolCaller(client).ok("mcp_reload")  # nothing changed: no notification
    assert notifications.tool_list_changes == 2

    write_config(path, {})
    await ToolCaller(client).ok("mcp_reload")
    assert {tool.name for tool in await client.list_tools()} == SYSTEMS_TOOL_NAMES


async def test_an_invalid_policy_keeps_the_current_one(
    reloadable: tuple[Path, Client[Any], _Notifications],
) -> None:
    path, client, notifications = reloadable
    write_config(path, {"security": {"tools": {"disabled": ["no_such_tool"]}}})
    message = await ToolCaller(client).error("mcp_reload")
    assert "security.tools.disabled" in message
    assert {tool.name for tool in await client.list_tools()} == SYSTEMS_TOOL_NAMES
    assert notifications.tool_list_changes == 0


async def test_reload_cannot_lift_the_read_only_flag(tmp_path: Path) -> None:
    path = tmp_path / "deephaven_mcp.json"
    write_config(path, {"security": {"read_only": False}})
    async with Client(build_systems_server(str(path), read_only=True)) as client:
        assert {tool.name for tool in await client.list_tools()} == READ_ONLY_MODE_TOOL_NAMES
        await ToolCaller(client).ok("mcp_reload")
        assert {tool.name for tool in await client.list_tools()} == READ_ONLY_MODE_TOOL_NAMES


async def test_the_read_only_flag_over_stdio(tmp_path: Path) -> None:
    assert SERVER, "console script not installed"
    config = write_config(tmp_path / "c.json", {})
    env = {**os.environ, "DH_MCP_CONFIG_FILE": config}
    transport = StdioTransport(SERVER, ["--read-only"], env=env, cwd=str(tmp_path))
    async with Client(transport) as client:
        assert {tool.name for tool in await client.list_tools()} == READ_ONLY_MODE_TOOL_NAMES


async def test_dotenv_is_read_from_the_working_directory(tmp_path: Path) -> None:
    """The docs promise the working directory's .env; python-dotenv alone would search
    upwards from the installed module instead."""
    assert SERVER, "console script not installed"
    config = write_config(tmp_path / "c.json", {"security": {"read_only": True}})
    (tmp_path / ".env").write_text(f"DH_MCP_CONFIG_FILE={config}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DH_MCP_CONFIG_FILE"}
    transport = StdioTransport(SERVER, [], env=env, cwd=str(tmp_path))
    async with Client(transport) as client:
        assert {tool.name for tool in await client.list_tools()} == READ_ONLY_MODE_TOOL_NAMES


async def test_the_python_api_refuses_the_same_methods_in_read_only_mode() -> None:
    from deephaven_mcp import DeephavenSystems

    async with DeephavenSystems(config=McpConfig(), read_only=True) as systems:
        for name in STATE_CHANGING_TOOL_NAMES:
            # Refused before any argument is looked at.
            with pytest.raises(PermissionDeniedError, match="read-only mode"):
                await getattr(systems, name)()
        with pytest.raises(PermissionDeniedError, match="read-only mode"):
            await systems.session_script_run("community:config:x", "print(1)")
        with pytest.raises(PermissionDeniedError, match="read-only mode"):
            await systems.pq_delete("prod", "anything")
        assert (await systems.sessions_list()).sessions == []
