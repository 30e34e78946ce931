"""What every systems tool shares: the injected service, argument types, registration, and
the one body of every tool (forwarding its arguments to the service method)."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastmcp.tools import tool
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp.mcp_systems_server._annotations import annotations_of
from deephaven_mcp.mcp_systems_server._injected import Systems as Systems  # for the tools
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.shaping import MAX_CONDITIONS, MAX_LIST_VALUES, Filters
from deephaven_mcp.serving.envelope import as_envelope, output_schema
from deephaven_mcp.systems import DeephavenSystems

if TYPE_CHECKING:
    from fastmcp import Context

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


def reporting_progress(ctx: Context | None) -> Callable[[str, float], Awaitable[None]]:
    """The service's ``progress`` callback for a launch: each step becomes an MCP progress
    notification (percent of 100) on the caller's request; without a request, none."""

    async def progress(message: str, fraction: float) -> None:
        if ctx is not None:
            await ctx.report_progress(round(fraction * 100, 1), 100, message)

    return progress


def _check_matches_service(name: str, signature: inspect.Signature) -> None:
    """Refuse a declaration whose parameters are not its service method's, in order.

    A tool takes ``systems`` first, then the method's parameters (those a caller may give
    by position); a tool that also takes ``ctx`` forwards it as the method's ``progress``.
    """
    method = getattr(DeephavenSystems, name, None)
    if method is None:
        raise TypeError(f"tool {name} has no DeephavenSystems method of the same name")
    declared = list(signature.parameters)
    takes = inspect.signature(method).parameters
    expected = [
        param_name
        for param_name, param in takes.items()
        if param_name != "self" and param.kind is param.POSITIONAL_OR_KEYWORD
    ]
    if declared[:1] != ["systems"]:
        raise TypeError(f"tool {name} must take the service (systems: Systems) first")
    if "ctx" in declared and "progress" not in takes:
        raise TypeError(f"tool {name} takes ctx, but DeephavenSystems.{name} takes no progress")
    if [p for p in declared[1:] if p != "ctx"] != expected:
        raise TypeError(
            f"tool {name} declares {declared[1:]}; DeephavenSystems.{name} takes {expected}: "
            "a tool's parameters are its service method's, in the same order"
        )


def forwarding(
    declaration: Callable[..., Awaitable[ToolOutput]],
) -> Callable[..., Awaitable[ToolOutput]]:
    """The body of a declared tool: call the service method of the same name.

    The call's arguments are bound to the declared signature (so positional Python calls
    work and the declared defaults apply) and passed on by keyword, ``systems`` excepted;
    ``ctx`` becomes the ``progress`` callback (:func:`reporting_progress`).
    """
    name = declaration.__name__
    signature = inspect.signature(declaration)
    _check_matches_service(name, signature)
    reports_progress = "ctx" in signature.parameters

    @functools.wraps(declaration)
    async def forward(*args: Any, **kwargs: Any) -> ToolOutput:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        systems = arguments.pop("systems")
        if reports_progress:
            arguments["progress"] = reporting_progress(arguments.pop("ctx"))
        result: ToolOutput = await getattr(systems, name)(**arguments)
        return result

    return forward


def systems_tool(
    action: str,
) -> Callable[[Callable[..., Awaitable[ToolOutput]]], Callable[..., Awaitable[ToolResult]]]:
    """Make a declaration into a systems tool that answers with the envelope.

    The declaration is a module-level function named like its ``DeephavenSystems`` method,
    with no body but its docstring: its parameters (the service first, then the method's,
    each ``Annotated`` with its description) are the tool's input schema, its docstring the
    tool's description, its return annotation (the result models) its output schema. The
    tool forwards every argument to the method by keyword (:func:`forwarding`); ``action``
    names the operation in messages for unexpected failures. The tool's annotations come
    from its entry in :mod:`deephaven_mcp.config.systems_tools`; a function without one, or
    whose parameters are not its method's, fails here.
    """

    def decorate(fn: Callable[..., Awaitable[ToolOutput]]) -> Callable[..., Awaitable[ToolResult]]:
        annotations = annotations_of(fn.__name__)
        schema = output_schema(*answer_models(fn))
        return tool(annotations=annotations, output_schema=schema)(
            as_envelope(action)(forwarding(fn))
        )

    return decorate
