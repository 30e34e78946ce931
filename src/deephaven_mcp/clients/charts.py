"""The rows a chart draws, cut on the worker before anything is fetched (blocking).

:func:`chart_rows` shapes the table like a read (structured filters and sort, see
:mod:`deephaven_mcp.clients.shaping`), takes a snapshot of a ticking table so every step
sees the same rows, and then fetches at most ``max_points`` rows: when there are more it
keeps every k-th row (``k = ceil(rows / max_points)``) with a row-position helper column;
with ``by``, every k-th row of each series (a per-group count), so no series is lost to a
stride that matches how the series interleave.
A histogram fetches no rows at all: the worker finds the range of ``x``, bins it and counts
each bin (with ``by``, per value). The only formulas the engine compiles are written here
from schema names and exact number texts, never from the caller's text, so a chart is
allowed in read-only mode like a read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import pyarrow as pa
from pydeephaven import agg
from pydeephaven.table import Table
from pydeephaven.updateby import cum_sum

from deephaven_mcp.clients.community import open_table, release_later
from deephaven_mcp.clients.errors import engine_error
from deephaven_mcp.clients.shaping import apply_shaping
from deephaven_mcp.clients.table_data import count_rows
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.requests import MAX_CHART_SERIES, ChartRead

ROW_HELPER: Final = "__dh_mcp_row"
BIN_HELPER: Final = "__dh_mcp_bin"
COUNT_COLUMN: Final = "Count"
MAX_BINS: Final = 50
MAX_LISTED_COLUMNS: Final = 50


@dataclass(frozen=True)
class ChartRows:
    """What the renderer draws: ``rows`` holds ``x``, the ``y`` columns and ``by`` (or, for a
    histogram, ``by``, the bin number and its row count), ``total_rows`` the rows after
    filtering, ``step`` the sampling stride (1: every row)."""

    rows: pa.Table
    total_rows: int
    step: int
    x_type: pa.DataType
    bin_start: float = 0.0
    bin_width: float = 0.0
    bins: int = 0


def is_numeric(type_: pa.DataType) -> bool:
    """Numbers the renderer can place on an axis (booleans and chars are not)."""
    return bool(
        pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)
    )


def is_time(type_: pa.DataType) -> bool:
    """Instants, zoned times and dates: drawn on a date axis."""
    return bool(pa.types.is_timestamp(type_) or pa.types.is_date(type_))


def _column_type(schema: pa.Schema, table_name: str, column: str) -> pa.DataType:
    index = schema.get_field_index(column)
    if index < 0:
        names = list(schema.names)
        shown = ", ".join(names[:MAX_LISTED_COLUMNS])
        more = f" (and {len(names) - MAX_LISTED_COLUMNS} more)" if len(names) > 50 else ""
        raise InvalidArgumentError(
            f"column '{column}' is not in table '{table_name}'; its columns are: {shown}{more}"
        )
    return schema.field(index).type


def check_chart_columns(schema: pa.Schema, read: ChartRead) -> pa.DataType:
    """Refuse unknown columns and types the chart cannot draw; return the type of ``x``."""
    x_type = _column_type(schema, read.table_name, read.x)
    for column in read.y:
        y_type = _column_type(schema, read.table_name, column)
        if not is_numeric(y_type):
            raise InvalidArgumentError(
                f"y column '{column}' is {y_type}, not numeric: a {read.kind} chart draws "
                "numbers on its y axis"
            )
    if read.by is not None:
        _column_type(schema, read.table_name, read.by)
    if read.kind == "histogram" and not is_numeric(x_type):
        raise InvalidArgumentError(
            f"x column '{read.x}' is {x_type}, not numeric: a histogram bins numbers"
        )
    if read.kind in ("line", "scatter", "area") and not (is_numeric(x_type) or is_time(x_type)):
        raise InvalidArgumentError(
            f"x column '{read.x}' is {x_type}: a {read.kind} chart takes a numeric or time x "
            "(use kind 'bar' for categories)"
        )
    return x_type


def _series_count(table: Table, read: ChartRead, made: list[Table]) -> int:
    """The number of ``by`` values (1 without ``by``); refuse a chart of more than
    MAX_CHART_SERIES series before fetching its rows."""
    lines = max(1, len(read.y))
    if read.by is None:
        if lines > MAX_CHART_SERIES:
            raise InvalidArgumentError(f"at most {MAX_CHART_SERIES} y columns, not {lines}")
        return 1
    made.append(table.select_distinct([read.by]))
    values = count_rows(made[-1])
    if values * lines > MAX_CHART_SERIES:
        raise InvalidArgumentError(
            f"'{read.by}' has {values} distinct values, times {lines} y column(s) makes "
            f"{values * lines} series; a chart holds at most {MAX_CHART_SERIES}: filter the "
            "table first or choose a column with fewer values"
        )
    return values


def _sampled(
    table: Table, total: int, groups: int, read: ChartRead, made: list[Table]
) -> tuple[Table, int]:
    """``table`` cut to at most ``max_points`` rows, and the stride k.

    Every k-th row; with ``by``, every k-th row of each group (counted per group by the
    engine's update_by), so a stride that matches the groups' interleaving cannot drop a
    series. A group's first row is kept, so k leaves room for one extra row per group.
    """
    room = read.max_points - groups if read.by and read.max_points > groups else read.max_points
    step = max(1, math.ceil(total / room))
    wanted = list(dict.fromkeys([read.x, *read.y, *([read.by] if read.by else [])]))
    if step > 1:
        if read.by:
            made.append(table.update_view([f"{ROW_HELPER} = 1L"]))
            made.append(made[-1].update_by(cum_sum([ROW_HELPER]), by=[read.by]))
            made.append(made[-1].where(f"({ROW_HELPER} - 1) % {step} == 0"))
        else:
            made.append(table.update_view([f"{ROW_HELPER} = ii"]))
            made.append(made[-1].where(f"{ROW_HELPER} % {step} == 0"))
        table = made[-1]
    made.append(table.view(wanted))
    if read.by and step > 1 and read.max_points <= groups:
        made.append(made[-1].head(read.max_points))  # fewer points than series: a hard cap
    return made[-1], step


def _finite(x: str, type_: pa.DataType) -> str:
    """Rows with a value to bin (a schema name in a fixed formula)."""
    if pa.types.is_floating(type_):
        return f"!isNull({x}) && isFinite({x})"
    return f"!isNull({x})"


def _histogram(table: Table, read: ChartRead, x_type: pa.DataType, made: list[Table]) -> ChartRows:
    """Bin counts of ``x`` computed on the worker (nulls, NaN and infinities left out)."""
    x = read.x
    made.append(table.where(_finite(x, x_type)))
    values = made[-1]
    made.append(values.agg_by([agg.min_(f"Lo={x}"), agg.max_(f"Hi={x}"), agg.count_("N")], []))
    bounds = made[-1].to_arrow()
    counted = int(bounds.column("N")[0].as_py() or 0)
    low = bounds.column("Lo")[0].as_py()
    high = bounds.column("Hi")[0].as_py()
    keys = [read.by] if read.by else []
    if counted == 0 or low is None or high is None:
        empty = pa.table(
            {BIN_HELPER: pa.array([], pa.int32()), COUNT_COLUMN: pa.array([], pa.int64())}
        )
        return ChartRows(empty, counted, 1, x_type, 0.0, 1.0, 0)
    low, high = float(low), float(high)
    bins = max(1, min(MAX_BINS, math.ceil(math.sqrt(counted))))
    width = (high - low) / bins if high > low else 1.0
    if high == low:
        bins = 1
    # The engine's own min and floor (java.lang.Math is not what the formula sees).
    formula = (
        f"{BIN_HELPER} = (int) min({float(bins - 1)!r}, "
        f"floor(((double) {x} - ({low!r})) / {width!r}))"
    )
    made.append(values.update_view([formula]))
    made.append(made[-1].count_by(COUNT_COLUMN, [*keys, BIN_HELPER]))
    rows = made[-1].to_arrow()
    return ChartRows(rows, counted, 1, x_type, low, width, bins)


def chart_rows(session: object, read: ChartRead) -> ChartRows:
    """The rows ``read`` draws, shaped, checked and cut on the worker (blocking)."""
    label = f"'{read.table_name}'"
    table = open_table(session, read.table_name)  # type: ignore[arg-type]
    made: list[Table] = []
    try:
        x_type = check_chart_columns(table.schema, read)
        try:
            shaped = apply_shaping(table, filters=read.filters, sort=read.sort)
            if shaped is not table:
                made.append(shaped)
            if table.is_refreshing:
                # One snapshot: the count, the sample and the series agree, and ii is allowed.
                made.append(shaped.snapshot())
                shaped = made[-1]
            total = count_rows(shaped)
            groups = _series_count(shaped, read, made)
            if read.kind == "histogram":
                return _histogram(shaped, read, x_type, made)
            cut, step = _sampled(shaped, total, groups, read, made)
            rows = cut.to_arrow()
        except InvalidArgumentError:
            raise
        except Exception as exc:
            raise engine_error(exc, f"chart table {label}") from exc
        return ChartRows(rows, total, step, x_type)
    finally:
        release_later(table.session, table, *made)


__all__ = [
    "ChartRows",
    "chart_rows",
    "check_chart_columns",
    "is_numeric",
    "is_time",
]
