"""Per-column statistics computed by the worker (``session_table_summary``), blocking.

Only a one-row statistics table and the top-k values of a few columns cross the wire. The
engine expressions used are the ones :mod:`deephaven_mcp.clients.analysis` describes:
written here from schema column names, never from caller text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
from pydeephaven import Session, SortDirection
from pydeephaven import agg as dh_agg
from pydeephaven.table import Table

from deephaven_mcp.clients.analysis import (
    FLOATING_TYPES,
    Kind,
    Views,
    column_kind,
    deephaven_type,
    field_of,
    fresh_name,
    nonfinite_test,
    values_column,
)
from deephaven_mcp.clients.community import open_table, release_later
from deephaven_mcp.clients.errors import engine_error
from deephaven_mcp.clients.shaping import check_columns, filtered, structured_filter
from deephaven_mcp.clients.table_data import count_rows, utc_now
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.formatting.spec import JsonValue
from deephaven_mcp.formatting.values import column_values
from deephaven_mcp.model.analysis import MAX_DISTINCT, MAX_SUMMARY_COLUMNS, expression_name
from deephaven_mcp.model.requests import SummaryRead

# -- summary -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryColumn:
    """One summarized column and the names of its statistics in the one-row result."""

    index: int
    name: str
    type: str
    kind: Kind
    floating: bool
    skip_nan: bool

    def key(self, statistic: str) -> str:
        """The result column of ``statistic`` (``Lo``, ``N``, ...) for this column."""
        return f"{statistic}{self.index}"

    @property
    def has_range(self) -> bool:
        """Whether the column gets a min and max (every kind but "other")."""
        return self.kind != "other"

    @property
    def counts_values(self) -> bool:
        """Strings and booleans get a distinct count and their most frequent values."""
        return self.kind in ("string", "boolean")


@dataclass(frozen=True)
class SummaryPlan:
    """The one aggregation of a summary: its columns, helper formulas and aggregations."""

    columns: list[SummaryColumn]
    formulas: list[str]
    aggregations: list[dh_agg.Aggregation]


ROWS_KEY: Final = "Rows"


def plan_summary(schema: pa.Schema, names: Sequence[str], skip_nan: bool = False) -> SummaryPlan:
    """Statistics for ``names`` as one aggregation over the whole (filtered) table.

    The NaN rule of :mod:`deephaven_mcp.clients.analysis`: NaN is a value (min, max, mean
    and std of a column holding one are NaN) unless ``skip_nan``, when floating columns are
    read through a view in which NaN is null. NaN is counted either way. Floating columns
    also count their non-finite values, so that a NaN or infinite mean or std of finite
    values is recognized as an overflow; long columns are averaged in double (a long sum
    wraps around).
    """
    views = Views(taken=set(schema.names))
    columns: list[SummaryColumn] = []
    aggregations: list[dh_agg.Aggregation] = [dh_agg.count_(ROWS_KEY)]
    lows, highs, means, stds = [], [], [], []
    for index, name in enumerate(names):
        column = field_of(schema, name)
        type_name = deephaven_type(column)
        kind = column_kind(column)
        floating = type_name in FLOATING_TYPES
        source = expression_name(name)
        values = values_column(views, column, skip_nan)
        item = SummaryColumn(index, name, type_name, kind, floating, skip_nan)
        columns.append(item)
        aggregations.append(dh_agg.count_where(item.key("N"), f"{source} == null"))
        if floating:
            aggregations.append(dh_agg.count_where(item.key("Q"), f"isNaN({source})"))
            aggregations.append(dh_agg.count_where(item.key("X"), nonfinite_test(values)))
        if item.has_range:
            lows.append(f"{item.key('Lo')}={values}")
            highs.append(f"{item.key('Hi')}={values}")
        if kind == "numeric":
            averaged = values
            if type_name == "long":
                averaged = views.view("Double", values, f"(double) {values}")
            means.append(f"{item.key('Mu')}={averaged}")
            stds.append(f"{item.key('Sd')}={values}")
    for factory, pairs in (
        (dh_agg.min_, lows),
        (dh_agg.max_, highs),
        (dh_agg.avg, means),
        (dh_agg.std, stds),
    ):
        if pairs:
            aggregations.append(factory(pairs))
    return SummaryPlan(columns=columns, formulas=views.formulas, aggregations=aggregations)


@dataclass
class TableStatistics:
    """What ``session_table_summary`` reports, before it becomes a tool answer."""

    row_count: int
    column_count: int
    is_complete: bool
    is_refreshing: bool
    snapshot_time: str
    columns: list[dict[str, JsonValue]] = field(default_factory=list)


class _Row:
    """The one-row statistics table (absent when the table is empty) as JSON values."""

    def __init__(self, arrow: pa.Table):
        self._arrow = arrow

    def get(self, key: str) -> JsonValue:
        if self._arrow.num_rows == 0:
            return None
        index = self._arrow.schema.get_field_index(key)
        return column_values(self._arrow.column(index), self._arrow.schema.field(index))[0]

    def count(self, key: str) -> int:
        value = self.get(key)
        return int(value) if isinstance(value, int) else 0


@dataclass(frozen=True)
class ValueCounts:
    """How many distinct non-null values a column has, and its most frequent ones."""

    distinct: int
    top: list[dict[str, JsonValue]] | None  # None when top_k is 0


def _finite(value: JsonValue) -> bool:
    return not isinstance(value, str)  # NaN and the infinities come as text


def summary_entry(
    item: SummaryColumn, row: _Row, row_count: int, counts: ValueCounts | None
) -> dict[str, JsonValue]:
    """The answer's entry for one column; statistics of no values are null, and so is a
    mean or std the engine overflowed (with a note)."""
    nulls = row.count(item.key("N"))
    nans = row.count(item.key("Q")) if item.floating else 0
    counted = row_count - nulls - (nans if item.skip_nan else 0)
    entry: dict[str, JsonValue] = {
        "name": item.name,
        "type": item.type,
        "kind": item.kind,
        "null_count": nulls,
    }
    if item.floating:
        entry["nan_count"] = nans
    if item.has_range:
        entry["min"] = row.get(item.key("Lo")) if counted else None
        entry["max"] = row.get(item.key("Hi")) if counted else None
    notes: list[JsonValue] = []
    if item.kind == "numeric":
        mean = row.get(item.key("Mu")) if counted else None
        # Sample standard deviation: undefined below two values (the engine says NaN).
        std = row.get(item.key("Sd")) if counted > 1 else None
        all_finite = item.floating and row.count(item.key("X")) == 0
        for statistic, value in (("mean", mean), ("std", std)):
            if all_finite and value is not None and not _finite(value):
                notes.append(
                    f"{statistic} overflowed double arithmetic in the engine (the values are "
                    "finite); shown as null"
                )
                value = None
            entry[statistic] = value
    if item.counts_values:
        distinct = counts.distinct if counts is not None else 0
        entry["distinct_count"] = min(distinct, MAX_DISTINCT)
        entry["distinct_count_capped"] = distinct > MAX_DISTINCT
        if counts is not None and counts.top is not None:
            entry["top_values"] = counts.top  # type: ignore[assignment]  # list of objects is JSON
    if notes:
        entry["notes"] = notes
    return entry


def _value_counts(
    session: Session, source: Table, name: str, top_k: int, has_nulls: bool
) -> ValueCounts:
    """One count per distinct value of ``name``, computed on the worker: the number of groups
    (less the null group, if the column has nulls) is the distinct count, and the ``top_k``
    largest non-null groups, ties in value order, are the most frequent values. Counting the
    whole column and skipping the null group costs less than filtering the nulls out first.
    """
    count = fresh_name("Count", {name})
    null_group = 1 if has_nulls else 0
    counted = source.count_by(count, by=[name])
    made = [counted]
    try:
        groups = count_rows(counted)
        if top_k == 0:
            return ValueCounts(groups - null_group, None)
        head = (
            session.query(counted)
            .sort([count, name], [SortDirection.DESCENDING, SortDirection.ASCENDING])
            .head(top_k + null_group)
            .exec()
        )
        made.append(head)
        arrow = head.to_arrow()
    finally:
        release_later(session, *made)
    index = arrow.schema.get_field_index(name)
    values = column_values(arrow.column(index), arrow.schema.field(index))
    counts = arrow.column(count).to_pylist()
    top: list[dict[str, JsonValue]] = [
        {"value": value, "count": int(n)}
        for value, n in zip(values, counts, strict=True)
        if value is not None
    ]
    return ValueCounts(groups - null_group, top[:top_k])


def summarize_table(session: Session, read: SummaryRead) -> TableStatistics:
    """Per-column statistics of the table ``read`` names, computed by the worker (blocking).

    One batched aggregation gives every count, min, max, mean and std; then one count per
    value of each string or boolean column gives its distinct count and top values.
    """
    label = f"'{read.table_name}'"
    table = open_table(session, read.table_name)
    made: list[Table] = []
    try:
        schema: pa.Schema = table.schema
        if read.columns is not None:
            names = check_columns(schema, read.columns)
            if len(names) > MAX_SUMMARY_COLUMNS:
                raise InvalidArgumentError(
                    f"columns takes at most {MAX_SUMMARY_COLUMNS} names per summary"
                )
        else:
            names = list(schema.names)[:MAX_SUMMARY_COLUMNS]
        plan = plan_summary(schema, names, read.skip_nan)
        condition = structured_filter(schema, read.filters)
        try:
            source = filtered(table, condition, read.filters, made)
            query = session.query(source)
            if plan.formulas:
                query = query.update_view(plan.formulas)
            stats = query.agg_by(plan.aggregations, by=[]).exec()
            made.append(stats)
            snapshot_time = utc_now()
            row = _Row(stats.to_arrow())
            row_count = row.count(ROWS_KEY)
            entries = []
            for item in plan.columns:
                counts = None
                if item.counts_values:
                    counts = (
                        _value_counts(
                            session, source, item.name, read.top_k, row.count(item.key("N")) > 0
                        )
                        if row_count
                        else ValueCounts(0, [] if read.top_k else None)
                    )
                entries.append(summary_entry(item, row, row_count, counts))
        except Exception as exc:
            raise engine_error(exc, f"summarize table {label}") from exc
        refreshing = bool(table.is_refreshing)
    finally:
        release_later(session, table, *made)
    return TableStatistics(
        row_count=row_count,
        column_count=len(schema.names),
        is_complete=read.columns is not None or len(names) == len(schema.names),
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
        columns=entries,
    )
