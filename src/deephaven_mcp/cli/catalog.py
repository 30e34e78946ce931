"""``dh-mcp catalog``: an Enterprise session's catalog, one API call a command.

The catalog is read through a Core+ worker, so every command names an Enterprise session
(``enterprise:SYSTEM:NAME``). Rows print as ``dh-mcp read`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from cyclopts import App, Parameter

from deephaven_mcp.cli.app import (
    NO_OPTIONS,
    Common,
    Format,
    Where,
    call_api,
    tool_fields,
)
from deephaven_mcp.cli.output import Output, RowFormat

catalog_app = App(
    name="catalog",
    help="Browse an Enterprise catalog: tables, namespaces, schemas, samples.",
)

FILTER_HELP: Final = (
    "A Deephaven where-clause on Namespace, TableName or NamespaceSet, string literals in "
    "backticks ('TableName.startsWith(\\`T\\`)'); repeat to AND more. The engine compiles it, so "
    "--read-only refuses it: use --where there."
)

Filter = Annotated[list[str] | None, Parameter(help=FILTER_HELP, negative="")]


MaxEntries = Annotated[int | None, Parameter(help="At most this many entries (default 10000).")]
MaxNamespaces = Annotated[
    int | None, Parameter(help="At most this many namespaces (default 1000).")
]
MaxTables = Annotated[int | None, Parameter(help="At most this many tables (default 100).")]
MaxSampleRows = Annotated[
    int | None,
    Parameter(help="At most this many rows (default: the configured default, else 100)."),
]


@dataclass(frozen=True)
class _Rows:
    """A catalog listing as ``Output.rows`` reads a table slice (its columns are ``schema``)."""

    schema: list[dict[str, str]]
    data: Any


def _filters(where: list[str] | None, filter: list[str] | None) -> list[Any] | None:
    """The structured --where conditions, then the --filter clauses, ANDed by the API."""
    from deephaven_mcp.cli import arguments

    items: list[Any] = [*(arguments.parse_where(where) or []), *(filter or [])]
    return items or None


def _caption(result: Any, unit: str = "rows") -> str:
    shown = f"{result.row_count} {unit}"
    if not result.is_complete:
        shown += "; more exist: raise --max-rows"
    return shown


async def _listing(
    namespaces: bool,
    session_id: str,
    where: list[str] | None,
    filter: list[str] | None,
    max_rows: int | None,
    format: RowFormat | None,
    common: Common,
) -> int:
    out = Output()
    filters = _filters(where, filter)
    limit: dict[str, Any] = {} if max_rows is None else {"max_rows": max_rows}
    result = await call_api(
        common,
        lambda s: (s.catalog_namespaces_list if namespaces else s.catalog_tables_list)(
            session_id, filters=filters, format=out.api_format(format), **limit
        ),
        out,
        "reading the catalog",
    )
    out.rows(_Rows(result.columns, result.data), format, caption=_caption(result))
    return 0


@catalog_app.command(name="tables")
async def catalog_tables(
    session_id: str,
    *,
    where: Where = None,
    filter: Filter = None,
    max_rows: MaxEntries = None,
    format: Format = None,
    common: Common = NO_OPTIONS,
) -> int:
    """List the tables of the catalog (Namespace, TableName, NamespaceSet).

    Example: dh-mcp catalog tables enterprise:prod:reader --where Namespace eq MarketUS
    """
    return await _listing(False, session_id, where, filter, max_rows, format, common)


@catalog_app.command(name="namespaces")
async def catalog_namespaces(
    session_id: str,
    *,
    where: Where = None,
    filter: Filter = None,
    max_rows: MaxNamespaces = None,
    format: Format = None,
    common: Common = NO_OPTIONS,
) -> int:
    """List the distinct namespaces of the catalog.

    Example: dh-mcp catalog namespaces enterprise:prod:reader --where TableName eq Trades
    """
    return await _listing(True, session_id, where, filter, max_rows, format, common)


@catalog_app.command(name="schema")
async def catalog_schema(
    session_id: str,
    *,
    namespace: Annotated[str | None, Parameter(help="Only tables of this namespace.")] = None,
    table: Annotated[
        list[str] | None,
        Parameter(help="Only these tables; repeat or comma-separate.", negative=""),
    ] = None,
    where: Where = None,
    filter: Filter = None,
    max_tables: MaxTables = None,
    common: Common = NO_OPTIONS,
) -> int:
    """Show the columns of catalog tables; exit 1 if one could not be read.

    Example: dh-mcp catalog schema enterprise:prod:reader --namespace MarketUS --table Trades
    """
    from deephaven_mcp.cli import arguments

    out = Output()
    filters = _filters(where, filter)
    names = arguments.split_names(table)
    limit: dict[str, Any] = {} if max_tables is None else {"max_tables": max_tables}
    result = await call_api(
        common,
        lambda s: s.catalog_tables_schema(
            session_id, namespace=namespace, table_names=names, filters=filters, **limit
        ),
        out,
        "reading schemas",
    )
    failed = [entry for entry in result.schemas if not entry.get("success")]
    if out.terminal:
        for entry in result.schemas:
            title = ".".join(part for part in (entry.get("namespace"), entry["table"]) if part)
            if entry.get("success"):
                out.records(entry["data"], title=title)
            else:
                out.note(f"{title}: {entry.get('error')}")
        if not result.schemas:
            out.note("no catalog table matches")
        elif not result.is_complete:
            out.note(f"{result.count} tables; more match: raise --max-tables")
    else:
        out.answer(tool_fields(result))
    return 1 if failed else 0


@catalog_app.command(name="sample")
async def catalog_sample(
    session_id: str,
    namespace: str,
    table: str,
    *,
    max_rows: MaxSampleRows = None,
    tail: Annotated[bool, Parameter(negative="", help="The last rows, not the first.")] = False,
    format: Format = None,
    common: Common = NO_OPTIONS,
) -> int:
    """Read rows of a catalog table: its historical data, else its live data.

    Example: dh-mcp catalog sample enterprise:prod:reader MarketUS Trades --max-rows 20
    """
    from deephaven_mcp.systems.service import DEFAULT_ROWS

    out = Output()
    result = await call_api(
        common,
        lambda s: s.catalog_table_sample(
            session_id,
            namespace,
            table,
            max_rows=DEFAULT_ROWS if max_rows is None else max_rows,
            head=not tail,
            format=out.api_format(format),
        ),
        out,
        f"reading {namespace}.{table}",
    )
    out.rows(result, format, caption=f"{_caption(result)} ({result.source})")
    return 0
