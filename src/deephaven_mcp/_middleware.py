"""Turn argument-validation failures into the standard failure envelope.

fastmcp reports a wrongly typed argument as a pydantic dump; agents get a one-line
message naming the argument instead, in the same shape as every other tool error.
"""

from __future__ import annotations

from typing import Any

import mcp_types as mt
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from pydantic import ValidationError as PydanticValidationError

from deephaven_mcp._tool_results import fail

_TYPE_WORDS = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "missing_argument": "required argument is missing",
    "missing": "required argument is missing",
    "unexpected_keyword_argument": "unknown argument",
    "extra_forbidden": "unknown argument",
}


def describe_argument_errors(error: PydanticValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        loc = [str(part) for part in item["loc"] if str(part) not in ("call", "args", "kwargs")]
        where = ".".join(loc) or "arguments"
        what = _TYPE_WORDS.get(item["type"], str(item["msg"]))
        parts.append(f"{where}: {what}")
    return "; ".join(dict.fromkeys(parts))


class ArgumentErrorMiddleware(Middleware):
    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            return await call_next(context)
        except ValidationError as exc:
            cause: Any = exc.__cause__
            detail = (
                describe_argument_errors(cause)
                if isinstance(cause, PydanticValidationError)
                else "invalid arguments"
            )
            return fail(f"Invalid arguments for {context.message.name}: {detail}")
