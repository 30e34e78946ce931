"""Request checks of the analysis tools: no worker needed, everything fails before any call."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from deephaven_mcp.clients import analysis
from deephaven_mcp.clients.analysis import check_sort, column_kind, plan_aggregate
from deephaven_mcp.clients.table_summary import plan_summary
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.analysis import (
    MAX_AGGREGATIONS,
    MAX_GROUP_BY,
    MAX_TOP_K,
    Aggregation,
    TimeBucket,
    TopK,
    bin_nanos,
    check_output_names,
    parse_aggregations,
    parse_group_by,
)
from deephaven_mcp.model.arguments import check_argument
from deephaven_mcp.model.shaping import SortKey
from deephaven_mcp.systems._analysis import parse_group_by_and_aggregations
from deephaven_mcp.systems._tables import check_offset


def _column(name: str, arrow_type: pa.DataType, deephaven_type: str) -> pa.Field:
    return pa.field(name, arrow_type, metadata={b"deephaven:type": deephaven_type.encode()})


TRADES = pa.schema(
    [
        _column("Timestamp", pa.timestamp("ns", tz="UTC"), "java.time.Instant"),
        _column("Sym", pa.string(), "java.lang.String"),
        _column("Price", pa.float64(), "double"),
        _column("Size", pa.int32(), "int"),
        _column("Flag", pa.bool_(), "java.lang.Boolean"),
        _column("Ids", pa.list_(pa.int32()), "int[]"),
        _column("Day", pa.date64(), "java.time.LocalDate"),
        _column("Amount", pa.binary(), "java.math.BigDecimal"),
    ]
)


def _refused(match: str) -> Any:
    return pytest.raises(InvalidArgumentError, match=match)


# -- parsing -----------------------------------------------------------------------------


def test_aggregations_parse_with_the_as_alias_and_default_names() -> None:
    parsed = parse_aggregations(
        [
            {"op": "avg", "column": "Price", "as": "AvgPrice"},
            {"op": "count"},
            {"op": "count", "column": "Sym"},
            Aggregation(op="max", column="Size"),
        ]
    )
    assert [item.output for item in parsed] == ["AvgPrice", "Count", "Sym_count", "Size_max"]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (None, "^invalid argument aggregations: expected a list, not null$"),
        ([], 'needs at least one aggregation, e.g. \\[{"op": "avg"'),
        ("avg", "aggregations: expected a list, not 'avg'"),
        ([{"op": "mode", "column": "Price"}], r"aggregations\[0\]\.op: expected one of"),
        ([{"op": "avg"}], r"aggregations\[0\]: op 'avg' needs a column, e\.g\."),
        (
            [{"op": "avg", "column": "Price", "formula": "Price * 2"}],
            r"aggregations\[0\]\.formula: is not a known field",
        ),
        ([{"op": "sum", "column": ""}], r"aggregations\[0\]\.column: needs at least 1"),
        ([{"op": "sum", "column": "Price", "as": ""}], r"aggregations\[0\]\.as: needs at least"),
        (
            [{"op": "count"}] * (MAX_AGGREGATIONS + 1),
            f"aggregations: takes at most {MAX_AGGREGATIONS} entries",
        ),
    ],
)
def test_bad_aggregations_are_refused(raw: Any, match: str) -> None:
    with _refused(match):
        parse_aggregations(raw)


def test_group_by_takes_names_and_time_buckets() -> None:
    parsed = parse_group_by(["Sym", {"column": "Timestamp", "bin": "1d"}])
    assert parsed[0] == "Sym"
    assert isinstance(parsed[1], TimeBucket) and parsed[1].output == "Timestamp_1d"
    named = parse_group_by([TimeBucket.model_validate({"column": "T", "bin": "5m", "as": "W"})])
    assert isinstance(named[0], TimeBucket) and named[0].output == "W"
    assert parse_group_by(None) == []


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("Sym", "group_by: expected a list, not 'Sym'"),
        ([{"column": "Timestamp", "bin": "2w"}], r"group_by\[0\]\.bin: '2w' is not a bucket width"),
        ([{"column": "Timestamp", "bin": "0s"}], r"group_by\[0\]\.bin: '0s' is not"),
        ([{"column": "Timestamp", "bin": "367d"}], "wider than 366 days"),
        ([{"column": "Timestamp", "bin": "1d", "formula": "x"}], "formula: is not a known field"),
        ([{"column": "Timestamp"}], r"group_by\[0\]\.bin: is required"),
        ([3], r"group_by\[0\]: expected a column name or a time bucket"),
        ([f"C{i}" for i in range(MAX_GROUP_BY + 1)], f"takes at most {MAX_GROUP_BY} entries"),
    ],
)
def test_bad_group_by_is_refused(raw: Any, match: str) -> None:
    with _refused(match):
        parse_group_by(raw)


def test_any_whole_number_of_seconds_minutes_hours_or_days_is_a_bin() -> None:
    second = 10**9
    assert bin_nanos("1d") == 86_400 * second and bin_nanos("15m") == 900 * second
    assert bin_nanos("90s") == 90 * second and bin_nanos("2h") == 7200 * second
    assert bin_nanos("366d") == 366 * 86_400 * second
    (bucket,) = parse_group_by([{"column": "T", "bin": "7d"}])
    assert isinstance(bucket, TimeBucket) and bucket.nanos == 7 * 86_400 * second
    with _refused("not of the form"):
        bin_nanos("1.5h")


@pytest.mark.parametrize(
    ("group_by", "aggregations", "match"),
    [
        ([], [{"op": "avg", "column": "Price"}] * 2, "'Price_avg' appears twice"),
        (["Sym"], [{"op": "max", "column": "Price", "as": "Sym"}], "'Sym' appears twice"),
        (["Sym", "Sym"], [{"op": "count"}], "more than once"),
        (
            [{"column": "Timestamp", "bin": "1d", "as": "Day1"}],
            [{"op": "count", "as": "Day1"}],
            "'Day1' appears twice",
        ),
        ([], [{"op": "sum", "column": "Size", "as": "1st"}], "not a valid column name"),
        ([], [{"op": "sum", "column": "Size", "as": "Total Size"}], "not a valid column name"),
        ([], [{"op": "sum", "column": "Size", "as": "a=b"}], "not a valid column name"),
        # "$" in a pattern also matches before a final newline: the whole name must fit.
        ([], [{"op": "sum", "column": "Size", "as": "Total\n"}], "not a valid column name"),
        ([{"column": "T", "bin": "1h", "as": "B\n"}], [{"op": "count"}], "not a valid column"),
        ([], [{"op": "sum", "column": "Size", "as": "class"}], "reserved word"),
        ([], [{"op": "count", "as": "i"}], "reserved word"),
        ([{"column": "Timestamp", "bin": "1h", "as": "x;y"}], [{"op": "count"}], "not a valid"),
    ],
)
def test_output_names_are_identifiers_and_unique(
    group_by: list[Any], aggregations: list[dict[str, Any]], match: str
) -> None:
    with _refused(match):
        parse_group_by_and_aggregations(group_by, aggregations)


def test_top_k_and_offset_are_bounded() -> None:
    assert check_argument("top_k", TopK, 0) == 0
    assert check_argument("top_k", TopK, MAX_TOP_K) == MAX_TOP_K
    for bad in (-1, MAX_TOP_K + 1, True, 2.0):
        with _refused("top_k"):
            check_argument("top_k", TopK, bad)
    check_offset(0)
    with _refused("offset"):
        check_offset(-1)


# -- checks against the schema ------------------------------------------------------------


def _plan(group_by: list[Any], aggregations: list[dict[str, Any]]) -> analysis.AggregatePlan:
    keys, wanted = parse_group_by_and_aggregations(group_by, aggregations)
    return plan_aggregate(TRADES, keys, wanted)


def test_a_daily_bucket_is_a_guarded_generated_formula_on_a_fresh_column() -> None:
    plan = _plan(
        ["Sym", {"column": "Timestamp", "bin": "1d"}],
        [{"op": "avg", "column": "Price", "as": "AvgPrice"}, {"op": "count"}],
    )
    nanos, bucket = plan.formulas[:2]
    # exact long nanoseconds from the Instant's parts (epochNanos() refuses the range's ends)
    assert nanos.startswith("Timestamp_Nanos = isNull(Timestamp) || ")
    assert "Timestamp.getEpochSecond()" in nanos and "Timestamp.getNano()" in nanos
    day = 86_400_000_000_000
    lowest = -(9_223_372_036_000_000_000 // day) * day
    highest = 9_223_372_035_999_999_999 // day * day
    assert bucket == (
        f"Timestamp_1d = isNull(Timestamp_Nanos) || Timestamp_Nanos < {lowest}L || "
        f"Timestamp_Nanos - floorMod(Timestamp_Nanos, {day}L) > {highest}L ? "
        "(java.time.Instant) null : "
        f"epochNanosToInstant(Timestamp_Nanos - floorMod(Timestamp_Nanos, {day}L))"
    )
    assert plan.by == ["Sym", "Timestamp_1d"]
    assert plan.outputs == ["Sym", "Timestamp_1d", "AvgPrice", "Count"]
    # hidden counts of rows in no bucket and of Price's non-finite values (overflow or NaN?)
    assert len(plan.aggregations) == 4
    assert plan.helpers == ["Timestamp_1d_Unbucketed", "Price_NonFinite"]
    (unbucketed,) = plan.unbucketed
    assert (unbucketed.output, unbucketed.width) == ("Timestamp_1d", "1d")
    assert plan.counts == ["Count"]
    (check,) = plan.checks
    assert check.output == "AvgPrice" and check.null == "(double) null"
    assert check.condition == "Price_NonFinite == 0 && (isNaN(AvgPrice) || isInf(AvgPrice))"


def test_every_op_builds_a_pydeephaven_aggregation() -> None:
    ops = ["sum", "avg", "min", "max", "first", "last", "std", "var", "median", "count_distinct"]
    plan = _plan([], [{"op": op, "column": "Size"} for op in ops] + [{"op": "count"}])
    # an int median is taken in double (the engine averages the middle values in int)
    assert plan.formulas == ["Size_Double = (double) Size"] and plan.by == []
    # one more: the count of values that std and var need (fewer than two: null)
    assert len(plan.aggregations) == len(ops) + 2 and plan.helpers == ["Size_Values"]
    assert plan.outputs == [f"Size_{op}" for op in ops] + ["Count"]
    assert plan.fixes == [
        "Size_std = Size_Values < 2 ? (double) null : Size_std",
        "Size_var = Size_Values < 2 ? (double) null : Size_var",
        "Size_count_distinct = (isNull(Size_count_distinct) ? 0L : Size_count_distinct)",
    ]


@pytest.mark.parametrize(
    ("group_by", "aggregations", "match"),
    [
        ([], [{"op": "avg", "column": "Nope"}], "unknown column 'Nope'.*Timestamp, Sym"),
        (["Nope"], [{"op": "count"}], "unknown column 'Nope'"),
        ([], [{"op": "sum", "column": "Sym"}], "'sum' needs a numeric column"),
        ([], [{"op": "median", "column": "Timestamp"}], "needs a numeric column"),
        ([], [{"op": "std", "column": "Flag"}], "needs a numeric column"),
        ([], [{"op": "min", "column": "Ids"}], "cannot compare"),
        ([], [{"op": "count_distinct", "column": "Amount"}], "cannot compare"),
        (["Ids"], [{"op": "count"}], "array column"),
        ([{"column": "Price", "bin": "1h"}], [{"op": "count"}], "needs a timestamp column"),
        ([{"column": "Day", "bin": "1d"}], [{"op": "count"}], "needs a timestamp column"),
        (
            [{"column": "Timestamp", "bin": "1h", "as": "Sym"}],
            [{"op": "count"}],
            "already a column",
        ),
    ],
)
def test_requests_that_do_not_fit_the_schema_are_refused(
    group_by: list[Any], aggregations: list[dict[str, Any]], match: str
) -> None:
    with _refused(match):
        _plan(group_by, aggregations)


def test_first_last_and_count_take_any_column() -> None:
    plan = _plan(
        [],
        [
            {"op": "first", "column": "Ids"},
            {"op": "last", "column": "Amount"},
            {"op": "count", "column": "Ids"},
        ],
    )
    assert plan.outputs == ["Ids_first", "Amount_last", "Ids_count"]


def test_sort_keys_must_name_output_columns() -> None:
    outputs = ["Sym", "AvgPrice"]
    assert check_sort(outputs, [SortKey(column="AvgPrice", descending=True)])
    with _refused("cannot sort by 'Price'"):
        check_sort(outputs, [SortKey(column="Price")])


def test_output_names_are_checked_without_a_schema() -> None:
    check_output_names(["Sym"], [Aggregation(op="count")])


# -- summary plan --------------------------------------------------------------------------


def test_column_kinds_follow_deephaven_types_or_arrow_types() -> None:
    kinds = [column_kind(TRADES.field(name)) for name in TRADES.names]
    assert kinds == [
        "temporal",
        "string",
        "numeric",
        "numeric",
        "boolean",
        "other",
        "temporal",
        "other",
    ]
    plain = pa.schema([("a", pa.float32()), ("b", pa.uint16()), ("c", pa.large_string())])
    assert [column_kind(field) for field in plain] == ["numeric", "string", "string"]


def test_summary_counts_nan_and_skips_it_only_when_asked() -> None:
    schema = pa.schema([*TRADES, _column("Price_NoNaN", pa.float32(), "float")])
    plan = plan_summary(schema, ["Price", "Sym", "Price_NoNaN", "Ids"])
    assert plan.formulas == []  # NaN is a value: the statistics read the columns themselves
    price, sym, other_float, ids = plan.columns
    assert other_float.floating and other_float.type == "float"
    assert price.floating and not price.skip_nan
    assert sym.counts_values and not sym.floating
    assert not ids.has_range and ids.kind == "other"
    # rows; per column null counts (+ NaN and non-finite counts of floating columns); min,
    # max, avg, std (distinct counts come from the per-value counts, not from here)
    assert len(plan.aggregations) == 1 + 4 + 2 * 2 + 4

    skipping = plan_summary(schema, ["Price", "Sym", "Price_NoNaN", "Size"], skip_nan=True)
    assert skipping.formulas == [
        "Price_NoNaN_1 = replaceIfNaN(Price, (double) null)",
        "Price_NoNaN_NoNaN = (float) replaceIfNaN(Price_NoNaN, (double) null)",
    ]


def test_long_means_are_taken_in_double() -> None:
    schema = pa.schema([_column("L", pa.int64(), "long")])
    assert plan_summary(schema, ["L"]).formulas == ["L_Double = (double) L"]


def test_summary_of_unknown_columns_is_refused() -> None:
    with _refused("unknown column 'Nope'"):
        plan_summary(TRADES, ["Nope"])
