"""Session data tools: tables, schemas, data, scripts, pip packages."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema
from deephaven_mcp.clients.table_data import TableSlice
from deephaven_mcp.mcp_systems_server._annotations import DESTRUCTIVE, READ_ONLY, RUNS_CODE
from deephaven_mcp.mcp_systems_server._schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    TABLE_SCHEMA_ENTRY,
    TABLE_SLICE,
    TABLE_SLICE_REQUIRED,
)
from deephaven_mcp.mcp_systems_server.tools._common import SessionIdArg, Systems, systems_tool
from deephaven_mcp.systems.results import Done, PipPackages, TableNames, TableSchemas

FORMAT_HELP = (
    "optimize-rendering (markdown-table, default), optimize-accuracy "
    "(markdown-kv), optimize-cost (csv), optimize-speed (json-column), or one "
    "of json-row, json-column, csv, markdown-table, markdown-kv, yaml, xml."
)


@systems_tool(
    "Listing tables",
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
async def session_tables_list(systems: Systems, session_id: SessionIdArg) -> TableNames:
    """Names of the tables in a session (cheap; no schemas)."""
    return await systems.session_tables_list(session_id)


@systems_tool(
    "Reading table schemas",
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
    systems: Systems,
    session_id: SessionIdArg,
    table_names: Annotated[
        list[str] | None,
        Field(description="Tables to describe; null means every table in the session."),
    ] = None,
) -> TableSchemas:
    """Full column metadata (Name, DataType, IsPartitioning, ...) for tables of a session.

    A table that fails is reported in its own entry; the others still succeed.
    """
    return await systems.session_tables_schema(session_id, table_names)


@systems_tool(
    "Reading table data",
    annotations=READ_ONLY,
    output_schema=envelope_schema(TABLE_SLICE, TABLE_SLICE_REQUIRED),
)
async def session_table_data(
    systems: Systems,
    session_id: SessionIdArg,
    table_name: Annotated[str, Field(description="Name of a table in the session.")],
    max_rows: Annotated[
        int | None,
        Field(description="Rows to return (default 1000); null for the whole table."),
    ] = 1000,
    head: Annotated[bool, Field(description="True: first rows; false: last rows.")] = True,
    format: Annotated[str, Field(description=FORMAT_HELP)] = "optimize-rendering",
) -> TableSlice:
    """Rows of a table, sliced on the worker and formatted for an agent.

    Responses are capped at 50 MB; the cap is checked before any large fetch.
    """
    return await systems.session_table_data(session_id, table_name, max_rows, head, format)


@systems_tool("Running the script", annotations=DESTRUCTIVE, output_schema=envelope_schema())
async def session_script_run(
    systems: Systems,
    session_id: SessionIdArg,
    script: Annotated[str | None, Field(description="Code to run in the session.")] = None,
    script_path: Annotated[
        str | None,
        Field(
            description="Absolute path (on the MCP server's machine) of a file to run instead; "
            "only inside the directories the operator lists in security.script_path_roots "
            "(off when there are none)."
        ),
    ] = None,
) -> Done:
    """Run a script (Python or Groovy, per the session) in a session.

    Provide exactly one of script or script_path. Output and created tables are not
    returned; list tables or read data afterwards.
    """
    return await systems.session_script_run(session_id, script, script_path)


@systems_tool(
    "Listing pip packages",
    annotations=RUNS_CODE,
    output_schema=envelope_schema(
        {
            "result": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"package": STRING, "version": STRING},
                    "required": ["package", "version"],
                },
            }
        },
        ["result"],
    ),
)
async def session_pip_list(systems: Systems, session_id: SessionIdArg) -> PipPackages:
    """Python packages installed in a Python session's worker.

    Runs a short helper script on the worker (its temporary variable is removed again),
    so it is not offered in read-only mode.
    """
    return await systems.session_pip_list(session_id)
