"""Analysis tools: column statistics and grouped aggregations, computed by the worker."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import Field

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
from deephaven_mcp.model.analysis import (
    BIN_FORM,
    DEFAULT_TOP_K,
    MAX_DISTINCT,
    MAX_SUMMARY_COLUMNS,
    Aggregations,
    GroupBy,
    SkipNan,
    SummaryColumns,
    TopK,
)
from deephaven_mcp.model.arguments import Offset, RowLimit
from deephaven_mcp.model.shaping import MAX_SORT_KEYS, Sort
from deephaven_mcp.serving.envelope import envelope_schema
from deephaven_mcp.systems.results import TableAggregate, TableSummary

GROUP_BY_HELP: Final = (
    "Grouping keys: column names, or time buckets on a timestamp column "
    f'{{"column": "Timestamp", "bin": "1d"}} with bin {BIN_FORM}. Buckets are UTC-aligned: '
    "they start at multiples of the width since the epoch (1970-01-01T00:00:00Z), so '1d' "
    "starts at UTC midnight and '7d' on Thursdays; the bucket column holds the bucket start, "
    "named 'as' or '<column>_<bin>'. Null or empty: one row over the whole table."
)
NAN_RULE: Final = (
    "NaN is a value: any NaN among a group's values makes its sum, avg, min, max, std, var "
    "and median NaN (as the engine computes them); count of a column counts NaN and "
    "count_distinct counts it as one value. skip_nan: true treats NaN like null for every "
    "statistic."
)
OVERFLOW_RULE: Final = (
    "A floating statistic the engine's arithmetic overflows (NaN or infinite although the "
    "values were finite, e.g. std of [1e300, 1.5]) and a long sum that does not fit 64 bits "
    "are shown as null and named in notes, never as a value."
)
SKIP_NAN_HELP: Final = "Treat NaN like null in every statistic (default false: NaN is a value)."
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
        "notes": {
            "type": "array",
            "items": STRING,
            "description": "Statistics shown as null because the engine overflowed them.",
        },
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
    "skip_nan": {**BOOLEAN, "description": "True when NaN was treated like null."},
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
    "skip_nan": {**BOOLEAN, "description": "True when NaN was treated like null."},
    "notes": {
        "type": "array",
        "items": STRING,
        "description": "One per output column with groups the engine overflowed (shown as "
        "null), e.g. 'AvgX: 1 group overflowed double arithmetic in the engine; shown as null'.",
    },
}
_AGGREGATE_EXTRA: Final = [
    "total_rows",
    "next_offset",
    "is_refreshing",
    "snapshot_time",
    "source_rows",
    "skip_nan",
    "notes",
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
    columns: Annotated[SummaryColumns, Field(description=COLUMNS_HELP)] = None,
    filters: FiltersArg = None,
    top_k: Annotated[
        TopK,
        Field(description="Most frequent values to list per string/boolean column (0: none)."),
    ] = DEFAULT_TOP_K,
    skip_nan: Annotated[SkipNan, Field(description=SKIP_NAN_HELP)] = False,
) -> TableSummary:
    """Per-column statistics computed by the worker, without fetching rows.

    row_count, then per column: null_count; min and max (timestamps as ISO-8601); for
    numeric columns mean and sample std; for string and boolean columns distinct_count
    (capped at 10,000, distinct_count_capped) and top_values with counts. NaN in float
    columns is counted in nan_count and is a value: min, max, mean and std of a column
    holding one are NaN, unless skip_nan is true (then NaN is skipped like null). Infinities
    are values. A mean or std the engine overflows from finite values is null, explained in
    the column's notes. Cheap even for millions of rows: use it before reading data.
    """
    return await systems.session_table_summary(
        session_id=session_id,
        table_name=table_name,
        columns=columns,
        filters=filters,
        top_k=top_k,
        skip_nan=skip_nan,
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
        Aggregations,
        Field(
            description='Output columns: {"op", "column", "as"}. ops: count, sum, avg, min, '
            "max, first, last, std, var, median, count_distinct. count without column counts "
            "rows; with one, its non-null values. sum/avg/std/var/median need numeric columns; "
            "std/var are sample statistics. " + NAN_RULE,
        ),
    ],
    group_by: Annotated[GroupBy, Field(description=GROUP_BY_HELP)] = None,
    filters: FiltersArg = None,
    sort: Annotated[
        Sort,
        Field(description=SORT_HELP),
    ] = None,
    max_rows: Annotated[
        RowLimit,
        Field(description="Rows (groups) to return (default 1000); null for all."),
    ] = 1000,
    offset: Annotated[
        Offset, Field(description="Rows to skip (paging: pass the answer's next_offset).")
    ] = 0,
    format: Annotated[str, Field(description=FORMAT_HELP)] = "optimize-rendering",
    skip_nan: Annotated[SkipNan, Field(description=SKIP_NAN_HELP)] = False,
) -> TableAggregate:
    """Group and aggregate a table on the worker, e.g. the daily average price per symbol:
    group_by ["Sym", {"column": "Timestamp", "bin": "1d"}], aggregations
    [{"op": "avg", "column": "Price", "as": "AvgPrice"}].

    Filters apply first, then grouping, then sort. Time buckets take any width
    <N>s|m|h|d (at most 366d), UTC-aligned (starts at multiples of the width since the
    epoch). NaN is a value (a group holding one has NaN sum, avg, min, max, std, var and
    median) unless skip_nan is true, which treats NaN like null. A statistic the engine
    overflows (NaN/infinite from finite values, a long sum past 64 bits) is null and named
    in notes. Answers like session_table_data (same formats, total_rows/next_offset paging,
    response size cap) plus source_rows, skip_nan and notes.
    """
    return await systems.session_table_aggregate(
        session_id=session_id,
        table_name=table_name,
        aggregations=aggregations,
        group_by=group_by,
        filters=filters,
        sort=sort,
        max_rows=max_rows,
        offset=offset,
        format=format,
        skip_nan=skip_nan,
    )
