"""Session data tools: tables, schemas, data, scripts, pip packages."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field
from pydeephaven import Session

from deephaven_mcp._errors import InvalidArgumentError, McpError
from deephaven_mcp._files import read_text_file
from deephaven_mcp._tool_results import envelope_schema, fail, ok, run_tool
from deephaven_mcp.clients import community
from deephaven_mcp.clients.table_data import read_table_slice
from deephaven_mcp.formatting import describe_schema, format_table, resolve_format
from deephaven_mcp.mcp_systems_server._annotations import DESTRUCTIVE, READ_ONLY
from deephaven_mcp.mcp_systems_server._schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    TABLE_SCHEMA_ENTRY,
    TABLE_SLICE,
    TABLE_SLICE_REQUIRED,
)
from deephaven_mcp.mcp_systems_server._state import SystemsServerState
from deephaven_mcp.mcp_systems_server.tools.sessions import SessionIdArg

MAX_SCRIPT_BYTES: Final = 1_000_000
MAX_SCHEMA_TABLES: Final = 200
MAX_TABLE_NAMES: Final = 10_000
SCHEMA_CONCURRENCY: Final = 4


def _check_max_rows(max_rows: int | None) -> None:
    if max_rows is not None and max_rows < 1:
        raise InvalidArgumentError(f"max_rows must be a positive integer or null (got {max_rows})")


def _schema_entry(session: Session, name: str) -> dict[str, Any]:
    meta = community.table_meta(session, name)
    return {
        "success": True,
        "table": name,
        "format": "json-row",
        "data": format_table(meta, "json-row"),
        "meta_columns": describe_schema(meta.schema),
        "row_count": meta.num_rows,
    }


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    registry = state.registry
    timeouts = state.timeouts

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {
                "session_id": STRING,
                "table_names": {"type": "array", "items": STRING},
                "count": INTEGER,
            },
            ["session_id", "table_names", "count"],
        ),
    )
    async def session_tables_list(session_id: SessionIdArg) -> ToolResult:
        """Names of the tables in a session (cheap; no schemas)."""

        async def body() -> ToolResult:
            session = await registry.get(session_id)
            names = await session.run("Listing tables", community.list_tables, timeouts.metadata)
            shown = names[:MAX_TABLE_NAMES]
            extra = {"is_complete": False} if len(names) > len(shown) else {}
            return ok(session_id=session_id, table_names=shown, count=len(names), **extra)

        return await run_tool("Listing tables", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {
                "count": INTEGER,
                "schemas": {"type": "array", "items": TABLE_SCHEMA_ENTRY},
                "is_complete": BOOLEAN,
            },
            ["count", "schemas"],
        ),
    )
    async def session_tables_schema(
        session_id: SessionIdArg,
        table_names: Annotated[
            list[str] | None,
            Field(description="Tables to describe; null means every table in the session."),
        ] = None,
    ) -> ToolResult:
        """Full column metadata (Name, DataType, IsPartitioning, ...) for tables of a session.

        A table that fails is reported in its own entry; the others still succeed.
        """

        async def body() -> ToolResult:
            session = await registry.get(session_id)
            names = table_names
            if names is None:
                names = await session.run(
                    "Listing tables", community.list_tables, timeouts.metadata
                )
            names = list(dict.fromkeys(names))
            selected = names[:MAX_SCHEMA_TABLES]
            gate = asyncio.Semaphore(SCHEMA_CONCURRENCY)

            async def one(name: str) -> dict[str, Any]:
                async with gate:
                    try:
                        return await session.run(
                            f"Reading the schema of {name}",
                            lambda client: _schema_entry(client, name),
                            timeouts.metadata,
                        )
                    except McpError as exc:
                        return {"success": False, "table": name, "error": str(exc), "isError": True}

            if selected:
                # Connect once up front so a dead session fails the call as a whole.
                await session.client()
            schemas = list(await asyncio.gather(*(one(name) for name in selected)))
            return ok(count=len(schemas), schemas=schemas, is_complete=len(selected) == len(names))

        return await run_tool("Reading table schemas", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(TABLE_SLICE, TABLE_SLICE_REQUIRED),
    )
    async def session_table_data(
        session_id: SessionIdArg,
        table_name: Annotated[str, Field(description="Name of a table in the session.")],
        max_rows: Annotated[
            int | None,
            Field(description="Rows to return (default 1000); null for the whole table."),
        ] = 1000,
        head: Annotated[bool, Field(description="True: first rows; false: last rows.")] = True,
        format: Annotated[
            str,
            Field(
                description=(
                    "optimize-rendering (markdown-table, default), optimize-accuracy "
                    "(markdown-kv), optimize-cost (csv), optimize-speed (json-column), or one "
                    "of json-row, json-column, csv, markdown-table, markdown-kv, yaml, xml."
                )
            ),
        ] = "optimize-rendering",
    ) -> ToolResult:
        """Rows of a table, sliced on the worker and formatted for an agent.

        Responses are capped at 50 MB; the cap is checked before any large fetch.
        """

        async def body() -> ToolResult:
            _check_max_rows(max_rows)
            fmt = resolve_format(format)
            session = await registry.get(session_id)
            piece = await session.run(
                f"Reading table {table_name}",
                lambda client: read_table_slice(
                    client, table_name, max_rows=max_rows, head=head, fmt=fmt
                ),
                timeouts.data,
            )
            return ok(**piece.fields())

        return await run_tool("Reading table data", body)

    @mcp.tool(annotations=DESTRUCTIVE, output_schema=envelope_schema())
    async def session_script_run(
        session_id: SessionIdArg,
        script: Annotated[str | None, Field(description="Code to run in the session.")] = None,
        script_path: Annotated[
            str | None,
            Field(description="Path (on the MCP server's machine) of a file to run instead."),
        ] = None,
    ) -> ToolResult:
        """Run a script (Python or Groovy, per the session) in a session.

        Provide exactly one of script or script_path. Output and created tables are not
        returned; list tables or read data afterwards.
        """

        async def body() -> ToolResult:
            if (script is None) == (script_path is None):
                raise InvalidArgumentError("provide exactly one of 'script' or 'script_path'")
            code = (
                script
                if script is not None
                else await read_text_file(
                    str(script_path),
                    what="script_path",
                    max_bytes=MAX_SCRIPT_BYTES,
                    error=InvalidArgumentError,
                )
            )
            if len(code.encode("utf-8")) > MAX_SCRIPT_BYTES:
                raise InvalidArgumentError(f"script is larger than {MAX_SCRIPT_BYTES} bytes")
            session = await registry.get(session_id)
            await session.run(
                "Running the script",
                lambda client: community.run_script(client, code),
                timeouts.script,
            )
            return ok()

        return await run_tool("Running the script", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {
                "result": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "package": STRING,
                            "version": STRING,
                        },
                        "required": ["package", "version"],
                    },
                }
            },
            ["result"],
        ),
    )
    async def session_pip_list(session_id: SessionIdArg) -> ToolResult:
        """Python packages installed in a Python session's worker."""

        async def body() -> ToolResult:
            session = await registry.get(session_id)
            if session.programming_language.lower() != "python":
                return fail(
                    f"session '{session_id}' runs {session.programming_language}; "
                    "pip packages exist only in Python sessions"
                )
            packages = await session.run(
                "Listing pip packages", community.pip_list, timeouts.script
            )
            return ok(result=packages)

        return await run_tool("Listing pip packages", body)
