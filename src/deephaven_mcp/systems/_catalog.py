"""Catalog answers: finding the session's catalog, formatting rows and schemas off the loop.

The formatters (pyarrow) are imported where a catalog answer is formatted, not at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from deephaven_mcp.errors import InvalidArgumentError, PermissionDeniedError
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import SessionId
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.systems._enterprise import EnterpriseSystems
from deephaven_mcp.systems.results import CatalogListing, CatalogSchemas

if TYPE_CHECKING:
    from deephaven_mcp.enterprise import CatalogRows, EnterpriseCatalog
    from deephaven_mcp.enterprise.catalog import CatalogFilter
    from deephaven_mcp.enterprise.catalog import CatalogSchemas as FoundSchemas


async def catalog_of(enterprise: EnterpriseSystems, session_id: str) -> EnterpriseCatalog:
    sid = SessionId.parse(session_id)
    if sid.type != "enterprise":
        raise InvalidArgumentError(
            f"catalog tools need an enterprise (Core+) session; '{sid}' is a community session"
        )
    return await enterprise.get(sid.source).catalog(sid.name)


def refuse_expressions(read_only: bool, filters: Sequence[CatalogFilter] | None) -> None:
    """Read-only mode refuses where-clause strings (the engine compiles them); structured
    conditions are data, never compiled, so they are allowed."""
    if read_only and filters and any(isinstance(item, str) for item in filters):
        raise PermissionDeniedError(
            "catalog filter strings are expressions the engine compiles, which read-only "
            "mode does not run; use structured conditions instead, e.g. "
            '{"column": "Namespace", "op": "eq", "value": "MarketUS"} (catalog_tables_schema '
            "also takes an exact namespace and table_names)"
        )


async def listing(
    session_id: str,
    rows: CatalogRows,
    fmt: str,
    what: str,
    timeouts: Timeouts,
    max_bytes: int,
    *,
    keep_arrow: bool = False,
) -> CatalogListing:
    """Catalog ``rows`` formatted as ``fmt`` (off the event loop), within ``max_bytes``;
    kept as Arrow too if ``keep_arrow``."""
    from deephaven_mcp.clients.table_data import format_rows
    from deephaven_mcp.formatting import describe_schema

    data = await call_blocking(
        f"Formatting {what}", timeouts.data, format_rows, rows.table, fmt, what, max_bytes
    )
    made = CatalogListing(
        session_id=session_id,
        format=fmt,
        row_count=rows.table.num_rows,
        is_complete=rows.is_complete,
        columns=describe_schema(rows.table.schema),
        data=data,
    )
    if keep_arrow:
        made._arrow = rows.table
    return made


def _schema_entries(found: FoundSchemas) -> list[dict[str, Any]]:
    from deephaven_mcp.formatting import describe_schema, format_table

    entries: list[dict[str, Any]] = []
    for item in found.schemas:
        base = {"namespace": item.namespace, "table": item.table_name}
        if item.meta is None:
            entries.append(
                {"success": False, **base, "error": item.error or "unknown error", "isError": True}
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


async def schemas(found: FoundSchemas, timeouts: Timeouts) -> CatalogSchemas:
    entries = await call_blocking("Formatting schemas", timeouts.data, _schema_entries, found)
    return CatalogSchemas(schemas=entries, count=len(entries), is_complete=found.is_complete)
