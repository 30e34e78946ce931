"""The bodies of ``session_table_summary`` and ``session_table_aggregate``.

Requests are parsed and checked here before any round trip, with the same types as the
MCP tools' signatures (:mod:`deephaven_mcp.model.analysis`,
:func:`~deephaven_mcp.model.arguments.check_argument`), so a bad argument gets the same
message on both paths. The engine work happens in :mod:`deephaven_mcp.clients.analysis`
and :mod:`deephaven_mcp.clients.table_summary`, inside one ``ManagedSession.run`` per call
(reads, so a lost connection is retried once). Those two load in the functions that call
them: they bring pydeephaven and pyarrow, which a server that has not read a table yet
does without.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deephaven_mcp.model import analysis as spec
from deephaven_mcp.model.arguments import Offset, RowLimit, check_argument
from deephaven_mcp.model.shaping import FilterItem, SortKey, parse_filters, parse_sort
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.systems.results import TableAggregate, TableSummary


async def table_summary(
    session: ManagedSession,
    timeouts: Timeouts,
    table_name: str,
    *,
    columns: Sequence[str] | None,
    filters: Sequence[FilterItem | dict[str, Any]] | None,
    top_k: int,
    skip_nan: bool = False,
) -> TableSummary:
    from deephaven_mcp.clients import table_summary as summary

    names = check_argument(
        "columns",
        spec.SummaryColumns,
        list(columns) if isinstance(columns, tuple) else columns,
    )
    top_k = check_argument("top_k", spec.TopK, top_k)
    skip_nan = check_argument("skip_nan", spec.SkipNan, skip_nan)
    conditions = parse_filters(filters)
    stats = await session.run(
        f"Summarizing table {table_name}",
        lambda client: summary.summarize_table(
            client,
            table_name,
            columns=names,
            filters=conditions,
            top_k=top_k,
            skip_nan=skip_nan,
        ),
        timeouts.data,
        retry=True,
    )
    return TableSummary(
        table_name=table_name,
        row_count=stats.row_count,
        column_count=stats.column_count,
        is_complete=stats.is_complete,
        top_k=top_k,
        skip_nan=skip_nan,
        is_refreshing=stats.is_refreshing,
        snapshot_time=stats.snapshot_time,
        columns=stats.columns,
    )


async def table_aggregate(
    session: ManagedSession,
    timeouts: Timeouts,
    table_name: str,
    *,
    group_by: Sequence[spec.GroupByItem | dict[str, Any]] | None,
    aggregations: Sequence[spec.Aggregation | dict[str, Any]] | None,
    filters: Sequence[FilterItem | dict[str, Any]] | None,
    sort: Sequence[SortKey | dict[str, Any]] | None,
    max_rows: int | None,
    offset: int,
    fmt: str,
    max_bytes: int,
    skip_nan: bool = False,
) -> TableAggregate:
    """``fmt`` is already resolved."""
    from deephaven_mcp.clients import analysis

    keys = parse_group_by_and_aggregations(group_by, aggregations)
    conditions = parse_filters(filters)
    order = parse_sort(sort)
    max_rows = check_argument("max_rows", RowLimit, max_rows)
    offset = check_argument("offset", Offset, offset)
    skip_nan = check_argument("skip_nan", spec.SkipNan, skip_nan)
    found = await session.run(
        f"Aggregating table {table_name}",
        lambda client: analysis.aggregate_table(
            client,
            table_name,
            group_by=keys[0],
            aggregations=keys[1],
            filters=conditions,
            sort=order,
            max_rows=max_rows,
            offset=offset,
            fmt=fmt,
            skip_nan=skip_nan,
            max_bytes=max_bytes,
        ),
        timeouts.data,
        retry=True,
    )
    return found.page.extended(
        TableAggregate, source_rows=found.source_rows, skip_nan=skip_nan, notes=found.notes
    )


def parse_group_by_and_aggregations(
    group_by: Sequence[spec.GroupByItem | dict[str, Any]] | None,
    aggregations: Sequence[spec.Aggregation | dict[str, Any]] | None,
) -> tuple[list[spec.GroupByItem], list[spec.Aggregation]]:
    """The request's keys and aggregations, checked as far as possible without the schema."""
    wanted = spec.parse_aggregations(aggregations)
    keys = spec.parse_group_by(group_by)
    spec.check_output_names(keys, wanted)
    return keys, wanted
