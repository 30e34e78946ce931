"""Session data tools: tables, schemas, data, scripts, pip packages."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import (
    FiltersArg,
    SessionIdArg,
    Systems,
    TableNameArg,
    systems_tool,
)
from deephaven_mcp.model.arguments import Offset, RowLimit
from deephaven_mcp.model.requests import DEFAULT_TABLE_ROWS
from deephaven_mcp.model.shaping import MAX_SORT_KEYS, Sort
from deephaven_mcp.systems.results import (
    PipPackages,
    ScriptRun,
    ShapedSlice,
    TableNames,
    TableSchemas,
)

__all__ = [
    "session_pip_list",
    "session_script_run",
    "session_table_data",
    "session_tables_list",
    "session_tables_schema",
]

FORMAT_HELP = (
    "optimize-rendering (markdown-table, default), optimize-accuracy "
    "(markdown-kv), optimize-cost (csv), optimize-speed (json-column), or one "
    "of json-row, json-column, csv, markdown-table, markdown-kv, yaml, xml."
)
Format = Annotated[str, Field(description=FORMAT_HELP)]


@systems_tool("Listing tables")
async def session_tables_list(systems: Systems, session_id: SessionIdArg) -> TableNames:
    """Names of the tables in a session (cheap; no schemas)."""


@systems_tool("Reading table schemas")
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


@systems_tool("Reading table data")
async def session_table_data(
    systems: Systems,
    session_id: SessionIdArg,
    table_name: TableNameArg,
    max_rows: Annotated[
        RowLimit,
        Field(
            description=f"Rows to return (default {DEFAULT_TABLE_ROWS}); null for the whole table."
        ),
    ] = DEFAULT_TABLE_ROWS,
    head: Annotated[
        bool,
        Field(description="True: first rows; false: last rows (offset then counts from the end)."),
    ] = True,
    format: Format = "optimize-rendering",
    columns: Annotated[
        list[str] | None,
        Field(description="Only these columns, in this order; null for all."),
    ] = None,
    filters: FiltersArg = None,
    sort: Annotated[
        Sort,
        Field(
            description=f'Sort keys in priority order, e.g. [{{"column": "Size", '
            f'"descending": true}}]; at most {MAX_SORT_KEYS}.'
        ),
    ] = None,
    offset: Annotated[
        Offset,
        Field(
            description="Rows to skip before the page (paging: pass the answer's next_offset).",
        ),
    ] = 0,
) -> ShapedSlice:
    """Rows of a table, shaped and sliced on the worker and formatted for an agent.

    Filters, then sort, then columns. total_rows counts rows after filtering; page through
    with max_rows and offset until next_offset is null. Responses are capped (50 MB unless
    the operator set another limit); a read stops as soon as it would pass the cap.
    """


@systems_tool("Running the script")
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
) -> ScriptRun:
    """Run a script (Python or Groovy, per the session) in a session; it is never re-run.

    Provide exactly one of script or script_path. The answer has the script's stdout and
    stderr (Python sessions; null in Groovy sessions, whose output only reaches the worker
    log), each cut to its first 64 KB with *_truncated and *_dropped_bytes, and tables: the
    global tables it created, replaced or removed (at most 100; tables_truncated), with
    row_count, columns (Deephaven types) and is_refreshing unless removed. Only output of the
    script's own thread is captured. A failure's error is one line: type, message and the
    line in your script, e.g. "script failed: NameError: name 'x' is not defined (line 3)";
    its details hold the same stdout, stderr and tables fields up to the failure.
    """


@systems_tool("Listing pip packages")
async def session_pip_list(systems: Systems, session_id: SessionIdArg) -> PipPackages:
    """Python packages installed in a Python session's worker.

    Runs a short helper script on the worker (its temporary variable is removed again),
    so it is not offered in read-only mode.
    """
