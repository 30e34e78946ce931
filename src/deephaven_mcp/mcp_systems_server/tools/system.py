"""mcp_reload and enterprise_systems_status."""

from __future__ import annotations

from typing import Annotated

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema, ok, run_tool
from deephaven_mcp.mcp_systems_server._annotations import READ_ONLY, RESETTING
from deephaven_mcp.mcp_systems_server._schemas import BOOLEAN, STRING
from deephaven_mcp.mcp_systems_server._state import SystemsServerState


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    @mcp.tool(annotations=RESETTING, output_schema=envelope_schema())
    async def mcp_reload() -> ToolResult:
        """Re-read the configuration file and drop every cached worker connection.

        Sessions reconnect with the new settings on next use. Workers launched by this
        server keep running. If the file is invalid, the current configuration stays.
        """

        async def body() -> ToolResult:
            await state.reload()
            return ok()

        return await run_tool("Reloading the configuration", body)

    systems_schema = {
        "systems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": STRING,
                    "status": {
                        "enum": ["ONLINE", "OFFLINE", "UNAUTHORIZED", "MISCONFIGURED", "UNKNOWN"]
                    },
                    "detail": STRING,
                    "is_alive": BOOLEAN,
                    "config": {"type": "object"},
                },
                "required": ["name", "status"],
            },
        }
    }

    @mcp.tool(annotations=READ_ONLY, output_schema=envelope_schema(systems_schema, ["systems"]))
    async def enterprise_systems_status(
        attempt_to_connect: Annotated[
            bool, Field(description="Actively connect to each system to verify it.")
        ] = False,
    ) -> ToolResult:
        """Status of every configured Deephaven Enterprise (Core+) system, config redacted."""

        async def body() -> ToolResult:
            systems = await state.enterprise.status(attempt_to_connect)
            return ok(systems=systems)

        return await run_tool("Checking enterprise systems", body)
