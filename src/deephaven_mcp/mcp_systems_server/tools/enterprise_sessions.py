"""session_enterprise_create and session_enterprise_delete."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema
from deephaven_mcp.mcp_systems_server._annotations import DESTRUCTIVE, MUTATING
from deephaven_mcp.mcp_systems_server._schemas import NULLABLE_STRING, STRING
from deephaven_mcp.mcp_systems_server.tools._common import (
    EnvVars,
    SystemName,
    Systems,
    systems_tool,
)
from deephaven_mcp.systems.results import EnterpriseSessionCreated, EnterpriseSessionDeleted

AdminGroups = Annotated[list[str] | None, Field(description="Groups with admin rights.")]
ViewerGroups = Annotated[list[str] | None, Field(description="Groups with view rights.")]


@systems_tool(
    "Creating the enterprise session",
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
    systems: Systems,
    system_name: SystemName,
    session_name: Annotated[str | None, Field(description="Name; generated when omitted.")] = None,
    heap_size_gb: Annotated[
        float | None,
        Field(description="JVM heap in GB; at most the system's agent_limits.max_heap_size_gb."),
    ] = None,
    programming_language: Annotated[str | None, Field(description="'Python' or 'Groovy'.")] = None,
    auto_delete_timeout: Annotated[
        int | None, Field(description="Idle seconds before the worker is deleted.")
    ] = None,
    server: Annotated[
        str | None,
        Field(
            description="Server to run on; one of the system's agent_limits.allowed_servers "
            "when set (default then: the configured default server, else the first allowed)."
        ),
    ] = None,
    engine: Annotated[str | None, Field(description="Engine, e.g. DeephavenCommunity.")] = None,
    extra_jvm_args: Annotated[
        list[str] | None, Field(description="Additional JVM arguments.")
    ] = None,
    extra_environment_vars: EnvVars = None,
    admin_groups: Annotated[
        list[str] | None, Field(description="Groups with admin rights.")
    ] = None,
    viewer_groups: Annotated[
        list[str] | None, Field(description="Groups with view rights.")
    ] = None,
    timeout_seconds: Annotated[
        float | None, Field(description="Worker start-up timeout in seconds (at most 3600).")
    ] = None,
    session_arguments: Annotated[
        dict[str, Any] | None, Field(description="Extra pydeephaven.Session arguments.")
    ] = None,
) -> EnterpriseSessionCreated:
    """Start a new worker on an enterprise system and register it as a session.

    Parameters resolve as: argument -> the system's session_creation.defaults -> server
    default. Limited by the system's max_concurrent_sessions; on a system with
    agent_limits, a larger heap_size_gb or a server not in allowed_servers is refused.
    """
    return await systems.session_enterprise_create(
        system_name,
        session_name,
        heap_size_gb,
        programming_language,
        auto_delete_timeout,
        server,
        engine,
        extra_jvm_args,
        extra_environment_vars,
        admin_groups,
        viewer_groups,
        timeout_seconds,
        session_arguments,
    )


@systems_tool(
    "Deleting the enterprise session",
    annotations=DESTRUCTIVE,
    output_schema=envelope_schema(
        {"system_name": STRING, "session_name": STRING, "message": STRING},
        ["system_name", "session_name", "message"],
    ),
)
async def session_enterprise_delete(
    systems: Systems,
    system_name: SystemName,
    session_name: Annotated[str, Field(description="A session made by session_enterprise_create.")],
) -> EnterpriseSessionDeleted:
    """Terminate an enterprise worker created by session_enterprise_create (irreversible)."""
    return await systems.session_enterprise_delete(system_name, session_name)
