"""The analysis tools on edge values, against a real worker: one NaN rule for both tools,
engine overflows reported (null and a note) instead of shown as answers, time buckets of any
width, and the same argument errors over MCP and from the Python API.

Numbers are checked against pyarrow (or exact Python integers) on the same rows, read with
pydeephaven.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydeephaven import Session

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.errors import InvalidArgumentError
from tests.mcp_systems_server._helpers import ToolCaller, arrow

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
EDGES = "analysis_edges"
LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
READ_ONLY = True  # for the shared tools and systems fixtures (conftest)

# Group "nan": a NaN among finite values. "big": finite values whose std overflows double
# arithmetic (true std 4.08e299). "one": a single value. "none": nulls only.
SETUP = f"""
from deephaven import new_table
from deephaven.column import double_col, float_col, int_col, long_col, string_col
from deephaven.constants import NULL_DOUBLE, NULL_FLOAT, NULL_INT, NULL_LONG

nan = float("nan")
{EDGES} = new_table([
    string_col("G", ["nan"] * 4 + ["big"] * 6 + ["one", "none", "none"]),
    double_col("X", [nan, -0.0, 3.0, 1.5, 1.5, 1e300, -0.0, 2.25, 3.0, 4.0, 7.0,
                     NULL_DOUBLE, NULL_DOUBLE]),
    float_col("F", [nan, 1.0, 2.0, 0.5, 3e38, 3e38, 1.0, 2.0, 3.0, 4.0, 1.0,
                    NULL_FLOAT, NULL_FLOAT]),
    long_col("L", [1, 2, 3, 4, 9223372036854775000, 1000, 1, 2, 3, 4, 5, NULL_LONG, NULL_LONG]),
    int_col("I", [1, 2, 3, 4, {INT_MAX}, {INT_MAX}, 0, 0, 0, 0, 5, NULL_INT, NULL_INT]),
])
"""
SETUP_TABLES = (EDGES,)


@pytest.fixture(scope="module")
def edges(pydh: Session) -> pa.Table:
    return arrow(pydh, EDGES)


def _group(table: pa.Table, name: str) -> pa.Table:
    return table.filter(pc.equal(table["G"], name))


def _text(value: float) -> Any:
    if math.isnan(value):
        return "NaN"
    return value


async def _aggregate(tools: ToolCaller, **arguments: Any) -> dict[str, Any]:
    arguments.setdefault("format", "json-column")
    return await tools.ok("session_table_aggregate", session_id=ANON, **arguments)


def _by_group(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = answer["data"]
    return {
        group: {name: values[row] for name, values in data.items()}
        for row, group in enumerate(data["G"])
    }


async def _per_group(
    tools: ToolCaller, *aggregations: tuple[str, str, str], **more: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Aggregates of EDGES by G, each given as (op, column, as): the rows by group, and the answer."""
    answer = await _aggregate(
        tools,
        table_name=EDGES,
        group_by=["G"],
        aggregations=[
            {"op": op, "column": column, "as": name} for op, column, name in aggregations
        ],
        **more,
    )
    return _by_group(answer), answer


_STATISTICS = [
    {"op": "sum", "column": "X", "as": "SumX"},
    {"op": "avg", "column": "X", "as": "AvgX"},
    {"op": "min", "column": "X", "as": "MinX"},
    {"op": "max", "column": "X", "as": "MaxX"},
    {"op": "std", "column": "X", "as": "StdX"},
    {"op": "var", "column": "X", "as": "VarX"},
    {"op": "median", "column": "X", "as": "MedX"},
    {"op": "count", "column": "X", "as": "CountX"},
    {"op": "count_distinct", "column": "X", "as": "DistinctX"},
]


# -- 7: one NaN rule ------------------------------------------------------------------------


async def test_nan_is_a_value_in_both_tools(tools: ToolCaller, edges: pa.Table) -> None:
    rows = [{"column": "G", "op": "eq", "value": "nan"}]
    summary = await tools.ok(
        "session_table_summary", session_id=ANON, table_name=EDGES, columns=["X"], filters=rows
    )
    (entry,) = summary["columns"]
    assert entry["nan_count"] == 1 and entry["null_count"] == 0
    assert [entry[key] for key in ("min", "max", "mean", "std")] == ["NaN"] * 4
    answer = await _aggregate(tools, table_name=EDGES, aggregations=_STATISTICS, filters=rows)
    (got,) = _by_group({**answer, "data": {"G": ["nan"], **answer["data"]}}).values()
    assert answer["skip_nan"] is False and answer["notes"] == []
    for name in ("SumX", "AvgX", "MinX", "MaxX", "StdX", "VarX", "MedX"):
        assert got[name] == "NaN", name
    # NaN is counted as a value, and as one distinct value (-0.0, 3.0, 1.5 and NaN)
    values = _group(edges, "nan")["X"]
    assert got["CountX"] == pc.count(values).as_py() == 4
    assert got["DistinctX"] == 4


async def test_skip_nan_treats_nan_like_null_in_both_tools(
    tools: ToolCaller, edges: pa.Table
) -> None:
    rows = [{"column": "G", "op": "eq", "value": "nan"}]
    values = _group(edges, "nan")["X"]
    finite = pc.filter(values, pc.invert(pc.is_nan(values)))
    expected = {
        "SumX": pc.sum(finite).as_py(),
        "AvgX": pc.mean(finite).as_py(),
        "MinX": pc.min(finite).as_py(),
        "MaxX": pc.max(finite).as_py(),
        "StdX": pc.stddev(finite, ddof=1).as_py(),
        "VarX": pc.variance(finite, ddof=1).as_py(),
        "MedX": statistics.median(finite.to_pylist()),
        "CountX": 3,
        "DistinctX": 3,
    }
    answer = await _aggregate(
        tools, table_name=EDGES, aggregations=_STATISTICS, filters=rows, skip_nan=True
    )
    assert answer["skip_nan"] is True
    for name, value in expected.items():
        assert answer["data"][name] == [pytest.approx(value)], name
    summary = await tools.ok(
        "session_table_summary",
        session_id=ANON,
        table_name=EDGES,
        columns=["X"],
        filters=rows,
        skip_nan=True,
    )
    (entry,) = summary["columns"]
    assert entry["nan_count"] == 1  # still counted
    assert entry["min"] == expected["MinX"] and entry["max"] == expected["MaxX"]
    assert entry["mean"] == pytest.approx(expected["AvgX"])
    assert entry["std"] == pytest.approx(expected["StdX"])


# -- 8: overflows are reported, never shown as answers ---------------------------------------


async def test_std_of_finite_values_that_overflows_is_null_with_a_note(
    tools: ToolCaller, edges: pa.Table
) -> None:
    values = _group(edges, "big")["X"]
    assert statistics.stdev(values.to_pylist()) == pytest.approx(4.08248290463863e299)
    rows = [{"column": "G", "op": "eq", "value": "big"}]
    summary = await tools.ok(
        "session_table_summary", session_id=ANON, table_name=EDGES, columns=["X"], filters=rows
    )
    (entry,) = summary["columns"]
    assert entry["std"] is None and entry["mean"] == pytest.approx(pc.mean(values).as_py())
    assert entry["notes"] == [
        "std overflowed double arithmetic in the engine (the values are finite); shown as null"
    ]
    got, answer = await _per_group(tools, ("std", "X", "StdX"), ("avg", "X", "AvgX"))
    assert got["big"]["StdX"] is None
    assert got["big"]["AvgX"] == pytest.approx(pc.mean(values).as_py())
    assert got["nan"]["StdX"] == "NaN"  # a NaN input is not an overflow
    assert got["one"]["StdX"] is None and got["none"]["StdX"] is None  # under two values
    assert answer["notes"] == [
        "StdX: 1 group overflowed double arithmetic in the engine; shown as null"
    ]


async def test_float_sums_past_float_range_are_noted(tools: ToolCaller, edges: pa.Table) -> None:
    got, answer = await _per_group(tools, ("sum", "F", "SumF"), ("avg", "F", "AvgF"))
    assert got["big"]["SumF"] is None  # 6e38 does not fit a float
    big = _group(edges, "big")["F"]
    assert got["big"]["AvgF"] == pytest.approx(pc.mean(pc.cast(big, pa.float64())).as_py())
    assert got["nan"]["SumF"] == "NaN"
    assert answer["notes"] == [
        "SumF: 1 group overflowed float arithmetic in the engine; shown as null"
    ]


async def test_long_sums_that_wrap_are_noted_and_averages_do_not_wrap(
    tools: ToolCaller, edges: pa.Table
) -> None:
    got, answer = await _per_group(
        tools,
        ("sum", "L", "SumL"),
        ("avg", "L", "AvgL"),
        ("median", "I", "MedI"),
        ("median", "L", "MedL"),
        sort=[{"column": "G"}],
    )
    for group in ("nan", "big", "one"):
        longs = [value for value in _group(edges, group)["L"].to_pylist() if value is not None]
        exact = sum(longs)  # Python integers do not wrap
        assert got[group]["SumL"] == (exact if exact <= LONG_MAX else None), group
        assert got[group]["AvgL"] == pytest.approx(exact / len(longs)), group
        assert got[group]["MedL"] == pytest.approx(statistics.median(longs)), group
        ints = [value for value in _group(edges, group)["I"].to_pylist() if value is not None]
        assert got[group]["MedI"] == statistics.median(ints), group
    assert got["big"]["MedI"] == 0.0 and got["none"]["SumL"] is None
    assert answer["notes"] == [
        "SumL: 1 group overflowed long arithmetic in the engine; shown as null"
    ]
    summary = await tools.ok(
        "session_table_summary", session_id=ANON, table_name=EDGES, columns=["L", "I"]
    )
    longs = [value for value in edges["L"].to_pylist() if value is not None]
    assert summary["columns"][0]["mean"] == pytest.approx(sum(longs) / len(longs))
    assert summary["columns"][0]["std"] == pytest.approx(statistics.stdev(longs))
    ints = [value for value in edges["I"].to_pylist() if value is not None]
    assert summary["columns"][1]["mean"] == pytest.approx(sum(ints) / len(ints))


async def test_a_long_sum_landing_on_the_null_sentinel_is_noted(
    tools: ToolCaller, pydh: Session
) -> None:
    """-1 + (-2^63 + 1) is -2^63, which fits a Java long but is Deephaven's null long: the
    engine shows null, so the answer must say why (found by the aggregate oracle)."""
    pydh.run_script(
        "from deephaven import new_table\n"
        "from deephaven.column import long_col, string_col\n"
        "long_min_sum = new_table([string_col('G', ['at_min', 'at_min', 'other']), "
        f"long_col('L', [-1, {-LONG_MAX}, 5])])\n"
    )
    try:
        answer = await _aggregate(
            tools,
            table_name="long_min_sum",
            group_by=["G"],
            aggregations=[{"op": "sum", "column": "L", "as": "SumL"}],
        )
    finally:
        pydh.run_script("del long_min_sum")
    got = _by_group(answer)
    assert got["at_min"]["SumL"] is None and got["other"]["SumL"] == 5
    assert answer["notes"] == [
        "SumL: 1 group overflowed long arithmetic in the engine; shown as null"
    ]


async def test_counts_of_groups_without_values_are_zero(tools: ToolCaller) -> None:
    got, _ = await _per_group(
        tools,
        ("count_distinct", "X", "DistinctX"),
        ("count_distinct", "L", "DistinctL"),
        ("count", "X", "CountX"),
        ("min", "X", "MinX"),
    )
    assert got["none"] == {
        "G": "none", "DistinctX": 0, "DistinctL": 0, "CountX": 0, "MinX": None
    }  # fmt: skip
    # -0.0 and 0.0 compare equal: one distinct value ("big" has 1.5, 1e300, -0.0, 2.25, 3, 4)
    assert got["big"]["DistinctX"] == 6


# -- 3: buckets of any width ----------------------------------------------------------------


@pytest.mark.parametrize("bin_", ["2h", "90s", "7d", "45m"])
async def test_buckets_of_any_width_are_epoch_aligned(
    tools: ToolCaller, trades: pa.Table, bin_: str
) -> None:
    width = int(bin_[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[bin_[-1]] * 10**9
    nanos = pc.cast(trades["Timestamp"], pa.int64()).to_pylist()
    sizes = trades["Size"].to_pylist()
    expected: dict[int, tuple[int, int]] = {}
    for at, size in zip(nanos, sizes, strict=True):
        start = at // width * width
        count, total = expected.get(start, (0, 0))
        expected[start] = (count + 1, total + size)
    answer = await _aggregate(
        tools,
        table_name="trades",
        group_by=[{"column": "Timestamp", "bin": bin_, "as": "Bucket"}],
        aggregations=[{"op": "count"}, {"op": "sum", "column": "Size"}],
        sort=[{"column": "Bucket"}],
        max_rows=None,
    )
    starts = sorted(expected)
    as_text = pc.cast(pa.array(starts, pa.int64()), pa.timestamp("ns", tz="UTC")).to_pylist()
    assert answer["data"]["Bucket"] == [
        value.isoformat().replace("+00:00", "Z") for value in as_text
    ]
    assert answer["data"]["Count"] == [expected[start][0] for start in starts]
    assert answer["data"]["Size_sum"] == [expected[start][1] for start in starts]


# -- the same errors on both paths, and the same answers -------------------------------------

_BAD_AGGREGATE: list[dict[str, Any]] = [
    {"aggregations": []},
    {"aggregations": [{"op": "avg"}]},
    {"aggregations": [{"op": "mode", "column": "X"}]},
    {"aggregations": [{"op": "count"}], "group_by": [{"column": "T", "bin": "7w"}]},
    {"aggregations": [{"op": "count"}], "group_by": [3]},
    {"aggregations": [{"op": "count"}], "max_rows": True},
    {"aggregations": [{"op": "count"}], "offset": -1},
    {"aggregations": [{"op": "count"}], "skip_nan": "yes"},
]
_BAD_SUMMARY: list[dict[str, Any]] = [
    {"top_k": True},
    {"top_k": 1000},
    {"columns": []},
    {"skip_nan": 1},
]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [("session_table_aggregate", arguments) for arguments in _BAD_AGGREGATE]
    + [("session_table_summary", arguments) for arguments in _BAD_SUMMARY],
)
async def test_argument_errors_read_the_same_on_both_paths(
    tools: ToolCaller, systems: DeephavenSystems, tool: str, arguments: dict[str, Any]
) -> None:
    over_mcp = await tools.error(tool, session_id=ANON, table_name=EDGES, **arguments)
    with pytest.raises(InvalidArgumentError) as raised:
        await getattr(systems, tool)(ANON, EDGES, **arguments)
    assert str(raised.value) == over_mcp
    assert over_mcp.startswith("invalid argument ")


def test_hints_say_what_is_accepted() -> None:
    """The messages the table above compares carry their hints (checked once here)."""
    from deephaven_mcp.model.analysis import parse_aggregations, parse_group_by

    with pytest.raises(InvalidArgumentError, match=r'e\.g\. \[\{"op": "avg", "column"'):
        parse_aggregations([])
    with pytest.raises(InvalidArgumentError, match="'<N>s', '<N>m', '<N>h' or '<N>d'"):
        parse_group_by([{"column": "T", "bin": "1w"}])


def _volatile(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "snapshot_time"}


async def test_python_results_dump_as_the_tool_answers(
    tools: ToolCaller, systems: DeephavenSystems
) -> None:
    request: dict[str, Any] = {
        "group_by": ["G"],
        "aggregations": [{"op": "std", "column": "X", "as": "StdX"}],
        "sort": [{"column": "G"}],
        "format": "json-row",
    }
    over_mcp = await tools.ok(
        "session_table_aggregate", session_id=ANON, table_name=EDGES, **request
    )
    result = await systems.session_table_aggregate(ANON, EDGES, **request)
    dumped = result.model_dump(by_alias=True)
    assert dumped == result.envelope_fields()
    assert _volatile(dumped) == _volatile({k: v for k, v in over_mcp.items() if k != "success"})
    assert dumped["notes"] == over_mcp["notes"] != []

    summary = await tools.ok("session_table_summary", session_id=ANON, table_name=EDGES)
    found = await systems.session_table_summary(ANON, EDGES)
    dumped = found.model_dump(by_alias=True)
    assert dumped == found.envelope_fields()
    assert _volatile(dumped) == _volatile({k: v for k, v in summary.items() if k != "success"})


# -- the ends of the Instant range, and whole-table answers over no rows -------------------

EXTREMES = "analysis_extremes"
LONG_MIN = -(2**63)
_EXTREME_NANOS = [
    LONG_MAX,
    -9_223_372_036_000_000_000,
    LONG_MIN + 1,
    0,
    None,
    1_700_000_000_123_456_789,
    -1,
]
_NO_BUCKET = (
    "rows fell in no bucket, shown as a null B: their {} bucket would start outside the "
    "instants the engine computes with (1677-09-21T00:12:44Z..2262-04-11T23:47:15.999999999Z)"
)


@pytest.fixture(scope="module")
def extremes(pydh: Session) -> Iterator[str]:
    table = pydh.import_table(
        pa.table(
            {
                "Ts": pa.array(_EXTREME_NANOS, pa.timestamp("ns", "UTC")),
                "X": pa.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
            }
        )
    )
    try:
        pydh.bind_table(EXTREMES, table)
        yield EXTREMES
        pydh.run_script(f"del {EXTREMES}")
    finally:
        table.close()


@pytest.mark.parametrize("fmt", ["json-row", "csv", "markdown-table"])
async def test_the_lowest_and_highest_instants_read_exactly(
    tools: ToolCaller, extremes: str, fmt: str
) -> None:
    answer = await tools.ok("session_table_data", session_id=ANON, table_name=extremes, format=fmt)
    text = str(answer["data"])
    for shown in (
        "2262-04-11T23:47:16.854775807Z",
        "1677-09-21T00:12:44Z",
        "1677-09-21T00:12:43.145224193Z",
        "2023-11-14T22:13:20.123456789Z",
        "1969-12-31T23:59:59.999999999Z",
    ):
        assert shown in text, (fmt, text)


@pytest.mark.parametrize(
    ("bin_", "expected"),
    [
        # Long.MAX has a day; the two lowest start before the first day the engine holds.
        (
            "1d",
            {
                "2262-04-11T00:00:00Z": 1,
                "1970-01-01T00:00:00Z": 1,
                "2023-11-14T00:00:00Z": 1,
                "1969-12-31T00:00:00Z": 1,
                None: 3,
            },
        ),
        # floor(-9223372036 s / 84 s) * 84 s is below Long.MIN: no bucket (never one in 2262).
        (
            "84s",
            {
                "2262-04-11T23:47:12Z": 1,
                "1970-01-01T00:00:00Z": 1,
                "2023-11-14T22:13:00Z": 1,
                "1969-12-31T23:58:36Z": 1,
                None: 3,
            },
        ),
        # Long.MAX's second (2262-04-11T23:47:16Z) is past what the engine computes with.
        (
            "1s",
            {
                "1677-09-21T00:12:44Z": 1,
                "1970-01-01T00:00:00Z": 1,
                "2023-11-14T22:13:20Z": 1,
                "1969-12-31T23:59:59Z": 1,
                None: 3,
            },
        ),
    ],
)
async def test_buckets_at_the_ends_of_the_instant_range_are_exact_or_noted(
    tools: ToolCaller, extremes: str, bin_: str, expected: dict[str | None, int]
) -> None:
    answer = await _aggregate(
        tools,
        table_name=extremes,
        group_by=[{"column": "Ts", "bin": bin_, "as": "B"}],
        aggregations=[{"op": "count"}],
        format="json-row",
    )
    assert {row["B"]: row["Count"] for row in answer["data"]} == expected
    # the null bucket also holds the null timestamp, which is no surprise and not noted
    assert answer["notes"] == [f"B: 2 {_NO_BUCKET.format(bin_)}"]


async def test_ordinary_buckets_have_no_note(tools: ToolCaller, extremes: str) -> None:
    answer = await _aggregate(
        tools,
        table_name=extremes,
        filters=[{"column": "X", "op": "in", "value": [4.0, 6.0, 7.0]}],
        group_by=[{"column": "Ts", "bin": "1h", "as": "B"}],
        aggregations=[{"op": "count"}],
        sort=[{"column": "B"}],
        format="json-row",
    )
    assert answer["data"] == [
        {"B": "1969-12-31T23:00:00Z", "Count": 1},
        {"B": "1970-01-01T00:00:00Z", "Count": 1},
        {"B": "2023-11-14T22:00:00Z", "Count": 1},
    ]
    assert not answer.get("notes")


async def test_a_whole_table_aggregate_of_no_rows_is_one_typed_row(tools: ToolCaller) -> None:
    wanted = [
        {"op": "count"},
        {"op": "count", "column": "X", "as": "CountX"},
        {"op": "count_distinct", "column": "X", "as": "DistinctX"},
        {"op": "sum", "column": "L", "as": "SumL"},
        {"op": "avg", "column": "X", "as": "AvgX"},
        {"op": "std", "column": "X", "as": "StdX"},
        {"op": "first", "column": "G", "as": "FirstG"},
        {"op": "max", "column": "I", "as": "MaxI"},
    ]
    answers = [
        await _aggregate(
            tools,
            table_name=EDGES,
            filters=[{"column": "G", "op": "eq", "value": value}],
            aggregations=wanted,
            format="json-row",
        )
        for value in ("one", "no such group")
    ]
    one, empty = answers
    assert empty["data"] == [
        {
            "Count": 0,
            "CountX": 0,
            "DistinctX": 0,
            "SumL": None,
            "AvgX": None,
            "StdX": None,
            "FirstG": None,
            "MaxI": None,
        }
    ]
    assert empty["total_rows"] == 1 and empty["schema"] == one["schema"]
    assert one["data"][0]["Count"] == 1 and one["data"][0]["FirstG"] == "one"
    paged = await _aggregate(
        tools,
        table_name=EDGES,
        filters=[{"column": "G", "op": "eq", "value": "no such group"}],
        aggregations=wanted,
        offset=1,
        max_rows=5,
        format="json-row",
    )
    assert paged["data"] == [] and paged["total_rows"] == 1
