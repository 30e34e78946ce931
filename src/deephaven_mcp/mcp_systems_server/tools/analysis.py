"""Analysis tools: column statistics and grouped aggregations, computed by the worker."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import (
    FiltersArg,
    SessionIdArg,
    Systems,
    TableNameArg,
    systems_tool,
)
from deephaven_mcp.mcp_systems_server.tools.data import Format
from deephaven_mcp.model.analysis import (
    BIN_FORM,
    DEFAULT_TOP_K,
    MAX_SUMMARY_COLUMNS,
    Aggregations,
    GroupBy,
    SkipNan,
    SummaryColumns,
    TopK,
)
from deephaven_mcp.model.arguments import Offset, RowLimit
from deephaven_mcp.model.requests import DEFAULT_TABLE_ROWS
from deephaven_mcp.model.shaping import MAX_SORT_KEYS, Sort
from deephaven_mcp.systems.results import TableAggregate, TableSummary

__all__ = ["session_table_aggregate", "session_table_summary"]

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
SKIP_NAN_HELP: Final = "Treat NaN like null in every statistic (default false: NaN is a value)."
SkipNanArg = Annotated[SkipNan, Field(description=SKIP_NAN_HELP)]
SORT_HELP: Final = (
    "Sort the aggregated rows by output columns, e.g. "
    f'[{{"column": "AvgPrice", "descending": true}}]; at most {MAX_SORT_KEYS}. '
    "Unsorted rows come in order of each group's first appearance."
)
COLUMNS_HELP: Final = f"Columns to describe; null for all (the first {MAX_SUMMARY_COLUMNS})."


@systems_tool("Summarizing the table")
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
    skip_nan: SkipNanArg = False,
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


@systems_tool("Aggregating the table")
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
    sort: Annotated[Sort, Field(description=SORT_HELP)] = None,
    max_rows: Annotated[
        RowLimit,
        Field(description=f"Rows (groups) to return (default {DEFAULT_TABLE_ROWS}); null for all."),
    ] = DEFAULT_TABLE_ROWS,
    offset: Annotated[
        Offset, Field(description="Rows to skip (paging: pass the answer's next_offset).")
    ] = 0,
    format: Format = "optimize-rendering",
    skip_nan: SkipNanArg = False,
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
