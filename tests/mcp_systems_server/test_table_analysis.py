"""session_table_summary and session_table_aggregate through MCP against a real worker.

Every number is checked against the same statistic computed independently with
``pyarrow.compute`` on the rows fetched with pydeephaven. The server runs in read-only mode:
both tools compile no caller text, so they must be offered there.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydeephaven import Session

from deephaven_mcp.model.analysis import MAX_DISTINCT, MAX_SUMMARY_COLUMNS
from tests.mcp_systems_server._helpers import ToolCaller, arrow

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
MIXED = "analysis_mixed"
WIDE = "analysis_wide"
MANY = "analysis_many"
WIDE_COLUMNS = MAX_SUMMARY_COLUMNS + 5
MANY_ROWS = MAX_DISTINCT + 500
READ_ONLY = True  # for the shared tools fixture (conftest)

SETUP = f"""
from deephaven import empty_table, new_table
from deephaven.column import bool_col, char_col, double_col, float_col, int_col, string_col
from deephaven.constants import NULL_CHAR, NULL_DOUBLE, NULL_FLOAT, NULL_INT

nan, inf = float("nan"), float("inf")
{MIXED} = new_table([
    string_col("S", ["a", "b", None, "ünï", "a", "b", "a", "ünï", None, "a", "", "b"]),
    int_col("I", [1, NULL_INT, 3, -4, 5, 6, 3, 0, NULL_INT, 100, 7, 8]),
    double_col("D", [1.5, NULL_DOUBLE, 2.0, -3.25, 0.0, 1e10, 7.5, NULL_DOUBLE, 4.0, -1.0, 2.5, 3.0]),
    double_col("N", [nan, 1.0, NULL_DOUBLE, 2.0, nan, 3.5, -1.0, 0.5, inf, nan, 10.0, NULL_DOUBLE]),
    float_col("F", [nan, 1.5, NULL_FLOAT, 2.0, nan, 3.5, -1.0, 0.5, 2.0, nan, 10.0, NULL_FLOAT]),
    char_col("Ch", [NULL_CHAR if c == "-" else ord(c) for c in "xy-xyzxyzxyz"]),
    bool_col("B", [True, None, False, True, False, None, True, False, True, None, True, True]),
]).update([
    "T = (i % 5 == 1) ? null : '2024-03-01T22:00:00 UTC' + i * 3 * HOUR",
    "G = i % 3",
])
{WIDE} = empty_table(3).update([f"C{{n}} = i * {{n}}" for n in range({WIDE_COLUMNS})])
{MANY} = empty_table({MANY_ROWS}).update(["U = `u` + (i % {MANY_ROWS - 1})"])
"""
SETUP_TABLES = (MIXED, WIDE, MANY)

Json = Any


@pytest.fixture(scope="module")
def mixed(pydh: Session) -> pa.Table:
    return arrow(pydh, MIXED)


# -- independent computations -----------------------------------------------------------


def _iso(value: Any) -> str:
    return str(value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"))


def _json(value: Any, arrow_type: pa.DataType) -> Json:
    """A scalar as the tools spell it (ISO text, chars as strings, NaN/inf as text)."""
    if value is None:
        return None
    if pa.types.is_timestamp(arrow_type):
        return _iso(value)
    if arrow_type == pa.uint16():
        return chr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _expected_summary(
    column: pa.ChunkedArray, top_k: int, skip_nan: bool = False
) -> dict[str, Json]:
    """What session_table_summary should say about ``column``, by pyarrow.compute: NaN is a
    value (it makes min, max, mean and std NaN) unless ``skip_nan``."""
    arrow_type = column.type
    values = pc.drop_null(column)
    nans = 0
    if pa.types.is_floating(arrow_type):
        is_nan = pc.is_nan(values)
        nans = pc.sum(is_nan).as_py() or 0
        values = pc.filter(values, pc.invert(is_nan))
    found: dict[str, Json] = {"null_count": column.null_count}
    if pa.types.is_floating(arrow_type):
        found["nan_count"] = nans
    if len(values):
        extremes = pc.min_max(values)
        found["min"] = _json(extremes["min"].as_py(), arrow_type)
        found["max"] = _json(extremes["max"].as_py(), arrow_type)
    else:
        found["min"] = found["max"] = None
    numeric = pa.types.is_integer(arrow_type) and arrow_type != pa.uint16()
    if numeric or pa.types.is_floating(arrow_type):
        found["mean"] = _json(pc.mean(values).as_py(), pa.float64()) if len(values) else None
        found["std"] = (
            _json(pc.stddev(values, ddof=1).as_py(), pa.float64()) if len(values) > 1 else None
        )
    if nans and not skip_nan:
        found["min"] = found["max"] = found["mean"] = found["std"] = "NaN"
    if pa.types.is_string(arrow_type) or pa.types.is_boolean(arrow_type):
        found["distinct_count"] = min(pc.count_distinct(values).as_py(), MAX_DISTINCT)
        found["distinct_count_capped"] = pc.count_distinct(values).as_py() > MAX_DISTINCT
        counts = pc.value_counts(values).to_pylist()
        counts.sort(key=lambda item: (-item["counts"], item["values"]))
        found["top_values"] = [
            {"value": item["values"], "count": item["counts"]} for item in counts[:top_k]
        ]
    if arrow_type == pa.uint16():  # char: strings, counted like them
        texts = pa.array([chr(code) for code in values.to_pylist()])
        found["distinct_count"] = pc.count_distinct(texts).as_py()
        found["distinct_count_capped"] = False
        counts = pc.value_counts(texts).to_pylist()
        counts.sort(key=lambda item: (-item["counts"], item["values"]))
        found["top_values"] = [
            {"value": item["values"], "count": item["counts"]} for item in counts[:top_k]
        ]
    return found


def _close(got: Json, expected: Json) -> bool:
    if isinstance(expected, float) and isinstance(got, (int, float)):
        return bool(got == pytest.approx(expected, rel=1e-9))
    return bool(got == expected)


def _check_summary(
    answer: dict[str, Any], table: pa.Table, top_k: int = 10, skip_nan: bool = False
) -> None:
    assert answer["row_count"] == table.num_rows and answer["skip_nan"] is skip_nan
    for entry in answer["columns"]:
        assert "notes" not in entry, entry
        expected = _expected_summary(table.column(entry["name"]), top_k, skip_nan)
        for key, value in expected.items():
            assert _close(entry[key], value), (entry["name"], key, entry[key], value)


# -- session_table_summary ------------------------------------------------------------------


async def test_summary_matches_pyarrow_with_nulls_nan_and_unicode(
    tools: ToolCaller, mixed: pa.Table
) -> None:
    answer = await tools.ok("session_table_summary", session_id=ANON, table_name=MIXED)
    assert answer["table_name"] == MIXED and answer["is_complete"] is True
    assert answer["column_count"] == mixed.num_columns == len(answer["columns"])
    assert answer["top_k"] == 10 and answer["is_refreshing"] is False
    assert answer["snapshot_time"].endswith("Z")
    _check_summary(answer, mixed)
    by_name = {entry["name"]: entry for entry in answer["columns"]}
    kinds = {name: entry["kind"] for name, entry in by_name.items()}
    assert kinds == {
        "S": "string",
        "I": "numeric",
        "D": "numeric",
        "N": "numeric",
        "F": "numeric",
        "Ch": "string",
        "B": "boolean",
        "T": "temporal",
        "G": "numeric",
    }
    # Spelled out: NaN is counted apart and is a value; so is the infinity.
    assert by_name["N"]["nan_count"] == 3 and by_name["N"]["null_count"] == 2
    assert by_name["N"]["max"] == "NaN" and by_name["N"]["mean"] == "NaN"
    assert by_name["F"]["min"] == "NaN" and by_name["F"]["std"] == "NaN"
    assert by_name["D"]["nan_count"] == 0 and by_name["D"]["max"] == 1e10
    assert by_name["S"]["top_values"][0] == {"value": "a", "count": 4}
    assert {"value": "ünï", "count": 2} in by_name["S"]["top_values"]
    assert by_name["T"]["min"] == "2024-03-01T22:00:00Z"
    assert by_name["T"]["type"] == "java.time.Instant"
    assert "mean" not in by_name["S"] and "top_values" not in by_name["I"]

    # skip_nan: NaN is skipped like null (and still counted)
    skipping = await tools.ok(
        "session_table_summary", session_id=ANON, table_name=MIXED, skip_nan=True
    )
    _check_summary(skipping, mixed, skip_nan=True)
    by_name = {entry["name"]: entry for entry in skipping["columns"]}
    assert by_name["N"]["nan_count"] == 3 and by_name["N"]["null_count"] == 2
    assert by_name["N"]["max"] == "Infinity" and by_name["N"]["mean"] == "Infinity"
    assert by_name["F"]["min"] == -1.0 and by_name["F"]["max"] == 10.0


async def test_null_counts_of_every_column_of_trades_in_one_call(
    tools: ToolCaller, trades: pa.Table
) -> None:
    answer = await tools.ok("session_table_summary", session_id=ANON, table_name="trades")
    assert {entry["name"]: entry["null_count"] for entry in answer["columns"]} == {
        name: trades.column(name).null_count for name in trades.column_names
    }
    _check_summary(answer, trades)


async def test_summary_columns_filters_and_top_k(tools: ToolCaller, trades: pa.Table) -> None:
    answer = await tools.ok(
        "session_table_summary",
        session_id=ANON,
        table_name="trades",
        columns=["Exchange", "Size"],
        filters=[
            {"column": "Sym", "op": "in", "value": ["AAPL", "MSFT"]},
            {"column": "Size", "op": "ge", "value": 500},
        ],
        top_k=2,
    )
    assert [entry["name"] for entry in answer["columns"]] == ["Exchange", "Size"]
    assert answer["top_k"] == 2 and answer["is_complete"] is True
    keep = pc.and_(
        pc.is_in(trades["Sym"], pa.array(["AAPL", "MSFT"])), pc.greater_equal(trades["Size"], 500)
    )
    _check_summary(answer, trades.filter(keep), top_k=2)
    assert len(answer["columns"][0]["top_values"]) == 2

    none = await tools.ok(
        "session_table_summary", session_id=ANON, table_name="trades", columns=["Sym"], top_k=0
    )
    assert "top_values" not in none["columns"][0] and none["columns"][0]["distinct_count"] == 5


async def test_summary_of_no_rows(tools: ToolCaller) -> None:
    answer = await tools.ok(
        "session_table_summary",
        session_id=ANON,
        table_name=MIXED,
        filters=[{"column": "S", "op": "eq", "value": "no such value"}],
    )
    assert answer["row_count"] == 0
    for entry in answer["columns"]:
        assert entry["null_count"] == 0 and entry["min"] is None and entry["max"] is None
        assert entry.get("top_values", []) == [] and entry.get("mean") is None


async def test_summary_caps_columns_and_distinct_counts(tools: ToolCaller, pydh: Session) -> None:
    wide = await tools.ok("session_table_summary", session_id=ANON, table_name=WIDE)
    assert wide["is_complete"] is False and wide["column_count"] == WIDE_COLUMNS
    assert len(wide["columns"]) == MAX_SUMMARY_COLUMNS
    _check_summary(wide, arrow(pydh, WIDE).select(range(MAX_SUMMARY_COLUMNS)))
    message = await tools.error(
        "session_table_summary",
        session_id=ANON,
        table_name=WIDE,
        columns=[f"C{n}" for n in range(MAX_SUMMARY_COLUMNS + 1)],
    )
    assert f"at most {MAX_SUMMARY_COLUMNS}" in message

    many = await tools.ok("session_table_summary", session_id=ANON, table_name=MANY, top_k=3)
    (entry,) = many["columns"]
    assert entry["distinct_count"] == MAX_DISTINCT and entry["distinct_count_capped"] is True
    # u0 appears twice (i % (MANY_ROWS - 1) wraps once); ties are in value order.
    assert entry["top_values"] == [
        {"value": "u0", "count": 2},
        {"value": "u1", "count": 1},
        {"value": "u10", "count": 1},
    ]


# -- session_table_aggregate ----------------------------------------------------------------


async def _aggregate(tools: ToolCaller, **arguments: Any) -> dict[str, Any]:
    arguments.setdefault("format", "json-column")
    return await tools.ok("session_table_aggregate", session_id=ANON, **arguments)


def _quantile(values: pa.ChunkedArray) -> float | None:
    found = pc.quantile(values, q=0.5, interpolation="linear").to_pylist()
    return found[0] if found else None


async def test_every_op_matches_pyarrow(tools: ToolCaller, mixed: pa.Table) -> None:
    answer = await _aggregate(
        tools,
        table_name=MIXED,
        group_by=["G"],
        aggregations=[
            {"op": "count", "as": "Rows"},
            {"op": "count", "column": "D", "as": "Ds"},
            {"op": "sum", "column": "I", "as": "SumI"},
            {"op": "avg", "column": "D", "as": "AvgD"},
            {"op": "min", "column": "S", "as": "MinS"},
            {"op": "max", "column": "T", "as": "MaxT"},
            {"op": "first", "column": "I", "as": "FirstI"},
            {"op": "last", "column": "S", "as": "LastS"},
            {"op": "std", "column": "D", "as": "StdD"},
            {"op": "var", "column": "I", "as": "VarI"},
            {"op": "median", "column": "I", "as": "MedI"},
            {"op": "count_distinct", "column": "S", "as": "DistinctS"},
        ],
        sort=[{"column": "G"}],
    )
    assert answer["source_rows"] == mixed.num_rows and answer["total_rows"] == 3
    assert answer["is_complete"] is True and answer["next_offset"] is None
    data = answer["data"]
    assert data["G"] == [0, 1, 2]
    for row, group in enumerate((0, 1, 2)):
        part = mixed.filter(pc.equal(mixed["G"], group))
        expected = {
            "Rows": part.num_rows,
            "Ds": pc.count(part["D"]).as_py(),
            "SumI": pc.sum(part["I"]).as_py(),
            "AvgD": pc.mean(part["D"]).as_py(),
            "MinS": pc.min(part["S"]).as_py(),
            "MaxT": _iso(pc.max(part["T"]).as_py()),
            "FirstI": part["I"][0].as_py(),  # first and last rows, nulls included
            "LastS": part["S"][-1].as_py(),
            "StdD": pc.stddev(part["D"], ddof=1).as_py(),
            "VarI": pc.variance(part["I"], ddof=1).as_py(),
            "MedI": _quantile(part["I"]),
            "DistinctS": pc.count_distinct(part["S"]).as_py(),
        }
        for name, value in expected.items():
            assert _close(data[name][row], value), (group, name, data[name][row], value)


async def test_daily_average_price_per_symbol_in_one_call(
    tools: ToolCaller, trades: pa.Table
) -> None:
    answer = await _aggregate(
        tools,
        table_name="trades",
        group_by=["Sym", {"column": "Timestamp", "bin": "1d"}],
        aggregations=[{"op": "avg", "column": "Price", "as": "AvgPrice"}],
        sort=[{"column": "Sym"}],
    )
    assert [column["name"] for column in answer["schema"]] == ["Sym", "Timestamp_1d", "AvgPrice"]
    days = trades.append_column("Day", pc.floor_temporal(trades["Timestamp"], unit="day"))
    grouped = days.group_by(["Sym", "Day"]).aggregate([("Price", "mean")]).sort_by("Sym")
    assert answer["data"]["Sym"] == grouped["Sym"].to_pylist()
    assert answer["data"]["Timestamp_1d"] == [_iso(day) for day in grouped["Day"].to_pylist()]
    assert answer["data"]["AvgPrice"] == pytest.approx(grouped["Price_mean"].to_pylist())
    assert answer["data"]["Timestamp_1d"][0] == "2024-01-02T00:00:00Z"  # UTC midnight


@pytest.mark.parametrize(("bin_", "unit", "multiple"), [("1h", "hour", 1), ("15m", "minute", 15)])
async def test_time_buckets_are_utc_aligned(
    tools: ToolCaller, trades: pa.Table, bin_: str, unit: str, multiple: int
) -> None:
    answer = await _aggregate(
        tools,
        table_name="trades",
        group_by=[{"column": "Timestamp", "bin": bin_, "as": "Bucket"}],
        aggregations=[{"op": "sum", "column": "Size"}, {"op": "count"}],
        sort=[{"column": "Bucket"}],
    )
    buckets = pc.floor_temporal(trades["Timestamp"], multiple=multiple, unit=unit)
    grouped = (
        trades.append_column("Bucket", buckets)
        .group_by("Bucket")
        .aggregate([("Size", "sum"), ("Size", "count")])
        .sort_by("Bucket")
    )
    assert answer["data"]["Bucket"] == [_iso(value) for value in grouped["Bucket"].to_pylist()]
    assert answer["data"]["Size_sum"] == grouped["Size_sum"].to_pylist()
    assert answer["data"]["Count"] == grouped["Size_count"].to_pylist()


async def test_buckets_across_days_with_nulls(tools: ToolCaller, mixed: pa.Table) -> None:
    answer = await _aggregate(
        tools,
        table_name=MIXED,
        group_by=[{"column": "T", "bin": "1d", "as": "Day"}],
        aggregations=[{"op": "avg", "column": "D"}, {"op": "count"}],
        sort=[{"column": "Day"}],
    )
    days = mixed.append_column("Day", pc.floor_temporal(mixed["T"], unit="day"))
    grouped = days.group_by("Day").aggregate(
        [("D", "mean"), ("D", "count", pc.CountOptions(mode="all"))]
    )
    expected = {
        None if day is None else _iso(day): (mean, count)
        for day, mean, count in zip(
            grouped["Day"].to_pylist(),
            grouped["D_mean"].to_pylist(),
            grouped["D_count"].to_pylist(),
            strict=True,
        )
    }
    data = answer["data"]
    got = {
        day: (mean, count)
        for day, mean, count in zip(data["Day"], data["D_avg"], data["Count"], strict=True)
    }
    assert got.keys() == expected.keys() and data["Day"][0] is None  # null sorts first
    for day, (mean, count) in expected.items():
        assert got[day][1] == count and _close(got[day][0], mean)


async def test_filters_sort_and_no_group_by(tools: ToolCaller, trades: pa.Table) -> None:
    answer = await _aggregate(
        tools,
        table_name="trades",
        group_by=["Exchange"],
        aggregations=[{"op": "max", "column": "Price", "as": "High"}],
        filters=[{"column": "Sym", "op": "eq", "value": "NVDA"}],
        sort=[{"column": "High", "descending": True}],
    )
    nvda = trades.filter(pc.equal(trades["Sym"], "NVDA"))
    assert answer["source_rows"] == nvda.num_rows
    grouped = nvda.group_by("Exchange").aggregate([("Price", "max")])
    expected = sorted(
        zip(grouped["Price_max"].to_pylist(), grouped["Exchange"].to_pylist(), strict=True),
        reverse=True,
    )
    assert answer["data"]["High"] == [high for high, _ in expected]
    assert answer["data"]["Exchange"] == [name for _, name in expected]

    whole = await _aggregate(
        tools, table_name="trades", aggregations=[{"op": "count"}, {"op": "sum", "column": "Size"}]
    )
    assert whole["data"] == {
        "Count": [trades.num_rows],
        "Size_sum": [pc.sum(trades["Size"]).as_py()],
    }


async def test_paging_walks_every_group_once(tools: ToolCaller) -> None:
    request: dict[str, Any] = {
        "table_name": "trades",
        "group_by": ["Sym", {"column": "Timestamp", "bin": "1m"}],
        "aggregations": [{"op": "last", "column": "Price", "as": "Close"}],
        "sort": [{"column": "Timestamp_1m"}, {"column": "Sym"}],
    }
    everything = await _aggregate(tools, max_rows=None, **request)
    total = everything["total_rows"]
    assert total == everything["row_count"] > 600 and everything["is_complete"] is True
    pages, offset = [], 0
    while True:
        page = await _aggregate(tools, max_rows=300, offset=offset, **request)
        assert page["total_rows"] == total and page["is_complete"] is False
        pages.append(page)
        if page["next_offset"] is None:
            break
        offset = page["next_offset"]
        assert offset == 300 * len(pages)
    assert len(pages) == math.ceil(total / 300)
    for name in ("Sym", "Timestamp_1m", "Close"):
        walked = [value for page in pages for value in page["data"][name]]
        assert walked == everything["data"][name]
    past = await _aggregate(tools, max_rows=10, offset=total + 5, **request)
    assert past["row_count"] == 0 and past["next_offset"] is None


@pytest.mark.parametrize(
    "fmt", ["csv", "json-row", "json-column", "markdown-table", "markdown-kv", "yaml", "xml"]
)
async def test_every_format(tools: ToolCaller, fmt: str) -> None:
    answer = await _aggregate(
        tools,
        table_name="trades",
        group_by=["Sym"],
        aggregations=[{"op": "count", "as": "Trades"}],
        sort=[{"column": "Sym"}],
        format=fmt,
    )
    assert answer["format"] == fmt and answer["row_count"] == 5
    data = answer["data"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data)))
        assert [row["Sym"] for row in rows] == ["AAPL", "AMZN", "GOOG", "MSFT", "NVDA"]
        assert {row["Trades"] for row in rows} == {"2000"}
    elif fmt == "json-row":
        assert data[0] == {"Sym": "AAPL", "Trades": 2000}
    elif fmt == "json-column":
        assert data["Trades"] == [2000] * 5
    else:
        assert isinstance(data, str) and "NVDA" in data and "2000" in data


async def test_clear_errors(tools: ToolCaller) -> None:
    async def error(**arguments: Any) -> str:
        arguments.setdefault("table_name", "trades")
        return await tools.error("session_table_aggregate", session_id=ANON, **arguments)

    count = [{"op": "count"}]
    assert "unknown column 'Nope'" in await error(group_by=["Nope"], aggregations=count)
    assert "needs a numeric column" in await error(aggregations=[{"op": "avg", "column": "Sym"}])
    assert "needs a timestamp column" in await error(
        group_by=[{"column": "Price", "bin": "1d"}], aggregations=count
    )
    assert "bucket width" in await error(
        group_by=[{"column": "Timestamp", "bin": "7w"}], aggregations=count
    )
    assert await error(aggregations=[{"op": "mode", "column": "Price"}])
    assert await error(aggregations=[])
    assert "appears twice" in await error(
        group_by=["Sym"], aggregations=[{"op": "count", "as": "Sym"}]
    )
    assert "not a valid column name" in await error(
        aggregations=[{"op": "sum", "column": "Size", "as": "Size * 2"}]
    )
    assert "cannot sort by 'Price'" in await error(
        group_by=["Sym"], aggregations=count, sort=[{"column": "Price"}]
    )
    assert "column 'Size'" in await error(
        aggregations=count, filters=[{"column": "Size", "op": "gt", "value": "big"}]
    )
    assert "not found" in await error(table_name="no_such_table", aggregations=count)
    assert "offset" in await error(aggregations=count, offset=-1)
    message = await tools.error(
        "session_table_summary", session_id=ANON, table_name="trades", top_k=1000
    )
    assert "top_k" in message
