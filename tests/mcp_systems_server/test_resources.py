"""Resource templates through a real MCP client, against a real worker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import mcp_types
import pytest
from fastmcp import Client
from mcp import MCPError

from deephaven_mcp.config import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._ports import free_port
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config

pytestmark = pytest.mark.integration

LOCAL = "community:config:local"
TABLES_URI = "deephaven://{session_id}/tables"
SCHEMA_URI = "deephaven://{session_id}/tables/{table}/schema"


def _config(worker: RunningWorker, **security: Any) -> McpConfig:
    sessions = {
        "local": session_config(worker),
        "dead": {"host": "127.0.0.1", "port": free_port()},
    }
    return McpConfig.model_validate({"community": {"sessions": sessions}, "security": security})


@pytest.fixture(scope="module")
async def client(dh_worker: RunningWorker) -> AsyncIterator[Client[Any]]:
    async with Client(build_systems_server(config=_config(dh_worker)), timeout=120) as connected:
        yield connected


def _tables_uri(session_id: str) -> str:
    return f"deephaven://{quote(session_id, safe='')}/tables"


def _schema_uri(session_id: str, table: str) -> str:
    return f"deephaven://{quote(session_id, safe='')}/tables/{quote(table, safe='')}/schema"


async def _read_json(client: Client[Any], uri: str) -> Any:
    contents = await client.read_resource(uri)
    assert len(contents) == 1
    content = contents[0]
    assert isinstance(content, mcp_types.TextResourceContents)
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def _read_error(client: Client[Any], uri: str) -> mcp_types.ErrorData:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    error = caught.value.error
    for noise in ("Traceback", "debug_error_string", "java.lang"):
        assert noise not in error.message
    return error


async def test_templates_are_listed(client: Client[Any]) -> None:
    templates = {t.uri_template: t for t in await client.list_resource_templates()}
    assert set(templates) >= {TABLES_URI, SCHEMA_URI}
    for template in (templates[TABLES_URI], templates[SCHEMA_URI]):
        assert template.mime_type == "application/json"
        assert template.description
    assert await client.list_resources() == []  # nothing concrete: sessions vary


def test_session_ids_survive_uri_templating() -> None:
    from fastmcp.resources.template import expand_uri_template, match_uri_template

    uri = expand_uri_template(SCHEMA_URI, {"session_id": LOCAL, "table": "trades"})
    assert uri == "deephaven://community%3Aconfig%3Alocal/tables/trades/schema"
    assert match_uri_template(uri, SCHEMA_URI) == {"session_id": LOCAL, "table": "trades"}


async def test_tables_of_a_session(client: Client[Any]) -> None:
    listing = await _read_json(client, _tables_uri(LOCAL))
    assert listing["session_id"] == LOCAL
    assert {"trades", "portfolio", "simple_people"} <= set(listing["table_names"])
    assert listing["count"] == len(listing["table_names"])
    # Unencoded, the colons would read as a port: not a valid URI, so clients must encode.
    with pytest.raises(ValueError, match="resource URI is invalid"):
        await client.read_resource(f"deephaven://{LOCAL}/tables")


async def test_schema_of_a_table(client: Client[Any]) -> None:
    schema = await _read_json(client, _schema_uri(LOCAL, "portfolio"))
    assert schema == {
        "session_id": LOCAL,
        "table": "portfolio",
        "columns": [
            {"name": "Sym", "type": "java.lang.String"},
            {"name": "Shares", "type": "int"},
            {"name": "CostBasis", "type": "double"},
        ],
    }


async def test_unknown_session_is_an_invalid_params_error(client: Client[Any]) -> None:
    error = await _read_error(client, _tables_uri("community:config:nope"))
    assert error.code == mcp_types.INVALID_PARAMS
    assert "session 'community:config:nope' not found" in error.message
    error = await _read_error(client, _schema_uri("community:config:nope", "trades"))
    assert error.code == mcp_types.INVALID_PARAMS
    malformed = await _read_error(client, _tables_uri("not-a-session"))
    assert "malformed session_id" in malformed.message


async def test_unknown_table_is_an_invalid_params_error(client: Client[Any]) -> None:
    error = await _read_error(client, _schema_uri(LOCAL, "no_such_table"))
    assert error.code == mcp_types.INVALID_PARAMS
    assert "table 'no_such_table' not found" in error.message
    assert "portfolio" in error.message  # the message lists what exists
    invalid = await _read_error(client, _schema_uri(LOCAL, "bad name!"))
    assert invalid.code == mcp_types.INVALID_PARAMS


async def test_an_unreachable_worker_is_a_clear_error(client: Client[Any]) -> None:
    error = await _read_error(client, _tables_uri("community:config:dead"))
    assert error.code == mcp_types.INTERNAL_ERROR
    assert "Error reading resource" not in error.message  # the real reason, not a mask
    assert error.message


async def test_unknown_uris_are_not_found(client: Client[Any]) -> None:
    error = await _read_error(client, f"deephaven://{quote(LOCAL, safe='')}/nothing")
    assert error.code == mcp_types.INVALID_PARAMS


async def test_read_only_mode_keeps_the_resources(dh_worker: RunningWorker) -> None:
    server = build_systems_server(config=_config(dh_worker), read_only=True)
    async with Client(server) as read_only:
        listing = await _read_json(read_only, _tables_uri(LOCAL))
        assert "portfolio" in listing["table_names"]


async def test_the_tool_policy_turns_a_resource_off(dh_worker: RunningWorker) -> None:
    config = _config(dh_worker, tools={"disabled": ["session_tables_schema"]})
    async with Client(build_systems_server(config=config)) as restricted:
        error = await _read_error(restricted, _schema_uri(LOCAL, "portfolio"))
        assert "does not offer session_tables_schema" in error.message
        assert "portfolio" in (await _read_json(restricted, _tables_uri(LOCAL)))["table_names"]
