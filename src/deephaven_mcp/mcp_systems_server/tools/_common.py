"""What every systems tool shares: the injected service, argument types, registration."""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastmcp.tools import tool
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp.mcp_systems_server._annotations import annotations_of
from deephaven_mcp.mcp_systems_server._injected import Systems as Systems  # for the tools
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.shaping import MAX_CONDITIONS, MAX_LIST_VALUES, Filters
from deephaven_mcp.serving.envelope import as_envelope, output_schema

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


def answer_models(fn: Callable[..., Awaitable[ToolOutput]]) -> tuple[type[ToolOutput], ...]:
    """The result models ``fn`` answers with: its return annotation, one model or a union."""
    # Only the return annotation: resolving every parameter's would cost start-up time.
    returns = types.SimpleNamespace(__annotations__={"return": fn.__annotations__["return"]})
    answer = typing.get_type_hints(returns, globalns=fn.__globals__)["return"]
    models = typing.get_args(answer) if isinstance(answer, types.UnionType) else (answer,)
    for model in models:
        if not (isinstance(model, type) and issubclass(model, ToolOutput)):
            raise TypeError(f"{fn.__name__} must return ToolOutput models, not {answer}")
    return models


def systems_tool(
    action: str,
) -> Callable[[Callable[..., Awaitable[ToolOutput]]], Callable[..., Awaitable[ToolResult]]]:
    """Mark a module-level function as a systems tool that answers with the envelope.

    The function takes the service first and returns the service's typed result;
    ``action`` names the operation in messages for unexpected failures. The tool's
    annotations come from its entry in :mod:`deephaven_mcp.config.systems_tools` (a
    function without one fails here), its output schema from the result models its return
    annotation names.
    """

    def decorate(fn: Callable[..., Awaitable[ToolOutput]]) -> Callable[..., Awaitable[ToolResult]]:
        annotations = annotations_of(fn.__name__)
        schema = output_schema(*answer_models(fn))
        return tool(annotations=annotations, output_schema=schema)(as_envelope(action)(fn))

    return decorate
