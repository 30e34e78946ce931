"""mcp_reload and enterprise_systems_status."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import Systems, systems_tool
from deephaven_mcp.systems.results import Done, EnterpriseSystemsStatus

__all__ = ["enterprise_systems_status", "mcp_reload"]


@systems_tool("Reloading the configuration")
async def mcp_reload(systems: Systems) -> Done:
    """Re-read the configuration file and drop every cached worker connection.

    Sessions reconnect with the new settings on next use. Workers launched by this
    server keep running. If the file is invalid, the current configuration stays.
    """


@systems_tool("Checking enterprise systems")
async def enterprise_systems_status(
    systems: Systems,
    attempt_to_connect: Annotated[
        bool, Field(description="Actively connect to each system to verify it.")
    ] = False,
) -> EnterpriseSystemsStatus:
    """Status of every configured Deephaven Enterprise (Core+) system, config redacted."""
