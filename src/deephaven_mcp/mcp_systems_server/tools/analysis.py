"""Analysis tools: column statistics and grouped aggregations, computed by the worker."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

from deephaven_mcp._tool_results import envelope_schema
from deephaven_mcp.clients.analysis_spec import (
    BINS,
    DEFAULT_TOP_K,
    MAX_AGGREGATIONS,
    MAX_DISTINCT,
    MAX_GROUP_BY,
    MAX_SUMMARY_COLUMNS,
    MAX_TOP_K,
    Aggregation,
    TimeBucket,
)
from deephaven_mcp.clients.shaping_spec import MAX_SORT_KEYS, SortKey
from deephaven_mcp.mcp_systems_server._annotations import READ_ONLY
from deephaven_mcp.mcp_systems_server._schemas import (
    BOOLEAN,
    INTEGER,
    STRING,
    TABLE_SLICE,
    TABLE_SLICE_REQUIRED,
)
from deephaven_mcp.mcp_systems_server.tools._common import (
    FiltersArg,
    SessionIdArg,
    Systems,
    TableNameArg,
    systems_tool,
)
from deephaven_mcp.mcp_systems_server.tools.data import FORMAT_HELP
from deephaven_mcp.systems.results import TableAggregate, TableSummary

GROUP_BY_HELP: Final = (
    "Grouping keys: column names, or time buckets on a timestamp column "
    f'{{"column": "Timestamp", "bin": "1d"}} with bin one of {", ".join(BINS)} '
    "(UTC-aligned; the bucket column holds the bucket start, named 'as' or "
    "'<column>_<bin>'). Null or empty: one row over the whole table."
)
SORT_HELP: Final = (
    "Sort the aggregated rows by output columns, e.g. "
    f'[{{"column": "AvgPrice", "descending": true}}]; at most {MAX_SORT_KEYS}. '
    "Unsorted rows come in order of each group's first appearance."
)
COLUMNS_HELP: Final = f"Columns to describe; null for all (the first {MAX_SUMMARY_COLUMNS})."

_SCALAR: Final = {"type": ["number", "string", "boolean", "null"]}
_STATISTIC: Final = {
    "type": ["number", "string", "null"],
    "description": 'A number; "NaN", "Infinity" or "-Infinity" as text; null without values.',
}
_COLUMN_SUMMARY: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "name": STRING,
        "type": {**STRING, "description": "Deephaven type, e.g. double, java.lang.String."},
        "kind": {"enum": ["numeric", "string", "boolean", "temporal", "other"]},
        "null_count": INTEGER,
        "nan_count": {**INTEGER, "description": "float/double only; NaN is not null."},
        "min": {**_SCALAR, "description": "Timestamps and dates as ISO-8601 text."},
        "max": _SCALAR,
        "mean": _STATISTIC,
        "std": {**_STATISTIC, "description": "Sample standard deviation (n - 1)."},
        "distinct_count": {
            **INTEGER,
            "description": f"Distinct non-null values, at most {MAX_DISTINCT:,}.",
        },
        "distinct_count_capped": {
            **BOOLEAN,
            "description": f"True when there are more than {MAX_DISTINCT:,} distinct values.",
        },
        "top_values": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"value": _SCALAR, "count": INTEGER},
                "required": ["value", "count"],
            },
        },
    },
    "required": ["name", "type", "kind", "null_count"],
    "additionalProperties": False,
}
_SUMMARY: Final[dict[str, Any]] = {
    "table_name": STRING,
    "row_count": {**INTEGER, "description": "Rows after filtering."},
    "column_count": {**INTEGER, "description": "Columns in the table."},
    "is_complete": {
        **BOOLEAN,
        "description": f"False when only the first {MAX_SUMMARY_COLUMNS} columns were summarized.",
    },
    "top_k": INTEGER,
    "is_refreshing": {**BOOLEAN, "description": "True for a ticking (live) table."},
    "snapshot_time": {**STRING, "description": "When the statistics were taken, ISO-8601 UTC."},
    "columns": {"type": "array", "items": _COLUMN_SUMMARY},
}

_AGGREGATE: Final[dict[str, Any]] = {
    **TABLE_SLICE,
    "total_rows": {**INTEGER, "description": "Aggregated rows (groups) before paging."},
    "next_offset": {
        "type": ["integer", "null"],
        "description": "offset of the next page; null when this page reaches the end.",
    },
    "is_refreshing": {**BOOLEAN, "description": "True when the source table ticks."},
    "snapshot_time": {**STRING, "description": "When the rows were computed, ISO-8601 UTC."},
    "source_rows": {**INTEGER, "description": "Source rows aggregated (after filtering)."},
}
_AGGREGATE_EXTRA: Final = [
    "total_rows",
    "next_offset",
    "is_refreshing",
    "snapshot_time",
    "source_rows",
]


@systems_tool(
    "Summarizing the table",
    annotations=READ_ONLY,
    output_schema=envelope_schema(_SUMMARY, list(_SUMMARY)),
)
async def session_table_summary(
    systems: Systems,
    session_id: SessionIdArg,
    table_name: TableNameArg,
    columns: Annotated[
        list[str] | None,
        Field(description=COLUMNS_HELP),
    ] = None,
    filters: FiltersArg = None,
    top_k: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_TOP_K,
            description="Most frequent values to list per string/boolean column (0: none).",
        ),
    ] = DEFAULT_TOP_K,
) -> TableSummary:
    """Per-column statistics computed by the worker, without fetching rows.

    row_count, then per column: null_count; min and max (timestamps as ISO-8601); for
    numeric columns mean and sample std; for string and boolean columns distinct_count
    (capped at 10,000, distinct_count_capped) and top_values with counts. NaN in float
    columns is counted in nan_count and skipped by min, max, mean and std; infinities count.
    Cheap even for millions of rows: use it before reading data.
    """
    return await systems.session_table_summary(
        session_id, table_name, columns=columns, filters=filters, top_k=top_k
    )


@systems_tool(
    "Aggregating the table",
    annotations=READ_ONLY,
    output_schema=envelope_schema(_AGGREGATE, [*TABLE_SLICE_REQUIRED, *_AGGREGATE_EXTRA]),
)
async def session_table_aggregate(
    systems: Systems,
    session_id: SessionIdArg,
    table_name: TableNameArg,
    aggregations: Annotated[
        list[Aggregation],
        Field(
            min_length=1,
            max_length=MAX_AGGREGATIONS,
            description='Output columns: {"op", "column", "as"}. ops: count, sum, avg, min, '
            "max, first, last, std, var, median, count_distinct. count without column counts "
            "rows; with one, its non-null values. sum/avg/std/var/median need numeric columns; "
            "std/var are sample statistics.",
        ),
    ],
    group_by: Annotated[
        list[str | TimeBucket] | None,
        Field(
            max_length=MAX_GROUP_BY,
            description=GROUP_BY_HELP,
        ),
    ] = None,
    filters: FiltersArg = None,
    sort: Annotated[
        list[SortKey] | None,
        Field(description=SORT_HELP),
    ] = None,
    max_rows: Annotated[
        int | None,
        Field(description="Rows (groups) to return (default 1000); null for all."),
    ] = 1000,
    offset: Annotated[
        int, Field(ge=0, description="Rows to skip (paging: pass the answer's next_offset).")
    ] = 0,
    format: Annotated[str, Field(description=FORMAT_HELP)] = "optimize-rendering",
) -> TableAggregate:
    """Group and aggregate a table on the worker, e.g. the daily average price per symbol:
    group_by ["Sym", {"column": "Timestamp", "bin": "1d"}], aggregations
    [{"op": "avg", "column": "Price", "as": "AvgPrice"}].

    Filters apply first, then grouping, then sort. Answers like session_table_data (same
    formats, total_rows/next_offset paging, response size cap) plus source_rows.
    """
    return await systems.session_table_aggregate(
        session_id,
        table_name,
        aggregations,
        group_by=group_by,
        filters=filters,
        sort=sort,
        max_rows=max_rows,
        offset=offset,
        format=format,
    )
