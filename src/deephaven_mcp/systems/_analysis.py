"""The bodies of ``session_table_summary`` and ``session_table_aggregate``.

Requests are parsed and checked here before any round trip
(:mod:`deephaven_mcp.clients.analysis_spec`); the engine work happens in
:mod:`deephaven_mcp.clients.analysis` and :mod:`deephaven_mcp.clients.table_summary`,
inside one ``ManagedSession.run`` per call (reads, so a lost connection is retried once).
Those two load in the functions that call them: they bring pydeephaven and pyarrow, which
a server that has not read a table yet does without.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deephaven_mcp.clients import analysis_spec as spec
from deephaven_mcp.clients.shaping_spec import FilterItem, SortKey, parse_filters, parse_sort
from deephaven_mcp.clients.timeouts import Timeouts
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.systems import _tables
from deephaven_mcp.systems.results import TableAggregate, TableSummary


def _check_columns_argument(columns: Sequence[str] | None) -> None:
    if columns is not None and (isinstance(columns, str) or not columns):
        raise InvalidArgumentError("columns must be a non-empty list of column names")


async def table_summary(
    session: ManagedSession,
    timeouts: Timeouts,
    table_name: str,
    *,
    columns: Sequence[str] | None,
    filters: Sequence[FilterItem | dict[str, Any]] | None,
    top_k: int,
) -> TableSummary:
    from deephaven_mcp.clients import table_summary as summary

    _check_columns_argument(columns)
    spec.check_top_k(top_k)
    conditions = parse_filters(filters)
    stats = await session.run(
        f"Summarizing table {table_name}",
        lambda client: summary.summarize_table(
            client, table_name, columns=columns, filters=conditions, top_k=top_k
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
) -> TableAggregate:
    """``fmt`` is already resolved; ``max_rows`` already checked."""
    from deephaven_mcp.clients import analysis

    _tables.check_offset(offset)
    keys = parse_group_by_and_aggregations(group_by, aggregations)
    conditions = parse_filters(filters)
    order = parse_sort(sort)
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
            max_bytes=max_bytes,
        ),
        timeouts.data,
        retry=True,
    )
    return found.page.extended(TableAggregate, source_rows=found.source_rows)


def parse_group_by_and_aggregations(
    group_by: Sequence[spec.GroupByItem | dict[str, Any]] | None,
    aggregations: Sequence[spec.Aggregation | dict[str, Any]] | None,
) -> tuple[list[spec.GroupByItem], list[spec.Aggregation]]:
    """The request's keys and aggregations, checked as far as possible without the schema."""
    keys = spec.parse_group_by(group_by)
    wanted = spec.parse_aggregations(aggregations)
    spec.check_output_names(keys, wanted)
    return keys, wanted
