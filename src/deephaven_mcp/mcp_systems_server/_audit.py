"""One audit record per code-running, state-changing or credential-revealing tool call, and
per reload: tool, session, caller.

Which calls are recorded, and what each record names as the call's target, come from the
tool table (:mod:`deephaven_mcp.config.systems_tools`). The record carries the arguments
only as a digest (no script body, no token, no environment values). Where records go and
how they are kept to one unforgeable line is :mod:`._audit_stream`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import mcp_types as mt
from fastmcp.server.dependencies import get_access_token, get_http_request
from fastmcp.server.middleware.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import ToolResult

from deephaven_mcp.config.systems_tools import SYSTEMS_TOOLS
from deephaven_mcp.mcp_systems_server._audit_stream import (
    AuditEvent,
    Outcome,
    arguments_digest,
    write_audit,
)

NO_SESSION: Final = "-"
IN_PROCESS: Final = "in-process"

Target = Callable[[Mapping[str, Any]], str]


class _Named(dict[str, str]):
    """Arguments as they name a target: a missing or null one reads ``?``."""

    def __missing__(self, _name: str) -> str:
        return "?"


def _arg(value: Any) -> str:
    """An argument as it names a target; a list (a batch of PQs) as its items joined by
    commas, so the record reads ``enterprise:prod:a,b`` (the field is bounded later)."""
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _target(template: str | None) -> Target:
    """What a call acts on, from its arguments and the table's ``target`` template."""

    def target(arguments: Mapping[str, Any]) -> str:
        if template is None:
            return NO_SESSION
        named = _Named({k: _arg(v) for k, v in arguments.items() if v is not None})
        return template.format_map(named)

    return target


AUDITED_TOOLS: Final[Mapping[str, Target]] = {
    tool.name: _target(tool.target) for tool in SYSTEMS_TOOLS if tool.effect.audited
}
"""Every tool whose calls are recorded, and how to name what a call acts on."""


def current_caller(transport: str | None) -> str:
    """Who is calling: the token's subject or client id over HTTP, else the transport."""
    token = get_access_token()
    if token is not None:
        subject = token.subject or token.client_id
        return f"{subject} (token)"
    try:
        request = get_http_request()
    except RuntimeError:
        return transport or IN_PROCESS
    client = request.client.host if request.client else "unknown"
    return f"unauthenticated http client {client}"


class AuditMiddleware(Middleware):
    """Writes one audit record (see :mod:`._audit_stream`) when an audited tool finishes."""

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        name = context.message.name
        target = AUDITED_TOOLS.get(name)
        if target is None:
            return await call_next(context)
        arguments = context.message.arguments or {}
        transport = context.fastmcp_context.transport if context.fastmcp_context else None
        caller = current_caller(transport)
        digest = arguments_digest(arguments)
        began = datetime.now(UTC)
        started = time.monotonic()
        outcome: Outcome = "exception"
        try:
            result = await call_next(context)
            outcome = "error" if result.is_error else "ok"
            return result
        finally:
            write_audit(
                AuditEvent(
                    tool=name,
                    session=target(arguments),
                    caller=caller,
                    transport=transport or IN_PROCESS,
                    outcome=outcome,
                    duration_ms=(time.monotonic() - started) * 1000,
                    args_sha256=digest,
                    time=began,
                )
            )
