"""Helpers for driving the systems server through a real MCP client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from fastmcp import Client

from tests._workers import RunningWorker


def write_config(path: Path, config: dict[str, Any]) -> str:
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


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
