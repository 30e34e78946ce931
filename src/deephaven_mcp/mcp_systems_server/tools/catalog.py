"""Catalog tools for enterprise sessions: tables, namespaces, schemas, samples.

Filters are structured conditions (the same as ``session_table_data``'s, never compiled)
or Deephaven where-clause strings handed to ``Table.where`` (never spliced into a script;
refused in read-only mode, because the engine compiles them).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import SessionIdArg, Systems, systems_tool
from deephaven_mcp.model.arguments import RowLimit
from deephaven_mcp.model.requests import (
    DEFAULT_CATALOG_ROWS,
    DEFAULT_NAMESPACE_ROWS,
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_SCHEMA_TABLES,
)
from deephaven_mcp.model.shaping import CatalogFilters
from deephaven_mcp.systems.results import CatalogListing, CatalogSample, CatalogSchemas

__all__ = [
    "catalog_namespaces_list",
    "catalog_table_sample",
    "catalog_tables_list",
    "catalog_tables_schema",
]

_FORMAT_HELP = (
    "optimize-rendering (default), optimize-accuracy, optimize-cost, optimize-speed, or "
    "json-row, json-column, csv, markdown-table, markdown-kv, yaml, xml."
)
Filters = Annotated[
    CatalogFilters,
    Field(
        description="ANDed. Structured conditions on Namespace, TableName or NamespaceSet, e.g. "
        '{"column": "Namespace", "op": "eq", "value": "MarketUS"} (ops eq, ne, lt, le, gt, '
        'ge, in, not_in, is_null, not_null, contains, matches; {"any_of": [...]} is an OR), '
        "or Deephaven where-clause strings (string literals in backticks; refused in "
        "read-only mode)."
    ),
]
Format = Annotated[str, Field(description=_FORMAT_HELP)]


def at_most(what: str, default: int) -> Any:
    """The field of a limit on how many ``what`` a listing returns."""
    return Field(description=f"At most this many {what} (default {default}); null for all.")


@systems_tool("Listing catalog tables")
async def catalog_tables_list(
    systems: Systems,
    session_id: SessionIdArg,
    max_rows: Annotated[RowLimit, at_most("entries", DEFAULT_CATALOG_ROWS)] = DEFAULT_CATALOG_ROWS,
    filters: Filters = None,
    format: Format = "optimize-rendering",
) -> CatalogListing:
    """Entries of an enterprise catalog (Namespace, TableName, ...), optionally filtered."""


@systems_tool("Listing catalog namespaces")
async def catalog_namespaces_list(
    systems: Systems,
    session_id: SessionIdArg,
    max_rows: Annotated[
        RowLimit, at_most("namespaces", DEFAULT_NAMESPACE_ROWS)
    ] = DEFAULT_NAMESPACE_ROWS,
    filters: Filters = None,
    format: Format = "optimize-rendering",
) -> CatalogListing:
    """Distinct namespaces of an enterprise catalog: the first step of data discovery."""


@systems_tool("Reading catalog schemas")
async def catalog_tables_schema(
    systems: Systems,
    session_id: SessionIdArg,
    namespace: Annotated[str | None, Field(description="Only tables of this namespace.")] = None,
    table_names: Annotated[list[str] | None, Field(description="Only these tables.")] = None,
    filters: Filters = None,
    max_tables: Annotated[
        RowLimit, at_most("schemas", DEFAULT_SCHEMA_TABLES)
    ] = DEFAULT_SCHEMA_TABLES,
) -> CatalogSchemas:
    """Full column metadata of catalog tables; a table that fails gets its own entry."""


@systems_tool("Sampling the catalog table")
async def catalog_table_sample(
    systems: Systems,
    session_id: SessionIdArg,
    namespace: Annotated[str, Field(description="Catalog namespace.")],
    table_name: Annotated[str, Field(description="Catalog table name.")],
    max_rows: Annotated[
        RowLimit,
        Field(
            description=f"Rows to return (default {DEFAULT_SAMPLE_ROWS}); null for all, within "
            "the response limit."
        ),
    ] = DEFAULT_SAMPLE_ROWS,
    head: Annotated[bool, Field(description="True: first rows; false: last rows.")] = True,
    format: Format = "optimize-rendering",
) -> CatalogSample:
    """Preview rows of a catalog table (historical first, then live)."""
