"""Engine-side aggregations, and the column-type helpers the summary shares, in blocking
pydeephaven calls.

The worker does the work with pydeephaven's aggregation API; only one page of aggregated
rows crosses the wire (:mod:`deephaven_mcp.clients.table_summary` does the same for
per-column statistics).

The engine expressions used here are written by this module from column names that exist
in the table's schema, names it makes up for its own helper columns, and constants, never
from caller text: ``Col == null`` / ``Col != null``, ``isNaN(Col) || isInf(Col)``, a
NaN-to-null view of a floating column (``replaceIfNaN(Col, (double) null)``), ``(double) Col``,
``Math.floorDiv``/``floorMod`` splits of a long column, a time bucket's start computed in
long nanoseconds from ``Col.getEpochSecond()`` and ``Col.getNano()`` with a width parsed from
a validated ``<N>s|m|h|d`` (:func:`bucket_formulas`), counts made ``0L``, and the overflow
tests and nulling built from those. That is why both tools stay available in read-only mode,
which refuses caller expressions. Nulls are written as typed casts (``(double) null``), never
as ``NULL_DOUBLE``: a Python worker resolves names through its globals first, and a script
(or the demo tables) may have bound ``NULL_DOUBLE`` there.

The NaN rule, the same in both tools: NaN is a value. Any NaN among a group's values makes
its sum, avg, min, max, std, var and median (the summary's min, max, mean, std) NaN, as the
engine computes them; ``count`` of a column counts NaN, ``count_distinct`` counts it as one
value. ``skip_nan`` treats NaN like null for every statistic (``first``/``last`` then show
null for a NaN). The overflow rule: a floating statistic that comes back NaN or infinite
although the values it read were all finite, and a long sum that wrapped around, is null in
the answer and named in a note; avg of a long column and median of an integer column are
computed from a double view of the column, so they do not wrap. Without group_by the answer
is always one row, also over no rows: counts 0, every other statistic null (as in SQL). The
requests themselves are modelled and checked in :mod:`deephaven_mcp.model.analysis`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

import pyarrow as pa
from pydeephaven import Session
from pydeephaven import agg as dh_agg
from pydeephaven.table import Table

from deephaven_mcp.clients.community import open_table, release_later
from deephaven_mcp.clients.errors import engine_error
from deephaven_mcp.clients.shaping import check_columns, filtered, sort_arguments, structured_filter
from deephaven_mcp.clients.table_data import (
    count_rows,
    slice_table,
    utc_now,
)
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.analysis import (
    Aggregation,
    GroupByItem,
    TimeBucket,
    check_output_names,
    expression_name,
)
from deephaven_mcp.model.requests import AggregateRead
from deephaven_mcp.model.shaping import SortKey
from deephaven_mcp.model.table import ShapedSlice

Kind: TypeAlias = Literal["numeric", "string", "boolean", "temporal", "other"]

_INTEGER_TYPES: Final = frozenset({"byte", "short", "int", "long"})
_NUMERIC_TYPES: Final = _INTEGER_TYPES | {"float", "double"}
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
    """The field ``name`` of ``schema``; an unknown name is refused as everywhere else."""
    check_columns(schema, [name])  # the shared "unknown column" message
    return schema.field(name)


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first not in ``taken``."""
    name, suffix = base, 0
    while name in taken:
        suffix += 1
        name = f"{base}_{suffix}"
    taken.add(name)
    return name


# -- aggregate ---------------------------------------------------------------------------

TWO_POW_32: Final = "4294967296L"
LONG_MIN: Final = -(2**63)
_NANOS_PER_SECOND: Final = 1_000_000_000
# The Instants a long of nanoseconds holds, Long.MIN + 1 (Long.MIN is null) to Long.MAX, as
# (epoch second, nano) bounds: the engine's epochNanos() refuses the last fraction of a second
# at either end, so the bucket formula reads the two parts instead.
_LOWEST_SECOND, _LOWEST_NANO = divmod(LONG_MIN + 1, _NANOS_PER_SECOND)
_HIGHEST_SECOND, _HIGHEST_NANO = divmod(2**63 - 1, _NANOS_PER_SECOND)
# The engine converts an Instant it computed to nanoseconds only when its epoch second is
# within +-(Long.MAX / 10^9 - 1) (epochNanos() refuses the rest), so a bucket start must be too.
_LOWEST_START: Final = -(2**63 // _NANOS_PER_SECOND) * _NANOS_PER_SECOND
_HIGHEST_START: Final = (2**63 // _NANOS_PER_SECOND) * _NANOS_PER_SECOND - 1
BUCKET_RANGE: Final = "1677-09-21T00:12:44Z..2262-04-11T23:47:15.999999999Z"


def bucket_formulas(source: str, type_name: str, nanos: int, view: str, output: str) -> list[str]:
    """``view``: ``source`` in long nanoseconds since the epoch (null outside the range a long
    holds); ``output``: the start of its ``nanos``-wide, epoch-aligned bucket, null when the
    engine cannot hold that start (:data:`BUCKET_RANGE`). Exact at both ends of the range,
    where the engine's ``lowerBin`` fails (epochNanos refuses the last fraction of a second)
    or wraps around to the other end."""
    zoned = type_name == "java.time.ZonedDateTime"
    instant = f"{source}.toInstant()" if zoned else source
    second, nano = f"{instant}.getEpochSecond()", f"{instant}.getNano()"
    in_range = (
        f"({second} > {_LOWEST_SECOND}L || {second} == {_LOWEST_SECOND}L && "
        f"{nano} >= {_LOWEST_NANO}) && ({second} < {_HIGHEST_SECOND}L || "
        f"{second} == {_HIGHEST_SECOND}L && {nano} <= {_HIGHEST_NANO})"
    )
    # Below zero, (second + 1) * 10^9 still fits where second * 10^9 would not.
    epoch_nanos = (
        f"({second} < 0L ? ({second} + 1L) * {_NANOS_PER_SECOND}L + ({nano} - "
        f"{_NANOS_PER_SECOND}L) : {second} * {_NANOS_PER_SECOND}L + {nano})"
    )
    # The first and last bucket starts the engine holds (widths are whole seconds).
    lowest_start = -(-_LOWEST_START // nanos) * nanos
    highest_start = _HIGHEST_START // nanos * nanos
    start = f"{view} - floorMod({view}, {nanos}L)"
    if zoned:
        typed_null = "(java.time.ZonedDateTime) null"
        bucket = f"epochNanosToZonedDateTime({start}, {source}.getZone())"
    else:
        typed_null = "(java.time.Instant) null"
        bucket = f"epochNanosToInstant({start})"
    return [
        f"{view} = isNull({source}) || !({in_range}) ? (long) null : {epoch_nanos}",
        f"{output} = isNull({view}) || {view} < {lowest_start}L || "
        f"{view} - floorMod({view}, {nanos}L) > {highest_start}L ? {typed_null} : {bucket}",
    ]


def _count_where(condition: str) -> Callable[[str], dh_agg.Aggregation]:
    return lambda name: dh_agg.count_where(name, condition)


@dataclass(frozen=True)
class Unbucketed:
    """Rows with a timestamp but no bucket, counted per group in a hidden ``helper``."""

    output: str
    helper: str
    width: str


def unbucketed_note(output: str, rows: int, width: str) -> str:
    """The note for ``rows`` rows whose ``width`` time bucket the engine cannot compute."""
    plural = "row" if rows == 1 else "rows"
    return (
        f"{output}: {rows} {plural} fell in no bucket, shown as a null {output}: their "
        f"{width} bucket would start outside the instants the engine computes with "
        f"({BUCKET_RANGE})"
    )


def nonfinite_test(values: str) -> str:
    """A filter true for NaN and infinite values of a floating column (null is neither)."""
    return f"isNaN({values}) || isInf({values})"


def overflow_note(output: str, groups: int, arithmetic: str) -> str:
    """The note for a statistic the engine's arithmetic could not hold."""
    plural = "group" if groups == 1 else "groups"
    return (
        f"{output}: {groups} {plural} overflowed {arithmetic} arithmetic in the engine; "
        "shown as null"
    )


@dataclass(frozen=True)
class OverflowCheck:
    """An output that is nulled where ``condition`` holds: the engine overflowed there."""

    output: str
    condition: str
    null: str  # the null literal of the output's type
    arithmetic: str  # "double", "float" or "long", for the note


@dataclass
class Views:
    """Columns derived before aggregating, one per source column and purpose."""

    taken: set[str]
    formulas: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    aggregations: list[dh_agg.Aggregation] = field(default_factory=list)
    _made: dict[tuple[str, str], str] = field(default_factory=dict)

    def view(self, purpose: str, column: str, formula: str) -> str:
        """A view column ``<column>_<purpose> = formula`` (``formula`` names it ``{}``)."""
        key = (purpose, column)
        if key not in self._made:
            name = fresh_name(f"{column}_{purpose}", self.taken)
            self.formulas.append(f"{name} = {formula}")
            self._made[key] = name
        return self._made[key]

    def helper(self, purpose: str, column: str, make: Callable[[str], dh_agg.Aggregation]) -> str:
        """A hidden aggregated column, dropped before the rows are paged."""
        key = (f"agg:{purpose}", column)
        if key not in self._made:
            name = fresh_name(f"{column}_{purpose}", self.taken)
            self.aggregations.append(make(name))
            self.helpers.append(name)
            self._made[key] = name
        return self._made[key]


def values_column(views: Views, column: pa.Field, skip_nan: bool) -> str:
    """The column the statistics of ``column`` read: a view in which NaN is null when
    ``skip_nan`` (floating columns only), else the column itself."""
    name = expression_name(column.name)
    type_name = deephaven_type(column)
    if not skip_nan or type_name not in FLOATING_TYPES:
        return name
    cast = "(float) " if type_name == "float" else ""  # a null double casts to a null float
    return views.view("NoNaN", name, f"{cast}replaceIfNaN({name}, (double) null)")


@dataclass(frozen=True)
class AggregatePlan:
    """What to ask the engine for: bucket and value views, grouping keys, aggregations
    (with hidden helpers), the overflow checks and fixes applied afterwards, and outputs."""

    formulas: list[str]
    by: list[str]
    aggregations: list[dh_agg.Aggregation]
    outputs: list[str]
    checks: list[OverflowCheck] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)  # 0, not null, over no rows
    unbucketed: list[Unbucketed] = field(default_factory=list)


def plan_aggregate(
    schema: pa.Schema,
    group_by: Sequence[GroupByItem],
    aggregations: Sequence[Aggregation],
    skip_nan: bool = False,
) -> AggregatePlan:
    """Check the request against ``schema`` and build the pydeephaven calls (no round trip).

    NaN is a value unless ``skip_nan``: any NaN among a group's values makes its sum, avg,
    min, max, std, var and median NaN, as the engine computes them; ``count`` of a column
    counts it, ``count_distinct`` counts it as one value. With ``skip_nan`` every statistic
    reads a view of the column in which NaN is null. A floating statistic that comes back
    NaN or infinite from finite inputs, and a long sum that wrapped around, are nulled and
    noted (:class:`OverflowCheck`). Avg of long and median of integer columns read a double
    view of the column: in the column's own type the engine's sum or middle-value average
    wraps around.
    """
    check_output_names(group_by, aggregations)
    outputs_wanted = [item.output for item in aggregations]
    views = Views(taken=set(schema.names) | set(outputs_wanted))
    formulas: list[str] = []
    by: list[str] = []
    unbucketed: list[Unbucketed] = []
    bucket_outputs = {item.output for item in group_by if isinstance(item, TimeBucket)}
    views.taken.update(bucket_outputs)
    for item in group_by:
        if isinstance(item, TimeBucket):
            column = field_of(schema, item.column)
            if deephaven_type(column) not in _TIMESTAMP_TYPES:
                raise InvalidArgumentError(
                    f"a time bucket needs a timestamp column; '{item.column}' is "
                    f"{_shown_type(column)}"
                )
            if item.output in schema.names:
                raise InvalidArgumentError(
                    f"time bucket name '{item.output}' is already a column of the table; "
                    "choose another with 'as'"
                )
            source = expression_name(item.column)
            nanos_view = fresh_name(f"{item.column}_Nanos", views.taken)
            formulas += bucket_formulas(
                source, deephaven_type(column), item.nanos, nanos_view, item.output
            )
            condition = f"!isNull({source}) && isNull({item.output})"
            helper = views.helper("Unbucketed", item.output, _count_where(condition))
            unbucketed.append(Unbucketed(item.output, helper, item.bin))
            by.append(item.output)
        else:
            column = field_of(schema, item)
            if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
                raise InvalidArgumentError(f"cannot group by the array column '{item}'")
            by.append(item)
    views.taken.update(by)
    built: list[dh_agg.Aggregation] = []
    checks: list[OverflowCheck] = []
    fixes: list[str] = []
    for wanted in aggregations:
        built.append(_aggregation(schema, wanted, views, skip_nan, checks, fixes))
    outputs = [*by, *outputs_wanted]
    return AggregatePlan(
        formulas=formulas + views.formulas,
        by=by,
        aggregations=built + views.aggregations,
        outputs=outputs,
        checks=checks,
        fixes=fixes,
        helpers=views.helpers,
        counts=[item.output for item in aggregations if item.op in ("count", "count_distinct")],
        unbucketed=unbucketed,
    )


def _aggregation(
    schema: pa.Schema,
    item: Aggregation,
    views: Views,
    skip_nan: bool,
    checks: list[OverflowCheck],
    fixes: list[str],
) -> dh_agg.Aggregation:
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
    type_name = deephaven_type(column)
    values = values_column(views, column, skip_nan)
    if item.op == "count":
        return dh_agg.count_where(out, f"{values} != null")
    if item.op == "count_distinct":
        # The engine leaves NaN out and answers null for a group without values.
        extra = ""
        if type_name in FLOATING_TYPES and not skip_nan:
            nans = views.helper(
                "NaNs", values, lambda name: dh_agg.count_where(name, f"isNaN({values})")
            )
            extra = f" + ({nans} > 0 ? 1L : 0L)"
        fixes.append(f"{out} = (isNull({out}) ? 0L : {out}){extra}")
        return dh_agg.count_distinct(f"{out}={values}")
    enough = ""
    if item.op in ("std", "var"):
        # Sample statistics of fewer than two values are undefined: null, as in the summary
        # (the engine says NaN).
        counted = views.helper(
            "Values", values, lambda name: dh_agg.count_where(name, f"{values} != null")
        )
        fixes.append(f"{out} = {counted} < 2 ? (double) null : {out}")
        enough = f"{counted} > 1 && "
    if type_name in FLOATING_TYPES and item.op in _NUMERIC_OPS:
        bad = views.helper(
            "NonFinite", values, lambda name: dh_agg.count_where(name, nonfinite_test(values))
        )
        floating_result = type_name == "float" and item.op in ("sum", "median")
        checks.append(
            OverflowCheck(
                output=out,
                condition=f"{enough}{bad} == 0 && ({nonfinite_test(out)})",
                null="(float) null" if floating_result else "(double) null",
                arithmetic="float" if floating_result else "double",
            )
        )
    elif type_name in _INTEGER_TYPES and (
        item.op == "median" or (item.op == "avg" and type_name == "long")
    ):
        # The engine averages the middle values (median) or sums (avg of long) in the
        # column's own integer type, which wraps around; in double it cannot.
        values = views.view("Double", values, f"(double) {values}")
    elif type_name == "long" and item.op == "sum":
        high = views.view(
            "High", values, f"isNull({values}) ? (long) null : floorDiv({values}, {TWO_POW_32})"
        )
        low = views.view(
            "Low", values, f"isNull({values}) ? (long) null : floorMod({values}, {TWO_POW_32})"
        )
        high_sum = views.helper("HighSum", high, lambda name: dh_agg.sum_(f"{name}={high}"))
        low_sum = views.helper("LowSum", low, lambda name: dh_agg.sum_(f"{name}={low}"))
        # The exact sum is (HighSum + floor(LowSum / 2^32)) * 2^32 + (LowSum mod 2^32): it
        # fits a long exactly when that first factor fits an int, except -2^63 (factor
        # -2^31, remainder 0), which is Deephaven's null long and so cannot be shown.
        carry = f"({high_sum} + floorDiv({low_sum}, {TWO_POW_32}))"
        null_long = f"({carry} == -2147483648L && floorMod({low_sum}, {TWO_POW_32}) == 0L)"
        checks.append(
            OverflowCheck(
                output=out,
                condition=f"!isNull({high_sum}) && ({carry} < -2147483648L || "
                f"{carry} > 2147483647L || {null_long})",
                null="(long) null",
                arithmetic="long",
            )
        )
    return _COLUMN_AGGREGATIONS[item.op](f"{out}={values}")


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
    """A page of aggregated rows, how many source rows went into them, and notes about
    values the engine could not compute (shown as null)."""

    page: ShapedSlice
    source_rows: int
    notes: list[str] = field(default_factory=list)


def _notes(session: Session, aggregated: Table, plan: AggregatePlan) -> list[str]:
    """How many groups each overflow check nulls and how many rows fell in no time bucket,
    counted on the worker over every group."""
    if not plan.checks and not plan.unbucketed:
        return []
    counted = aggregated.agg_by(
        [
            *(
                dh_agg.count_where(f"Overflow{index}", check.condition)
                for index, check in enumerate(plan.checks)
            ),
            *(
                dh_agg.sum_(f"Unbucketed{index}={item.helper}")
                for index, item in enumerate(plan.unbucketed)
            ),
        ],
        by=[],
    )
    try:
        row = counted.to_arrow().to_pylist()
    finally:
        release_later(session, counted)
    if not row:
        return []
    notes = []
    for index, item in enumerate(plan.unbucketed):
        rows = row[0][f"Unbucketed{index}"] or 0
        if rows:
            notes.append(unbucketed_note(item.output, int(rows), item.width))
    for index, check in enumerate(plan.checks):
        groups = row[0][f"Overflow{index}"] or 0
        if groups:
            notes.append(overflow_note(check.output, int(groups), check.arithmetic))
    return notes


def aggregate_table(session: Session, read: AggregateRead) -> AggregatedPage:
    """Filter, bucket, aggregate and sort on the worker as ``read`` asks; fetch one page.

    Blocking: run it through ``ManagedSession.run``. Everything is validated against the
    table's schema before the first call. Overflowed statistics are counted over all groups
    and nulled on the worker; the helper columns are dropped before paging.
    """
    max_rows, offset = read.max_rows, read.offset
    label = f"'{read.table_name}'"
    table = open_table(session, read.table_name)
    made: list[Table] = []
    try:
        schema: pa.Schema = table.schema
        plan = plan_aggregate(schema, read.group_by, read.aggregations, read.skip_nan)
        keys = check_sort(plan.outputs, read.sort)
        condition = structured_filter(schema, read.filters)
        try:
            source = filtered(table, condition, read.filters, made)
            source_rows = count_rows(source)
            query = session.query(source)
            if plan.formulas:
                query = query.update_view(plan.formulas)
            query = query.agg_by(plan.aggregations, by=plan.by)
            if plan.checks or plan.unbucketed:
                aggregated = query.exec()
                made.append(aggregated)
                notes = _notes(session, aggregated, plan)
                query = session.query(aggregated)
            else:
                notes = []
            nulled = [
                f"{check.output} = ({check.condition}) ? {check.null} : {check.output}"
                for check in plan.checks
            ]
            if nulled or plan.fixes:
                query = query.update_view([*nulled, *plan.fixes])
            if plan.helpers:
                query = query.drop_columns(plan.helpers)
            if not plan.by:
                # One row also over no rows (the engine answers none): joined onto a single
                # empty row, the statistics are null, and the counts are made 0.
                whole = query.exec()
                one = session.empty_table(1)
                made += [whole, one]
                query = session.query(one).natural_join(whole, on=[], joins=plan.outputs)
                if plan.counts:
                    query = query.update_view(
                        [f"{name} = isNull({name}) ? 0L : {name}" for name in plan.counts]
                    )
            if keys:
                query = query.sort(*sort_arguments(keys))
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
        piece = slice_table(
            page,
            label,
            max_rows=None,
            head=True,
            fmt=read.fmt,
            max_bytes=read.max_bytes,
            keep_arrow=read.keep_arrow,
        )
        refreshing = bool(table.is_refreshing)
    finally:
        release_later(session, table, *made)
    stop = offset + piece.row_count
    shaped = piece.extended(
        ShapedSlice,
        table_name=read.table_name,
        is_complete=offset == 0 and piece.row_count >= total,
        total_rows=total,
        next_offset=stop if stop < total else None,
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
    )
    return AggregatedPage(page=shaped, source_rows=source_rows, notes=notes)
