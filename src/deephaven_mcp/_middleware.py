"""Turn argument-validation failures into the standard failure envelope.

fastmcp reports a wrongly typed argument as a pydantic dump; agents get a one-line
message naming the argument instead, in the same shape as every other tool error, and in
the same words as the Python API (:mod:`deephaven_mcp.clients.arguments`).
"""

from __future__ import annotations

from typing import Any

import mcp_types as mt
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult
from pydantic import ValidationError as PydanticValidationError

from deephaven_mcp._tool_results import fail
from deephaven_mcp.clients.arguments import argument_error


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
            if isinstance(cause, PydanticValidationError):
                return fail(str(argument_error(cause)))
            return fail(f"invalid arguments for {context.message.name}")
