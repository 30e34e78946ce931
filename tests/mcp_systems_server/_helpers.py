"""Helpers for driving the systems server through a real MCP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
from fastmcp import Client
from pydeephaven import Session

from deephaven_mcp.enterprise import EnterpriseBackend
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker


def write_config(path: Path, config: dict[str, Any]) -> str:
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def arrow(session: Session, name: str) -> pa.Table:
    """The whole of the worker's table ``name``, read with pydeephaven."""
    table = session.open_table(name)
    try:
        return table.to_arrow()
    finally:
        table.close()


async def filtered_ids(
    tools: ToolCaller, session_id: str, table: str, filters: list[dict[str, Any]]
) -> list[int] | str:
    """The ``Id`` of every row of ``table`` that ``filters`` keep (all in one answer), or
    the tool's error message."""
    answer = await tools.call(
        "session_table_data",
        session_id=session_id,
        table_name=table,
        max_rows=None,
        columns=["Id"],
        filters=filters,
        format="json-column",
    )
    if answer["success"] is not True:
        return str(answer["error"])
    assert answer["total_rows"] == answer["row_count"] and answer["next_offset"] is None
    assert [column["name"] for column in answer["schema"]] == ["Id"]
    return list(answer["data"]["Id"])


async def kept_ids(
    tools: ToolCaller, session_id: str, table: str, filters: list[dict[str, Any]]
) -> list[int]:
    """``filtered_ids`` of filters that must be accepted."""
    ids = await filtered_ids(tools, session_id, table, filters)
    assert isinstance(ids, list), ids
    return ids


def session_config(worker: RunningWorker) -> dict[str, Any]:
    entry: dict[str, Any] = {"host": worker.host, "port": worker.port}
    if worker.psk:
        entry.update(auth_type="PSK", auth_token=worker.psk)
    return entry


class ToolCaller:
    """Calls tools, checks the envelope, the protocol error flag and the output schema."""

    def __init__(self, client: Client[Any]):
        self.client = client
        self._schemas: dict[str, dict[str, Any]] = {}

    async def _schema(self, name: str) -> dict[str, Any]:
        if not self._schemas:
            for tool in await self.client.list_tools():
                assert tool.output_schema is not None, f"{tool.name} has no output schema"
                self._schemas[tool.name] = tool.output_schema
        return self._schemas[name]

    async def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool_mcp(name, arguments)
        payload = result.structured_content
        # typed Any by mcp; the envelope is always a JSON object
        assert isinstance(payload, dict), f"{name} returned no structured object: {payload!r}"
        jsonschema.validate(payload, await self._schema(name))
        assert result.is_error == (payload["success"] is False)
        if payload["success"] is False:
            assert payload["isError"] is True
            assert isinstance(payload["error"], str) and payload["error"]
        return payload

    async def ok(self, name: str, **arguments: Any) -> dict[str, Any]:
        payload = await self.call(name, **arguments)
        assert payload["success"] is True, payload
        return payload

    async def error(self, name: str, **arguments: Any) -> str:
        payload = await self.call(name, **arguments)
        assert payload["success"] is False, payload
        message = payload["error"]
        for noise in ("Traceback", "debug_error_string", "\tat ", "java.lang", "StatusCode."):
            assert noise not in message, message
        return str(message)


@asynccontextmanager
async def mcp_tools(
    path: Path,
    config: dict[str, Any],
    *,
    read_only: bool = False,
    enterprise_backend: EnterpriseBackend | None = None,
    timeout: float | None = None,
) -> AsyncIterator[ToolCaller]:
    """A real MCP client on an in-process systems server, for as long as the block runs.

    ``config`` is written to ``path`` and the server reads that file, as the console script
    does (so ``mcp_reload`` reads it again); ``timeout`` bounds each request (none if None).
    """
    server = build_systems_server(
        write_config(path, config), read_only=read_only, enterprise_backend=enterprise_backend
    )
    async with Client(server, timeout=timeout) as client:
        yield ToolCaller(client)
