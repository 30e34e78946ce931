"""mcp_reload and enterprise_systems_status."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from deephaven_mcp.mcp_systems_server._annotations import READ_ONLY, RESETTING
from deephaven_mcp.mcp_systems_server._schemas import BOOLEAN, STRING
from deephaven_mcp.mcp_systems_server.tools._common import Systems, systems_tool
from deephaven_mcp.serving.envelope import envelope_schema
from deephaven_mcp.systems.results import Done, EnterpriseSystemsStatus

_SYSTEMS_SCHEMA = {
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


@systems_tool("Reloading the configuration", annotations=RESETTING, output_schema=envelope_schema())
async def mcp_reload(systems: Systems) -> Done:
    """Re-read the configuration file and drop every cached worker connection.

    Sessions reconnect with the new settings on next use. Workers launched by this
    server keep running. If the file is invalid, the current configuration stays.
    """
    return await systems.mcp_reload()


@systems_tool(
    "Checking enterprise systems",
    annotations=READ_ONLY,
    output_schema=envelope_schema(_SYSTEMS_SCHEMA, ["systems"]),
)
async def enterprise_systems_status(
    systems: Systems,
    attempt_to_connect: Annotated[
        bool, Field(description="Actively connect to each system to verify it.")
    ] = False,
) -> EnterpriseSystemsStatus:
    """Status of every configured Deephaven Enterprise (Core+) system, config redacted."""
    return await systems.enterprise_systems_status(attempt_to_connect=attempt_to_connect)
