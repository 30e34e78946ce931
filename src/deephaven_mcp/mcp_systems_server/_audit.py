"""One audit record per code-running or state-changing tool call: tool, session, caller.

The record names the target the way :data:`AUDITED_TOOLS` says and carries the arguments
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

from deephaven_mcp.mcp_systems_server._audit_stream import (
    AuditEvent,
    Outcome,
    arguments_digest,
    write_audit,
)

NO_SESSION: Final = "-"
IN_PROCESS: Final = "in-process"

Target = Callable[[Mapping[str, Any]], str]


def _arg(arguments: Mapping[str, Any], name: str) -> str:
    """An argument as it names a target; a list (a batch of PQs) as its items joined by
    commas, so the record reads ``enterprise:prod:a,b`` (the field is bounded later)."""
    value = arguments.get(name)
    if value is None:
        return "?"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _session_id(arguments: Mapping[str, Any]) -> str:
    return _arg(arguments, "session_id")


def _dynamic(arguments: Mapping[str, Any]) -> str:
    return f"community:dynamic:{_arg(arguments, 'session_name')}"


def _enterprise(name_key: str) -> Target:
    def target(arguments: Mapping[str, Any]) -> str:
        return f"enterprise:{_arg(arguments, 'system_name')}:{_arg(arguments, name_key)}"

    return target


AUDITED_TOOLS: Final[Mapping[str, Target]] = {
    "session_script_run": _session_id,
    "session_pip_list": _session_id,  # runs a script on the worker
    "session_community_create": _dynamic,
    "session_community_delete": _dynamic,
    "session_community_credentials": _session_id,
    "session_enterprise_create": _enterprise("session_name"),
    "session_enterprise_delete": _enterprise("session_name"),
    "pq_create": _enterprise("pq_name"),
    "pq_delete": _enterprise("pq_identifier"),
    "pq_start": _enterprise("pq_identifier"),
    "pq_stop": _enterprise("pq_identifier"),
    "pq_restart": _enterprise("pq_identifier"),
    "pq_modify": lambda arguments: _arg(arguments, "pq_id"),
    "mcp_reload": lambda _arguments: NO_SESSION,
}
"""Every tool that runs code or changes state, and how to name what it acts on."""


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
