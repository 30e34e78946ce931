"""What every systems tool shares: the injected service, argument types, registration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Final

from fastmcp.dependencies import Depends
from fastmcp.server.dependencies import get_context
from fastmcp.tools import tool
from fastmcp.tools.base import ToolResult
from mcp_types import ToolAnnotations
from pydantic import Field

from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.shaping import MAX_CONDITIONS, MAX_LIST_VALUES, Filters
from deephaven_mcp.serving.envelope import as_envelope
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

SessionIdArg = Annotated[
    str,
    Field(description="Session id '<type>:<source>:<name>', e.g. 'community:config:local'."),
]
TableNameArg = Annotated[str, Field(description="Name of a table in the session.")]
FILTERS_HELP: Final = (
    "Structured conditions, ANDed (never expressions): "
    '{"column": "Sym", "op": "eq", "value": "AAPL"}; ops eq, ne, lt, le, gt, ge '
    "(lt..ge on numbers and timestamps), in / not_in (a list), is_null / not_null "
    "(no value), contains (case-sensitive substring) / matches (Java regex with DOTALL that "
    'must match the whole value); {"any_of": [conditions]} is an OR. Values follow the '
    "column type (timestamps as ISO-8601 strings, to the nanosecond, no offset = UTC; "
    '"NaN", "Infinity", "-Infinity" for floats); a type\'s minimum (e.g. -2147483648 for '
    "int) is its null marker: use is_null. Null counts as less than any value, so lt/le "
    f"match nulls; NaN passes no lt/gt. At most {MAX_CONDITIONS} conditions, "
    f"{MAX_LIST_VALUES} values per list."
)
FiltersArg = Annotated[Filters, Field(description=FILTERS_HELP)]
"""Structured filters, shared by every tool that reads a table (never expressions)."""
SystemName = Annotated[str, Field(description="Name of an enterprise system from the config.")]
JvmArgs = Annotated[list[str] | None, Field(description="Additional JVM arguments.")]
EnvVars = Annotated[
    dict[str, str] | list[str] | None,
    Field(
        description='Environment variables for the worker: {"NAME": "value", ...} '
        '(a list of "NAME=value" strings is accepted too).'
    ),
]


def systems_tool(
    action: str, *, annotations: ToolAnnotations, output_schema: dict[str, Any]
) -> Callable[[Callable[..., Awaitable[ToolOutput]]], Callable[..., Awaitable[ToolResult]]]:
    """Mark a module-level function as a systems tool that answers with the envelope.

    The function takes the service first and returns the service's typed result;
    ``action`` names the operation in messages for unexpected failures.
    """

    def decorate(fn: Callable[..., Awaitable[ToolOutput]]) -> Callable[..., Awaitable[ToolResult]]:
        adapter = as_envelope(action)(fn)
        return tool(annotations=annotations, output_schema=output_schema)(adapter)

    return decorate
