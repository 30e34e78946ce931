"""Request checks of the analysis tools: no worker needed, everything fails before any call."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from deephaven_mcp.clients import analysis
from deephaven_mcp.clients.analysis import check_sort, column_kind, plan_aggregate
from deephaven_mcp.clients.analysis_spec import (
    BINS,
    MAX_AGGREGATIONS,
    MAX_GROUP_BY,
    MAX_TOP_K,
    Aggregation,
    TimeBucket,
    check_output_names,
    check_top_k,
    parse_aggregations,
    parse_group_by,
)
from deephaven_mcp.clients.shaping_spec import SortKey
from deephaven_mcp.clients.table_summary import plan_summary
from deephaven_mcp.errors import InvalidArgumentError
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
        (None, "non-empty list"),
        ([], "non-empty list"),
        ("avg", "non-empty list"),
        ([{"op": "mode", "column": "Price"}], "invalid aggregations"),
        ([{"op": "avg"}], "'avg' needs a column"),
        ([{"op": "avg", "column": "Price", "formula": "Price * 2"}], "invalid aggregations"),
        ([{"op": "sum", "column": ""}], "invalid aggregations"),
        ([{"op": "sum", "column": "Price", "as": ""}], "invalid aggregations"),
        ([{"op": "count"}] * (MAX_AGGREGATIONS + 1), f"at most {MAX_AGGREGATIONS}"),
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
        ("Sym", "must be a list"),
        ([{"column": "Timestamp", "bin": "2d"}], "invalid group_by"),
        ([{"column": "Timestamp", "bin": "1d", "formula": "x"}], "invalid group_by"),
        ([{"column": "Timestamp"}], "invalid group_by"),
        ([3], "invalid group_by"),
        ([f"C{i}" for i in range(MAX_GROUP_BY + 1)], f"at most {MAX_GROUP_BY}"),
    ],
)
def test_bad_group_by_is_refused(raw: Any, match: str) -> None:
    with _refused(match):
        parse_group_by(raw)


def test_every_bin_is_a_whole_number_of_seconds_up_to_a_day() -> None:
    assert list(BINS) == ["1s", "1m", "5m", "15m", "30m", "1h", "1d"]
    assert BINS["1d"] == 86_400 * 10**9 and BINS["15m"] == 900 * 10**9
    assert all(width % 10**9 == 0 for width in BINS.values())


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
    check_top_k(0)
    check_top_k(MAX_TOP_K)
    for bad in (-1, MAX_TOP_K + 1, True):
        with _refused("top_k"):
            check_top_k(bad)
    check_offset(0)
    with _refused("offset"):
        check_offset(-1)


# -- checks against the schema ------------------------------------------------------------


def _plan(group_by: list[Any], aggregations: list[dict[str, Any]]) -> analysis.AggregatePlan:
    keys, wanted = parse_group_by_and_aggregations(group_by, aggregations)
    return plan_aggregate(TRADES, keys, wanted)


def test_a_daily_bucket_is_a_generated_lower_bin_on_a_fresh_column() -> None:
    plan = _plan(
        ["Sym", {"column": "Timestamp", "bin": "1d"}],
        [{"op": "avg", "column": "Price", "as": "AvgPrice"}, {"op": "count"}],
    )
    assert plan.formulas == ["Timestamp_1d = lowerBin(Timestamp, 86400000000000L)"]
    assert plan.by == ["Sym", "Timestamp_1d"]
    assert plan.outputs == ["Sym", "Timestamp_1d", "AvgPrice", "Count"]
    assert len(plan.aggregations) == 2


def test_every_op_builds_a_pydeephaven_aggregation() -> None:
    ops = ["sum", "avg", "min", "max", "first", "last", "std", "var", "median", "count_distinct"]
    plan = _plan([], [{"op": op, "column": "Size"} for op in ops] + [{"op": "count"}])
    assert plan.formulas == [] and plan.by == []
    assert len(plan.aggregations) == len(ops) + 1
    assert plan.outputs == [f"Size_{op}" for op in ops] + ["Count"]


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


def test_summary_reads_floating_columns_through_a_nan_free_view() -> None:
    schema = pa.schema([*TRADES, _column("Price_NoNaN", pa.float32(), "float")])
    plan = plan_summary(schema, ["Price", "Sym", "Price_NoNaN", "Ids"])
    assert plan.formulas == [
        "Price_NoNaN_1 = replaceIfNaN(Price, NULL_DOUBLE)",
        "Price_NoNaN_NoNaN = (float) replaceIfNaN(Price_NoNaN, NULL_DOUBLE)",
    ]
    price, sym, other_float, ids = plan.columns
    assert price.values == "Price_NoNaN_1" and price.floating
    assert sym.values == "Sym" and sym.counts_values and not sym.floating
    assert other_float.values == "Price_NoNaN_NoNaN"
    assert not ids.has_range and ids.kind == "other"
    # rows; per column null counts (+ NaN-view null counts); min, max, avg, std (distinct
    # counts come from the per-value counts, not from this aggregation)
    assert len(plan.aggregations) == 1 + 4 + 2 + 4


def test_summary_of_unknown_columns_is_refused() -> None:
    with _refused("unknown column 'Nope'"):
        plan_summary(TRADES, ["Nope"])
