"""The service as tools and resources receive it: injected from the server's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastmcp.dependencies import Depends
from fastmcp.server.dependencies import get_context

from deephaven_mcp.systems import DeephavenSystems


@asynccontextmanager
async def current_systems() -> AsyncIterator[DeephavenSystems]:
    """The server's service, created and started by its lifespan.

    A context manager on purpose: fastmcp enters whatever async context manager a
    dependency returns, and the service is one; this hands it over without entering it.
    """
    systems = get_context().lifespan_context["systems"]
    assert isinstance(systems, DeephavenSystems)
    yield systems


Systems = Annotated[DeephavenSystems, Depends(current_systems)]
"""The service: injected by the server, passed explicitly when called from Python."""
