"""Engine-side aggregations, and the column-type helpers the summary shares, in blocking
pydeephaven calls.

The worker does the work with pydeephaven's aggregation API; only one page of aggregated
rows crosses the wire (:mod:`deephaven_mcp.clients.table_summary` does the same for
per-column statistics).

The few engine expressions used here are written by this module from column names that
exist in the table's schema and from constants, never from caller text: ``Col == null``
(a match filter, nothing compiled), ``Col != null``, a NaN-to-null view of a floating
column (``replaceIfNaN(Col, NULL_DOUBLE)``), and ``lowerBin(Col, <nanos>L)`` with a width
from :data:`~deephaven_mcp.clients.analysis_spec.BINS`. That is why both tools stay
available in read-only mode, which refuses caller expressions. The requests themselves are
modelled and checked in :mod:`deephaven_mcp.clients.analysis_spec`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import pyarrow as pa
from pydeephaven import Session, SortDirection
from pydeephaven import agg as dh_agg
from pydeephaven.table import Table

from deephaven_mcp.clients.analysis_spec import (
    BINS,
    IDENTIFIER,
    Aggregation,
    GroupByItem,
    TimeBucket,
    check_output_names,
)
from deephaven_mcp.clients.community import open_table, release_later
from deephaven_mcp.clients.errors import engine_error
from deephaven_mcp.clients.shaping import check_columns, structured_filter
from deephaven_mcp.clients.shaping_spec import FilterItem, SortKey
from deephaven_mcp.clients.table_data import (
    MAX_RESPONSE_BYTES,
    count_rows,
    slice_table,
)
from deephaven_mcp.clients.table_spec import ShapedSlice
from deephaven_mcp.errors import InvalidArgumentError

Kind: TypeAlias = Literal["numeric", "string", "boolean", "temporal", "other"]

_NUMERIC_TYPES: Final = frozenset({"byte", "short", "int", "long", "float", "double"})
FLOATING_TYPES: Final = frozenset({"float", "double"})
_STRING_TYPES: Final = frozenset({"java.lang.String", "char"})
_TIMESTAMP_TYPES: Final = frozenset({"java.time.Instant", "java.time.ZonedDateTime"})
_TEMPORAL_TYPES: Final = _TIMESTAMP_TYPES | {"java.time.LocalDate", "java.time.LocalTime"}
_DEEPHAVEN_TYPE: Final = b"deephaven:type"

# pydeephaven's aggregation for each op that reads one column ("count" is special).
_COLUMN_AGGREGATIONS: Final[dict[str, Callable[[str], dh_agg.Aggregation]]] = {
    "sum": dh_agg.sum_,
    "avg": dh_agg.avg,
    "min": dh_agg.min_,
    "max": dh_agg.max_,
    "first": dh_agg.first,
    "last": dh_agg.last,
    "std": dh_agg.std,
    "var": dh_agg.var,
    "median": dh_agg.median,
    "count_distinct": dh_agg.count_distinct,
}
_NUMERIC_OPS: Final = frozenset({"sum", "avg", "std", "var", "median"})
_COMPARING_OPS: Final = frozenset({"min", "max", "count_distinct"})


# -- column types ------------------------------------------------------------------------


def deephaven_type(column: pa.Field) -> str:
    """The column's Deephaven type name (``double``, ``java.lang.String``, ...)."""
    metadata = column.metadata or {}
    if _DEEPHAVEN_TYPE in metadata:
        return str(metadata[_DEEPHAVEN_TYPE].decode())
    return _type_from_arrow(column.type)


def _type_from_arrow(arrow_type: pa.DataType) -> str:
    """A Deephaven type for an Arrow type, for schemas without Deephaven metadata."""
    simple = {
        pa.int8(): "byte",
        pa.int16(): "short",
        pa.int32(): "int",
        pa.int64(): "long",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.uint16(): "char",
        pa.bool_(): "java.lang.Boolean",
        pa.string(): "java.lang.String",
        pa.large_string(): "java.lang.String",
    }
    if arrow_type in simple:
        return simple[arrow_type]
    if pa.types.is_timestamp(arrow_type):
        return "java.time.Instant"
    return str(arrow_type)


def _shown_type(column: pa.Field) -> str:
    """The type for messages: ``String`` rather than ``java.lang.String``."""
    return deephaven_type(column).rsplit(".", 1)[-1]


def column_kind(column: pa.Field) -> Kind:
    """How a column is summarized and which aggregations accept it."""
    name = deephaven_type(column)
    if name in _NUMERIC_TYPES:
        return "numeric"
    if name in _STRING_TYPES:
        return "string"
    if name == "java.lang.Boolean":
        return "boolean"
    if name in _TEMPORAL_TYPES:
        return "temporal"
    return "other"


def field_of(schema: pa.Schema, name: str) -> pa.Field:
    check_columns(schema, [name])  # the shared "unknown column" message
    return schema.field(name)


def expression_name(name: str) -> str:
    """``name`` for use inside an engine expression; Deephaven names are identifiers."""
    if not IDENTIFIER.match(name):
        raise InvalidArgumentError(f"column '{name}' cannot be used here (not an identifier)")
    return name


def fresh_name(base: str, taken: set[str]) -> str:
    name, suffix = base, 0
    while name in taken:
        suffix += 1
        name = f"{base}_{suffix}"
    taken.add(name)
    return name


# -- aggregate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregatePlan:
    """What to ask the engine for: bucket columns, grouping keys, aggregations, outputs."""

    formulas: list[str]
    by: list[str]
    aggregations: list[dh_agg.Aggregation]
    outputs: list[str]


def plan_aggregate(
    schema: pa.Schema, group_by: Sequence[GroupByItem], aggregations: Sequence[Aggregation]
) -> AggregatePlan:
    """Check the request against ``schema`` and build the pydeephaven calls (no round trip)."""
    check_output_names(group_by, aggregations)
    taken = set(schema.names)
    formulas: list[str] = []
    by: list[str] = []
    for item in group_by:
        if isinstance(item, TimeBucket):
            column = field_of(schema, item.column)
            if deephaven_type(column) not in _TIMESTAMP_TYPES:
                raise InvalidArgumentError(
                    f"a time bucket needs a timestamp column; '{item.column}' is "
                    f"{_shown_type(column)}"
                )
            if item.output in taken:
                raise InvalidArgumentError(
                    f"time bucket name '{item.output}' is already a column of the table; "
                    "choose another with 'as'"
                )
            source = expression_name(item.column)
            formulas.append(f"{item.output} = lowerBin({source}, {BINS[item.bin]}L)")
            by.append(item.output)
        else:
            column = field_of(schema, item)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                raise InvalidArgumentError(f"cannot group by the array column '{item}'")
            by.append(item)
    built = [_aggregation(schema, item) for item in aggregations]
    outputs = [*by, *(item.output for item in aggregations)]
    return AggregatePlan(formulas=formulas, by=by, aggregations=built, outputs=outputs)


def _aggregation(schema: pa.Schema, item: Aggregation) -> dh_agg.Aggregation:
    out = item.output
    if item.column is None:
        return dh_agg.count_(out)
    column = field_of(schema, item.column)
    kind = column_kind(column)
    if item.op in _NUMERIC_OPS and kind != "numeric":
        raise InvalidArgumentError(
            f"'{item.op}' needs a numeric column; '{item.column}' is {_shown_type(column)}"
        )
    if item.op in _COMPARING_OPS and kind == "other":
        raise InvalidArgumentError(
            f"'{item.op}' cannot compare values of '{item.column}' ({_shown_type(column)})"
        )
    if item.op == "count":
        return dh_agg.count_where(out, f"{expression_name(item.column)} != null")
    return _COLUMN_AGGREGATIONS[item.op](f"{out}={item.column}")


def check_sort(outputs: Sequence[str], sort: Sequence[SortKey]) -> list[SortKey]:
    """Sort keys name output columns of the aggregation."""
    for key in sort:
        if key.column not in outputs:
            raise InvalidArgumentError(
                f"cannot sort by '{key.column}': the aggregated columns are {', '.join(outputs)}"
            )
    return list(sort)


@dataclass(frozen=True)
class AggregatedPage:
    """A page of aggregated rows, and how many source rows went into them."""

    page: ShapedSlice
    source_rows: int


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def aggregate_table(
    session: Session,
    table_name: str,
    *,
    group_by: Sequence[GroupByItem],
    aggregations: Sequence[Aggregation],
    filters: Sequence[FilterItem],
    sort: Sequence[SortKey],
    max_rows: int | None,
    offset: int,
    fmt: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> AggregatedPage:
    """Filter, bucket, aggregate and sort on the worker in one batch; fetch one page.

    Blocking: run it through ``ManagedSession.run``. Everything is validated against the
    table's schema before the batch is sent.
    """
    label = f"'{table_name}'"
    table = open_table(session, table_name)
    made: list[Table] = []
    try:
        schema: pa.Schema = table.schema
        plan = plan_aggregate(schema, group_by, aggregations)
        keys = check_sort(plan.outputs, sort)
        condition = structured_filter(schema, filters)
        try:
            source = table
            if condition is not None:
                source = table.where(condition)
                made.append(source)
            source_rows = count_rows(source)
            query = session.query(source)
            if plan.formulas:
                query = query.update_view(plan.formulas)
            query = query.agg_by(plan.aggregations, by=plan.by)
            if keys:
                directions = [
                    SortDirection.DESCENDING if key.descending else SortDirection.ASCENDING
                    for key in keys
                ]
                query = query.sort([key.column for key in keys], directions)
            result = query.exec()
            made.append(result)
            snapshot_time = utc_now()
            total = count_rows(result)
        except Exception as exc:
            raise engine_error(exc, f"aggregate table {label}") from exc
        end = total if max_rows is None else min(total, offset + max_rows)
        page = result
        if offset > 0 or end < total:
            try:
                page = result.slice(offset, max(offset, end))
            except Exception as exc:
                raise engine_error(exc, f"page the aggregation of {label}") from exc
            made.append(page)
        piece = slice_table(page, label, max_rows=None, head=True, fmt=fmt, max_bytes=max_bytes)
        refreshing = bool(table.is_refreshing)
    finally:
        release_later(session, table, *made)
    stop = offset + piece.row_count
    shaped = piece.extended(
        ShapedSlice,
        table_name=table_name,
        is_complete=offset == 0 and piece.row_count >= total,
        total_rows=total,
        next_offset=stop if stop < total else None,
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
    )
    return AggregatedPage(page=shaped, source_rows=source_rows)
