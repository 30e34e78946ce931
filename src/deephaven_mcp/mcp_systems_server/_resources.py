"""Resource templates, so a client can attach a session's tables and schemas as context.

``deephaven://{session_id}/tables`` and ``deephaven://{session_id}/tables/{table}/schema``
answer JSON. Session ids contain ``:``, which in that position would read as a port, so
clients percent-encode them (``deephaven://community%3Aconfig%3Alocal/tables``), as RFC 6570
expansion of the template does; fastmcp decodes the values before the read.
Resources only read, so read-only mode keeps them; a template whose tool the operator's
policy does not offer (``session_tables_list`` / ``session_tables_schema``) refuses reads,
since it would hand out the same data.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError, ValidationError

from deephaven_mcp.errors import DeephavenMcpError, InvalidArgumentError, NotFoundError
from deephaven_mcp.mcp_systems_server._injected import Systems
from deephaven_mcp.mcp_systems_server._tool_policy import offered_tools
from deephaven_mcp.serving.envelope import error_text
from deephaven_mcp.systems import DeephavenSystems

_log = logging.getLogger(__name__)

TABLES_URI: Final = "deephaven://{session_id}/tables"
SCHEMA_URI: Final = "deephaven://{session_id}/tables/{table}/schema"
JSON: Final = "application/json"


def _caller_error(text: str) -> ValidationError:
    """A request the caller can fix (unknown session or table): JSON-RPC invalid params."""
    return ValidationError(error_text(text), log_level=logging.INFO)


def _failure(exc: DeephavenMcpError) -> Exception:
    """A service error as an MCP error with its (safe, redacted) message."""
    if isinstance(exc, NotFoundError | InvalidArgumentError):
        return _caller_error(str(exc))
    return ResourceError(error_text(str(exc)), log_level=logging.WARNING)


def _require(systems: DeephavenSystems, tool: str) -> None:
    if tool not in offered_tools(systems):
        raise ResourceError(
            f"this resource is off: the server's tool policy does not offer {tool}",
            log_level=logging.INFO,
        )


async def session_tables(systems: Systems, session_id: str) -> str:
    """Names of the tables in a Deephaven session (JSON: session_id, table_names, count)."""
    _require(systems, "session_tables_list")
    try:
        names = await systems.session_tables_list(session_id)
    except DeephavenMcpError as exc:
        raise _failure(exc) from exc
    return json.dumps(names.envelope_fields())


async def table_schema(systems: Systems, session_id: str, table: str) -> str:
    """Columns of one table, each with its name and Deephaven type (JSON)."""
    _require(systems, "session_tables_schema")
    try:
        schemas = await systems.session_tables_schema(session_id, [table])
    except DeephavenMcpError as exc:
        raise _failure(exc) from exc
    entry: dict[str, Any] = schemas.schemas[0]
    if not entry.get("success"):
        error = str(entry.get("error", f"cannot read the schema of '{table}'"))
        if " not found" in error or "not a valid identifier" in error:
            raise _caller_error(error)
        raise ResourceError(error_text(error), log_level=logging.WARNING)
    columns = [
        {"name": str(row["Name"]), "type": str(row["DataType"])}
        for row in entry.get("data") or []
        if isinstance(row, dict)
    ]
    return json.dumps({"session_id": session_id, "table": table, "columns": columns})


def register_resources(mcp: FastMCP[Any]) -> None:
    """Add the templates; reads get the service from the lifespan, like the tools."""
    mcp.resource(TABLES_URI, name="session_tables", mime_type=JSON)(session_tables)
    mcp.resource(SCHEMA_URI, name="table_schema", mime_type=JSON)(table_schema)
