"""session_enterprise_create and session_enterprise_delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema, ok, run_tool
from deephaven_mcp.enterprise import WorkerRequest
from deephaven_mcp.mcp_systems_server._annotations import DESTRUCTIVE, MUTATING
from deephaven_mcp.mcp_systems_server._schemas import NULLABLE_STRING, STRING
from deephaven_mcp.mcp_systems_server._state import SystemsServerState

SystemName = Annotated[str, Field(description="Name of an enterprise system from the config.")]


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    @mcp.tool(
        annotations=MUTATING,
        output_schema=envelope_schema(
            {
                "session_id": STRING,
                "system_name": STRING,
                "session_name": STRING,
                "programming_language": NULLABLE_STRING,
            },
            ["session_id", "system_name", "session_name"],
        ),
    )
    async def session_enterprise_create(
        system_name: SystemName,
        session_name: Annotated[
            str | None, Field(description="Name; generated when omitted.")
        ] = None,
        heap_size_gb: Annotated[float | None, Field(description="JVM heap in GB.")] = None,
        programming_language: Annotated[
            str | None, Field(description="'Python' or 'Groovy'.")
        ] = None,
        auto_delete_timeout: Annotated[
            int | None, Field(description="Idle seconds before the worker is deleted.")
        ] = None,
        server: Annotated[str | None, Field(description="Server to run on.")] = None,
        engine: Annotated[str | None, Field(description="Engine, e.g. DeephavenCommunity.")] = None,
        extra_jvm_args: Annotated[
            list[str] | None, Field(description="Additional JVM arguments.")
        ] = None,
        extra_environment_vars: Annotated[
            list[str] | None, Field(description="['NAME=value', ...]")
        ] = None,
        admin_groups: Annotated[
            list[str] | None, Field(description="Groups with admin rights.")
        ] = None,
        viewer_groups: Annotated[
            list[str] | None, Field(description="Groups with view rights.")
        ] = None,
        timeout_seconds: Annotated[
            float | None, Field(description="Worker start-up timeout.")
        ] = None,
        session_arguments: Annotated[
            dict[str, Any] | None, Field(description="Extra pydeephaven.Session arguments.")
        ] = None,
    ) -> ToolResult:
        """Start a new worker on an enterprise system and register it as a session.

        Parameters resolve as: argument -> the system's session_creation.defaults -> server
        default. Limited by the system's max_concurrent_sessions.
        """

        async def body() -> ToolResult:
            system = state.enterprise.get(system_name)
            request = WorkerRequest(
                heap_size_gb=heap_size_gb,
                programming_language=programming_language,
                auto_delete_timeout=auto_delete_timeout,
                server=server,
                engine=engine,
                extra_jvm_args=extra_jvm_args,
                extra_environment_vars=extra_environment_vars,
                admin_groups=admin_groups,
                viewer_groups=viewer_groups,
                timeout_seconds=timeout_seconds,
                session_arguments=session_arguments,
            )
            info = await system.create_session(session_name, request)
            return ok(
                session_id=info.session_id,
                system_name=system.name,
                session_name=info.session_name,
                programming_language=info.programming_language,
            )

        return await run_tool("Creating the enterprise session", body)

    @mcp.tool(
        annotations=DESTRUCTIVE,
        output_schema=envelope_schema(
            {"system_name": STRING, "session_name": STRING, "message": STRING},
            ["system_name", "session_name", "message"],
        ),
    )
    async def session_enterprise_delete(
        system_name: SystemName,
        session_name: Annotated[
            str, Field(description="A session made by session_enterprise_create.")
        ],
    ) -> ToolResult:
        """Terminate an enterprise worker created by session_enterprise_create (irreversible)."""

        async def body() -> ToolResult:
            system = state.enterprise.get(system_name)
            await system.delete_session(session_name)
            return ok(
                system_name=system.name,
                session_name=session_name,
                message="Session deleted successfully",
            )

        return await run_tool("Deleting the enterprise session", body)
