"""sessions_list and session_details."""

from __future__ import annotations

from typing import Annotated

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema, ok, run_tool
from deephaven_mcp.mcp_systems_server._annotations import READ_ONLY
from deephaven_mcp.mcp_systems_server._schemas import SESSION_DETAILS, SESSION_SUMMARY
from deephaven_mcp.mcp_systems_server._state import SystemsServerState

SessionIdArg = Annotated[
    str,
    Field(description="Session id '<type>:<source>:<name>', e.g. 'community:config:local'."),
]


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {"sessions": {"type": "array", "items": SESSION_SUMMARY}}, ["sessions"]
        ),
    )
    async def sessions_list() -> ToolResult:
        """List every known session (configured, launched, enterprise) without connecting."""

        async def body() -> ToolResult:
            return ok(sessions=await state.list_sessions())

        return await run_tool("Listing sessions", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema({"session": SESSION_DETAILS}, ["session"]),
    )
    async def session_details(
        session_id: SessionIdArg,
        attempt_to_connect: Annotated[
            bool,
            Field(description="Connect to verify availability and read the worker's version."),
        ] = False,
    ) -> ToolResult:
        """Details of one session: availability, programming language, Deephaven versions."""

        async def body() -> ToolResult:
            session = await state.registry.get(session_id)
            return ok(session=await session.details(attempt_to_connect))

        return await run_tool("Reading session details", body)
