"""sessions_list and session_details."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import SessionIdArg, Systems, systems_tool
from deephaven_mcp.resource_manager.session_id import SessionSource, SessionType
from deephaven_mcp.systems.results import SessionDetails, SessionList

__all__ = ["session_details", "sessions_list"]


@systems_tool("Listing sessions")
async def sessions_list(
    systems: Systems,
    type: Annotated[
        SessionType | None, Field(description="Only 'community' or only 'enterprise' sessions.")
    ] = None,
    system: Annotated[
        str | None, Field(description="Only the sessions of this enterprise system.")
    ] = None,
    source: Annotated[
        SessionSource | None,
        Field(
            description="Only 'config' (configured community sessions), 'dynamic' (created "
            "at run time: launched community workers, enterprise workers) or 'pq' (running "
            "persistent queries)."
        ),
    ] = None,
) -> SessionList:
    """List every known session (configured, launched, enterprise) without connecting.

    Filters are optional and combine (AND); a combination that can match nothing, such as
    type 'community' with a system, is refused. Enterprise sessions are listed only for
    systems already connected.
    """


@systems_tool("Reading session details")
async def session_details(
    systems: Systems,
    session_id: SessionIdArg,
    attempt_to_connect: Annotated[
        bool,
        Field(description="Connect to verify availability and read the worker's version."),
    ] = False,
) -> SessionDetails:
    """Details of one session: availability, programming language, Deephaven versions."""
