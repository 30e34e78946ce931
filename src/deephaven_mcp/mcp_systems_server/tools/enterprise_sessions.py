"""session_enterprise_create and session_enterprise_delete."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import SystemName, Systems, systems_tool
from deephaven_mcp.model.arguments import Number, WholeNumber
from deephaven_mcp.systems.results import EnterpriseSessionCreated, EnterpriseSessionDeleted

__all__ = ["session_enterprise_create", "session_enterprise_delete"]

# Appended to the description of every argument in EnterpriseAgentSettable (shared with the
# persistent query tools, which take the same launch settings).
_OPERATOR = (
    " Set by the operator: refused unless listed in the system's agent_limits.agent_may_set."
)


def operator_set(description: str) -> Any:
    """The field of an argument the caller may give only where ``agent_may_set`` lists it."""
    return Field(description=description + _OPERATOR)


Strings = list[str] | None
HEAP_HELP = "JVM heap in GB; at most the system's agent_limits.max_heap_size_gb."
HeapSize = Annotated[Number | None, Field(description=HEAP_HELP)]
Language = Annotated[str | None, Field(description="'Python' or 'Groovy'.")]
Engine = Annotated[str | None, operator_set("Engine, e.g. DeephavenCommunity.")]
JvmArgs = Annotated[Strings, operator_set("Additional JVM arguments.")]
EnvVars = Annotated[
    dict[str, str] | list[str] | None,
    operator_set(
        'Environment variables for the worker: {"NAME": "value", ...} '
        '(or a list of "NAME=value" strings).'
    ),
]
AdminGroups = Annotated[Strings, operator_set("Groups with admin rights.")]
ViewerGroups = Annotated[Strings, operator_set("Groups with view rights.")]


@systems_tool("Creating the enterprise session")
async def session_enterprise_create(
    systems: Systems,
    system_name: SystemName,
    session_name: Annotated[str | None, Field(description="Name; generated when omitted.")] = None,
    heap_size_gb: HeapSize = None,
    programming_language: Language = None,
    auto_delete_timeout: Annotated[
        WholeNumber | None, operator_set("Idle seconds before the worker is deleted.")
    ] = None,
    server: Annotated[
        str | None,
        Field(
            description="Server to run on; one of the system's agent_limits.allowed_servers "
            "when set (default then: the configured default server, else the first allowed)."
        ),
    ] = None,
    engine: Engine = None,
    extra_jvm_args: JvmArgs = None,
    extra_environment_vars: EnvVars = None,
    admin_groups: AdminGroups = None,
    viewer_groups: ViewerGroups = None,
    timeout_seconds: Annotated[
        Number | None, Field(description="Worker start-up timeout in seconds (at most 3600).")
    ] = None,
    session_arguments: Annotated[
        dict[str, Any] | None,
        operator_set("Extra pydeephaven.Session arguments."),
    ] = None,
) -> EnterpriseSessionCreated:
    """Start a new worker on an enterprise system and register it as a session.

    Give session_name, programming_language, heap_size_gb, server and timeout_seconds;
    the operator's session_creation.defaults decide the rest. Any other argument is refused
    unless the operator listed it in the system's agent_limits.agent_may_set; a
    heap_size_gb above agent_limits.max_heap_size_gb or a server not in allowed_servers is
    refused too. Limited by the system's max_concurrent_sessions.
    """


@systems_tool("Deleting the enterprise session")
async def session_enterprise_delete(
    systems: Systems,
    system_name: SystemName,
    session_name: Annotated[str, Field(description="A session made by session_enterprise_create.")],
) -> EnterpriseSessionDeleted:
    """Terminate an enterprise worker created by session_enterprise_create (irreversible)."""
