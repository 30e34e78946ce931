"""Catalog tools for enterprise sessions: tables, namespaces, schemas, samples.

Filters are Deephaven where-clause strings handed to ``Table.where``; they are never
spliced into a script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp._blocking import call_blocking
from deephaven_mcp._errors import InvalidArgumentError
from deephaven_mcp._tool_results import envelope_schema, ok, run_tool
from deephaven_mcp.clients.table_data import format_rows
from deephaven_mcp.enterprise import CatalogRows, EnterpriseCatalog, EnterpriseSystem
from deephaven_mcp.formatting import describe_schema, format_table, resolve_format
from deephaven_mcp.mcp_systems_server._annotations import READ_ONLY
from deephaven_mcp.mcp_systems_server._schemas import (
    BOOLEAN,
    COLUMN_LIST,
    INTEGER,
    STRING,
    TABLE_DATA,
    TABLE_SCHEMA_ENTRY,
    TABLE_SLICE,
    TABLE_SLICE_REQUIRED,
)
from deephaven_mcp.mcp_systems_server._state import SystemsServerState
from deephaven_mcp.mcp_systems_server.tools.sessions import SessionIdArg
from deephaven_mcp.resource_manager import SessionId

_FORMAT_HELP = (
    "optimize-rendering (default), optimize-accuracy, optimize-cost, optimize-speed, or "
    "json-row, json-column, csv, markdown-table, markdown-kv, yaml, xml."
)
Filters = Annotated[
    list[str] | None,
    Field(description="Deephaven where clauses, ANDed; string literals use backticks."),
]
Format = Annotated[str, Field(description=_FORMAT_HELP)]
_ROWS_SCHEMA = envelope_schema(
    {
        "session_id": STRING,
        "format": STRING,
        "row_count": INTEGER,
        "is_complete": BOOLEAN,
        "columns": COLUMN_LIST,
        "data": TABLE_DATA,
    },
    ["session_id", "format", "row_count", "is_complete", "columns", "data"],
)


def _check_rows(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer or null (got {value})")


async def _catalog(
    state: SystemsServerState, session_id: str
) -> tuple[EnterpriseSystem, EnterpriseCatalog]:
    sid = SessionId.parse(session_id)
    if sid.type != "enterprise":
        raise InvalidArgumentError(
            f"catalog tools need an enterprise (Core+) session; '{sid}' is a community session"
        )
    system = state.enterprise.get(sid.source)
    return system, await system.catalog(sid.name)


async def _catalog_rows(
    state: SystemsServerState,
    session_id: str,
    max_rows: int | None,
    format: str,
    what: str,
    fetch: Callable[[EnterpriseCatalog], Awaitable[CatalogRows]],
) -> ToolResult:
    """Shared body of the two catalog listing tools: validate, fetch, format off the loop."""
    _check_rows("max_rows", max_rows)
    fmt = resolve_format(format)
    _, catalog = await _catalog(state, session_id)
    rows = await fetch(catalog)
    data = await call_blocking(
        f"Formatting {what}", state.timeouts.data, format_rows, rows.table, fmt, what
    )
    return ok(
        session_id=session_id,
        format=fmt,
        row_count=rows.table.num_rows,
        is_complete=rows.is_complete,
        columns=describe_schema(rows.table.schema),
        data=data,
    )


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    @mcp.tool(annotations=READ_ONLY, output_schema=_ROWS_SCHEMA)
    async def catalog_tables_list(
        session_id: SessionIdArg,
        max_rows: Annotated[
            int | None,
            Field(description="At most this many entries (default 10000); null for all."),
        ] = 10_000,
        filters: Filters = None,
        format: Format = "optimize-rendering",
    ) -> ToolResult:
        """Entries of an enterprise catalog (Namespace, TableName, ...), optionally filtered."""

        return await run_tool(
            "Listing catalog tables",
            lambda: _catalog_rows(
                state,
                session_id,
                max_rows,
                format,
                "the catalog",
                lambda catalog: catalog.tables(filters, max_rows),
            ),
        )

    @mcp.tool(annotations=READ_ONLY, output_schema=_ROWS_SCHEMA)
    async def catalog_namespaces_list(
        session_id: SessionIdArg,
        max_rows: Annotated[
            int | None,
            Field(description="At most this many namespaces (default 1000); null for all."),
        ] = 1_000,
        filters: Filters = None,
        format: Format = "optimize-rendering",
    ) -> ToolResult:
        """Distinct namespaces of an enterprise catalog: the first step of data discovery."""

        return await run_tool(
            "Listing catalog namespaces",
            lambda: _catalog_rows(
                state,
                session_id,
                max_rows,
                format,
                "the namespaces",
                lambda catalog: catalog.namespaces(filters, max_rows),
            ),
        )

    schema_entry = {
        **TABLE_SCHEMA_ENTRY,
        "properties": {**TABLE_SCHEMA_ENTRY["properties"], "namespace": STRING},
    }

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {
                "schemas": {"type": "array", "items": schema_entry},
                "count": INTEGER,
                "is_complete": BOOLEAN,
            },
            ["schemas", "count", "is_complete"],
        ),
    )
    async def catalog_tables_schema(
        session_id: SessionIdArg,
        namespace: Annotated[
            str | None, Field(description="Only tables of this namespace.")
        ] = None,
        table_names: Annotated[list[str] | None, Field(description="Only these tables.")] = None,
        filters: Filters = None,
        max_tables: Annotated[
            int | None, Field(description="At most this many schemas (default 100); null for all.")
        ] = 100,
    ) -> ToolResult:
        """Full column metadata of catalog tables; a table that fails gets its own entry."""

        async def body() -> ToolResult:
            _check_rows("max_tables", max_tables)
            _, catalog = await _catalog(state, session_id)
            found = await catalog.schemas(namespace, table_names, filters, max_tables)

            def render() -> list[dict[str, Any]]:
                entries: list[dict[str, Any]] = []
                for item in found.schemas:
                    base = {"namespace": item.namespace, "table": item.table_name}
                    if item.meta is None:
                        entries.append(
                            {
                                "success": False,
                                **base,
                                "error": item.error or "unknown error",
                                "isError": True,
                            }
                        )
                    else:
                        entries.append(
                            {
                                "success": True,
                                **base,
                                "format": "json-row",
                                "data": format_table(item.meta, "json-row"),
                                "meta_columns": describe_schema(item.meta.schema),
                                "row_count": item.meta.num_rows,
                            }
                        )
                return entries

            schemas = await call_blocking("Formatting schemas", state.timeouts.data, render)
            return ok(schemas=schemas, count=len(schemas), is_complete=found.is_complete)

        return await run_tool("Reading catalog schemas", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {**TABLE_SLICE, "namespace": STRING, "source": {"enum": ["historical", "live"]}},
            [*TABLE_SLICE_REQUIRED, "namespace"],
        ),
    )
    async def catalog_table_sample(
        session_id: SessionIdArg,
        namespace: Annotated[str, Field(description="Catalog namespace.")],
        table_name: Annotated[str, Field(description="Catalog table name.")],
        max_rows: Annotated[
            int | None,
            Field(description="Rows to return (default 100); null for all, within 50 MB."),
        ] = 100,
        head: Annotated[bool, Field(description="True: first rows; false: last rows.")] = True,
        format: Format = "optimize-rendering",
    ) -> ToolResult:
        """Preview rows of a catalog table (historical first, then live)."""

        async def body() -> ToolResult:
            _check_rows("max_rows", max_rows)
            fmt = resolve_format(format)
            _, catalog = await _catalog(state, session_id)
            sample = await catalog.sample(namespace, table_name, max_rows, head, fmt)
            # The slice names the table "namespace.table" in messages; answer with the name.
            fields = {**sample.slice.fields(), "table_name": table_name}
            return ok(**fields, namespace=namespace, source=sample.source)

        return await run_tool("Sampling the catalog table", body)
