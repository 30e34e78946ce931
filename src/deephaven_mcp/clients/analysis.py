"""Engine-side aggregations, and the column-type helpers the summary shares, in blocking
pydeephaven calls.

The worker does the work with pydeephaven's aggregation API; only one page of aggregated
rows crosses the wire (:mod:`deephaven_mcp.clients.table_summary` does the same for
per-column statistics).

The few engine expressions used here are written by this module from column names that
exist in the table's schema and from constants, never from caller text: ``Col == null``
(a match filter, nothing compiled), ``Col != null``, a NaN-to-null view of a floating
column (``replaceIfNaN(Col, NULL_DOUBLE)``), and ``lowerBin(Col, <nanos>L)`` with a width
from :data:`BINS`. That is why both tools stay available in read-only mode, which refuses
caller expressions.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydeephaven import Session, SortDirection
from pydeephaven import agg as dh_agg
from pydeephaven.table import Table

from deephaven_mcp.clients.community import open_table, release_later
from deephaven_mcp.clients.errors import engine_error
from deephaven_mcp.clients.shaping import (
    FilterItem,
    SortKey,
    check_columns,
    structured_filter,
    validation_problems,
)
from deephaven_mcp.clients.table_data import (
    MAX_RESPONSE_BYTES,
    ShapedSlice,
    count_rows,
    slice_table,
)
from deephaven_mcp.errors import (
    InvalidArgumentError,
)

MAX_GROUP_BY: Final = 16
MAX_AGGREGATIONS: Final = 100
MAX_OUTPUT_NAME: Final = 128

_SECOND: Final = 1_000_000_000
BINS: Final[dict[str, int]] = {
    "1s": _SECOND,
    "1m": 60 * _SECOND,
    "5m": 5 * 60 * _SECOND,
    "15m": 15 * 60 * _SECOND,
    "30m": 30 * 60 * _SECOND,
    "1h": 3600 * _SECOND,
    "1d": 86400 * _SECOND,
}
"""Time-bucket widths in nanoseconds; buckets start at multiples of the width since the
epoch, so they are aligned to UTC (``1d`` buckets start at UTC midnight)."""

AggOp: TypeAlias = Literal[
    "count", "sum", "avg", "min", "max", "first", "last", "std", "var", "median",
    "count_distinct",
]  # fmt: skip
Bin: TypeAlias = Literal["1s", "1m", "5m", "15m", "30m", "1h", "1d"]
Kind: TypeAlias = Literal["numeric", "string", "boolean", "temporal", "other"]

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# Names the engine refuses for columns: Java keywords and literals, and the query
# language's row variables.
_RESERVED: Final = frozenset(
    {*keyword.kwlist, "true", "false", "null", "i", "ii", "k"}
    | {
        "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "const",
        "default", "do", "double", "enum", "extends", "final", "float", "goto", "implements",
        "instanceof", "int", "interface", "long", "native", "new", "package", "private",
        "protected", "public", "short", "static", "strictfp", "super", "switch",
        "synchronized", "this", "throw", "throws", "transient", "void", "volatile",
    }
)  # fmt: skip

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


# -- the request ------------------------------------------------------------------------

ColumnName: TypeAlias = Annotated[str, Field(min_length=1, max_length=256)]
OutputName: TypeAlias = Annotated[str, Field(min_length=1, max_length=MAX_OUTPUT_NAME)]


class Aggregation(BaseModel):
    """One output column: ``{"op": "avg", "column": "Price", "as": "AvgPrice"}``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    op: AggOp
    column: ColumnName | None = Field(
        default=None, description="Input column; count may omit it (then it counts rows)."
    )
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Output column name; default '<column>_<op>' ('Count' for a row count).",
    )

    @property
    def output(self) -> str:
        if self.as_ is not None:
            return self.as_
        return "Count" if self.column is None else f"{self.column}_{self.op}"


class TimeBucket(BaseModel):
    """Group by the start of a fixed-width, UTC-aligned time bucket of a timestamp column."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    column: ColumnName
    bin: Bin
    as_: OutputName | None = Field(
        default=None,
        alias="as",
        description="Name of the bucket column; default '<column>_<bin>'.",
    )

    @property
    def output(self) -> str:
        return self.as_ if self.as_ is not None else f"{self.column}_{self.bin}"


GroupByItem: TypeAlias = ColumnName | TimeBucket

_GROUP_BY: Final = TypeAdapter(list[GroupByItem])
_AGGREGATIONS: Final = TypeAdapter(list[Aggregation])


def _plain(item: object) -> object:
    return item.model_dump(by_alias=True) if isinstance(item, BaseModel) else item


def parse_group_by(raw: Sequence[GroupByItem | dict[str, Any]] | None) -> list[GroupByItem]:
    """Column names and time buckets from JSON-like input, at most MAX_GROUP_BY."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidArgumentError(
            'group_by must be a list of column names or {"column", "bin"} time buckets'
        )
    try:
        items = _GROUP_BY.validate_python([_plain(item) for item in raw])
    except ValidationError as exc:
        raise InvalidArgumentError(
            f"invalid group_by: {validation_problems(exc)}. Each entry is a column name or "
            f'{{"column": <timestamp column>, "bin": one of {", ".join(BINS)}}}'
        ) from None
    if len(items) > MAX_GROUP_BY:
        raise InvalidArgumentError(f"group_by takes at most {MAX_GROUP_BY} entries")
    return items


def parse_aggregations(raw: Sequence[Aggregation | dict[str, Any]] | None) -> list[Aggregation]:
    """Aggregations from JSON-like input: 1..MAX_AGGREGATIONS, each op with what it needs."""
    if raw is None or isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise InvalidArgumentError(
            'aggregations must be a non-empty list of {"op", "column", "as"}, e.g. '
            '[{"op": "avg", "column": "Price", "as": "AvgPrice"}]'
        )
    try:
        items = _AGGREGATIONS.validate_python([_plain(item) for item in raw])
    except ValidationError as exc:
        raise InvalidArgumentError(f"invalid aggregations: {validation_problems(exc)}") from None
    if len(items) > MAX_AGGREGATIONS:
        raise InvalidArgumentError(f"aggregations takes at most {MAX_AGGREGATIONS} entries")
    for item in items:
        if item.column is None and item.op != "count":
            raise InvalidArgumentError(f"aggregation op '{item.op}' needs a column")
    return items


def check_output_names(
    group_by: Sequence[GroupByItem], aggregations: Sequence[Aggregation]
) -> None:
    """Every output column name is usable and appears once (no schema needed)."""
    seen: set[str] = set()
    for item in group_by:
        if isinstance(item, TimeBucket):
            name = item.output
            _check_new_name(name, "time bucket")
        else:
            name = item  # an existing column: checked against the schema later
        if name in seen:
            raise InvalidArgumentError(f"group_by names the column '{name}' more than once")
        seen.add(name)
    for aggregation in aggregations:
        name = aggregation.output
        _check_new_name(name, "aggregation")
        if name in seen:
            raise InvalidArgumentError(
                f"output column '{name}' appears twice (group_by columns and aggregation 'as' "
                "names must all differ); give the aggregation a different 'as'"
            )
        seen.add(name)


def _check_new_name(name: str, where: str) -> None:
    if not _IDENTIFIER.match(name) or len(name) > MAX_OUTPUT_NAME:
        raise InvalidArgumentError(
            f"{where} output name {name[:MAX_OUTPUT_NAME]!r} is not a valid column name: use "
            f"letters, digits, '_' and '$', not starting with a digit, at most "
            f"{MAX_OUTPUT_NAME} characters"
        )
    if name in _RESERVED:
        raise InvalidArgumentError(f"{where} output name '{name}' is a reserved word")


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
    if not _IDENTIFIER.match(name):
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
    shaped = ShapedSlice.model_construct(
        table_name=table_name,
        format=piece.format,
        schema_=piece.schema_,
        row_count=piece.row_count,
        is_complete=offset == 0 and piece.row_count >= total,
        data=piece.data,
        total_rows=total,
        next_offset=stop if stop < total else None,
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
    )
    return AggregatedPage(page=shaped, source_rows=source_rows)
