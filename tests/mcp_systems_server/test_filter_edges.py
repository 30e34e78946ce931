"""Structured filters on edge values, against a real worker, through MCP and the Python API.

Each filtered answer is compared with the engine itself (the same comparison written as a
where-clause in a script, or the same pydeephaven filter) and with a Python predicate that
spells out Deephaven's rules; refusals are compared word for word between the MCP tools
and ``DeephavenSystems``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pydeephaven import Session
from pydeephaven import filters as dh

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.errors import InvalidArgumentError
from tests._nulls import NULL_MARKERS, marker_refusal
from tests.mcp_systems_server._helpers import ToolCaller, arrow, kept_ids

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
EDGE = "filter_edges"
PROBE = "filter_edges_probe"
INSTANTS = "filter_edges_instants"
TINY = "filter_edges_tiny"
# Numbers the engine's range filter rounded to about 16 decimal places (so lt 1e-20 acted
# as lt 0), beside zeros, nulls and NaN; F holds each rounded to a float.
TINY_VALUES = [
    None,
    math.nan,
    -0.0,
    0.0,
    -1.0,
    1e-20,
    -1e-20,
    5e-324,
    1e-5,
    1.0000000000000002e-5,
    -3.641955793401245e-29,
    1.2345678901234567e-10,
]
# 2026-12-07T11:49:59.706000988Z: a time a read shows with all nine fractional digits.
BASE_NS = 1_796_644_199_706_000_988
READ_ONLY = True  # for the shared tools and systems fixtures (conftest)

SETUP = rf"""
from deephaven import new_table
from deephaven.column import (
    byte_col, double_col, float_col, int_col, long_col, short_col, string_col,
)
from deephaven.constants import (
    NULL_BYTE, NULL_DOUBLE, NULL_FLOAT, NULL_INT, NULL_LONG, NULL_SHORT,
)

nan, inf = float("nan"), float("inf")
{EDGE} = new_table([
    int_col("Id", list(range(8))),
    byte_col("Y", [NULL_BYTE, 1, -127, 127, 0, 5, NULL_BYTE, 2]),
    short_col("H", [NULL_SHORT, 1, -32767, 32767, 0, 5, 7, 2]),
    int_col("I", [NULL_INT, 1, -2147483647, 2147483647, 0, 5, 7, 2]),
    long_col("L", [NULL_LONG, 1, -9223372036854775807, 9223372036854775807, 0, 5, 7, 2]),
    float_col("F", [NULL_FLOAT, nan, -inf, inf, 0.5, -0.0, 3.4028234663852886e38, -3.4e38]),
    double_col("D", [NULL_DOUBLE, nan, -inf, inf, 1.5, -0.0, 1.7976931348623157e308, -1e308]),
    string_col("S", ["new\nline", "abc", "ABC", None, "a.b", "é", "Ünï ✓", "q'\"\\z"]),
]).update(["T = (i % 4 == 3) ? null : epochNanosToInstant({BASE_NS}L + i * 1_000_001L)"])

# Instants the engine would misread as literals (an "auto" epoch unit for small
# magnitudes), a 2026 one and null; a long column named like the first helper column.
{INSTANTS} = new_table([
    int_col("Id", list(range(7))),
    long_col("N", [-1, 0, 41_235, 2_190_000_000, 10**17, {BASE_NS}, NULL_LONG]),
    long_col("__dh_mcp_nanos_2", [7, 7, 7, 7, 7, 7, 7]),
]).update_view(["T = epochNanosToInstant(N)"])
"""
SETUP += f"""
tiny = {[None if v is None else repr(v) for v in TINY_VALUES]!r}
{TINY} = new_table([
    int_col("Id", list(range(len(tiny)))),
    double_col("D", [NULL_DOUBLE if v is None else float(v) for v in tiny]),
    float_col("F", [NULL_FLOAT if v is None else float(v) for v in tiny]),
])
"""
SETUP_TABLES = (EDGE, INSTANTS, TINY)

Row = dict[str, Any]


@pytest.fixture(scope="module")
def rows(pydh: Session) -> list[Row]:
    found: list[Row] = arrow(pydh, EDGE).to_pylist()
    return found


async def _ids(tools: ToolCaller, filters: list[dict[str, Any]]) -> list[int]:
    return await kept_ids(tools, ANON, EDGE, filters)


def _engine_ids(session: Session, clause: str) -> list[int]:
    """The rows the engine keeps for a where-clause written in a script."""
    session.run_script(f"{PROBE} = {EDGE}.where({clause!r})")
    table = session.open_table(PROBE)
    ids: list[int] = table.to_arrow().column("Id").to_pylist()
    table.close()
    session.run_script(f"del {PROBE}")
    return ids


def _pydeephaven_ids(session: Session, condition: dh.Filter) -> list[int]:
    table = session.open_table(EDGE)
    filtered = table.where(condition)
    ids: list[int] = filtered.to_arrow().column("Id").to_pylist()
    filtered.close()
    table.close()
    return ids


# -- 1. null markers and ranges ---------------------------------------------------------


@pytest.mark.parametrize(("column", "marker", "name"), NULL_MARKERS)
async def test_a_null_marker_is_refused_with_a_hint(
    tools: ToolCaller, column: str, marker: float, name: str
) -> None:
    """The engine stores null as the marker: eq would match the null rows, lt would be
    empty, in would fail; each is refused, naming the marker and is_null."""
    expected = marker_refusal(column, marker, name)
    for op in ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"):
        value: Any = [marker] if op in ("in", "not_in") else marker
        message = await tools.error(
            "session_table_data",
            session_id=ANON,
            table_name=EDGE,
            filters=[{"column": column, "op": op, "value": value}],
        )
        assert expected in message, (op, message)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("I", 3_000_000_000, "out of range for int (-2147483647..2147483647)"),
        ("Y", 300, "out of range for byte (-127..127)"),
        ("H", -40_000, "out of range for short (-32767..32767)"),
        ("L", 2**63, "out of range for long (-9223372036854775807..9223372036854775807)"),
        ("F", 1e39, "out of range for float"),
    ],
)
async def test_a_value_out_of_the_column_range_is_refused(
    tools: ToolCaller, column: str, value: Any, message: str
) -> None:
    for op in ("eq", "lt", "in"):
        got = await tools.error(
            "session_table_data",
            session_id=ANON,
            table_name=EDGE,
            filters=[{"column": column, "op": op, "value": [value] if op == "in" else value}],
        )
        assert f"filter value {value!r} on column '{column}' is {message}" in got


async def test_the_range_edges_still_match(tools: ToolCaller, rows: list[Row]) -> None:
    for column in ("Y", "H", "I", "L", "F", "D"):
        values = [row[column] for row in rows if row[column] is not None]
        finite = [v for v in values if not (isinstance(v, float) and not math.isfinite(v))]
        for value in (min(finite), max(finite)):
            expected = [row["Id"] for row in rows if row[column] == value]
            assert await _ids(tools, [{"column": column, "op": "eq", "value": value}]) == expected


# -- 2. ordering against infinities ----------------------------------------------------

_SYMBOLS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _ordered(op: str, bound: float) -> Callable[[Any], bool]:
    """Deephaven's ordering: null is below every value (-Infinity too); NaN passes none."""

    def keep(x: Any) -> bool:
        if x is None:
            return op in ("lt", "le")
        if math.isnan(x):
            return False
        return bool({"lt": x < bound, "le": x <= bound, "gt": x > bound, "ge": x >= bound}[op])

    return keep


@pytest.mark.parametrize("column", ["D", "F"])
@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
@pytest.mark.parametrize("word", ["Infinity", "-Infinity"])
async def test_ordering_against_infinity_is_the_engines(
    tools: ToolCaller,
    pydh: Session,
    rows: list[Row],
    column: str,
    op: str,
    word: str,
) -> None:
    java = "Double" if column == "D" else "Float"
    infinity = f"{java}.{'POSITIVE' if word == 'Infinity' else 'NEGATIVE'}_INFINITY"
    engine = _engine_ids(pydh, f"{column} {_SYMBOLS[op]} {infinity}")
    keep = _ordered(op, math.inf if word == "Infinity" else -math.inf)
    predicate = [row["Id"] for row in rows if keep(row[column])]
    assert engine == predicate
    assert await _ids(tools, [{"column": column, "op": op, "value": word}]) == engine


@pytest.mark.parametrize("column", ["D", "F"])
@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
async def test_ordering_against_tiny_and_long_numbers_is_exact(
    tools: ToolCaller, pydh: Session, column: str, op: str
) -> None:
    """Regression: the engine's range filter rounded its value to about 16 decimal places,
    so le -3.641955793401245e-29 kept the zeros and lt 1e-20 dropped them."""
    stored = arrow(pydh, TINY).to_pylist()
    for value in [
        1e-20,
        -1e-20,
        -3.641955793401245e-29,
        5e-324,
        1.0000000000000002e-5,
        1.2345678901234567e-10,
        1e-40,
        0.0,
        -0.0,
    ]:
        bound = float(np.float32(value)) if column == "F" else value
        keep = _ordered(op, bound)
        expected = [row["Id"] for row in stored if keep(row[column])]
        filters = [{"column": column, "op": op, "value": value}]
        got = await kept_ids(tools, ANON, TINY, filters)
        assert got == expected, (column, op, value)
        # Inside any_of, beside a condition on another column, the same rows.
        either = [{"any_of": [*filters, {"column": "Id", "op": "eq", "value": -1}]}]
        assert await kept_ids(tools, ANON, TINY, either) == expected


# -- 3 and 12. matches and contains follow the engine's rule ---------------------------


async def test_an_invalid_pattern_is_named(tools: ToolCaller, systems: DeephavenSystems) -> None:
    filters = [
        {
            "any_of": [
                {"column": "S", "op": "matches", "value": r"\p{L}+"},
                {"column": "S", "op": "matches", "value": "("},
            ]
        }
    ]
    message = await tools.error(
        "session_table_data", session_id=ANON, table_name=EDGE, filters=filters
    )
    assert message.startswith("invalid pattern '(' for matches on column 'S': ")
    with pytest.raises(InvalidArgumentError) as caught:
        await systems.session_table_data(ANON, EDGE, filters=filters)
    assert str(caught.value) == message
    # The tools that filter before they compute say the same.
    summary = await tools.error(
        "session_table_summary", session_id=ANON, table_name=EDGE, filters=filters
    )
    aggregate = await tools.error(
        "session_table_aggregate",
        session_id=ANON,
        table_name=EDGE,
        filters=filters,
        aggregations=[{"op": "count"}],
    )
    assert summary == aggregate == message


@pytest.mark.parametrize(
    "pattern", [".*e", "new.line", r"\p{L}+", "a.b", "(?i)abc", "Ü.*✓", r"q'\"\\z", "abc|é"]
)
async def test_matches_is_a_whole_value_java_regex_with_dotall(
    tools: ToolCaller, pydh: Session, rows: list[Row], pattern: str
) -> None:
    """Java's Pattern.compile(p, DOTALL).matcher(s).matches(); null never matches. The
    Python oracle uses fullmatch with DOTALL (these patterns mean the same in both)."""
    engine = _pydeephaven_ids(pydh, dh.matches("S", pattern))
    python_pattern = pattern.replace(r"\p{L}", "[^\\W\\d_]")
    oracle = [
        row["Id"]
        for row in rows
        if row["S"] is not None and re.fullmatch(python_pattern, row["S"], re.DOTALL)
    ]
    assert engine == oracle
    assert await _ids(tools, [{"column": "S", "op": "matches", "value": pattern}]) == oracle


@pytest.mark.parametrize("needle", ["b", "B", "", ".", "\n", "'\"\\", "✓", "ABC"])
async def test_contains_is_a_case_sensitive_substring(
    tools: ToolCaller, rows: list[Row], needle: str
) -> None:
    expected = [row["Id"] for row in rows if row["S"] is not None and needle in row["S"]]
    assert await _ids(tools, [{"column": "S", "op": "contains", "value": needle}]) == expected


async def test_strings_with_quotes_and_backslashes_compare_exactly(
    tools: ToolCaller, rows: list[Row]
) -> None:
    for value in ["q'\"\\z", "new\nline", "Ünï ✓", "é"]:
        expected = [row["Id"] for row in rows if row["S"] == value]
        assert expected
        assert await _ids(tools, [{"column": "S", "op": "eq", "value": value}]) == expected
        assert await _ids(tools, [{"column": "S", "op": "in", "value": [value]}]) == expected


# -- 4. timestamps: what a read shows, a filter matches --------------------------------


async def test_a_timestamp_copied_from_a_read_matches_its_row(tools: ToolCaller) -> None:
    answer = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name=EDGE,
        columns=["Id", "T"],
        format="json-row",
    )
    shown = {row["Id"]: row["T"] for row in answer["data"]}
    assert shown[0] == "2026-12-07T11:49:59.706000988Z"
    assert shown[1] == "2026-12-07T11:49:59.707000989Z"
    for row_id, text in shown.items():
        if text is None:
            continue
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", text)
        assert await _ids(tools, [{"column": "T", "op": "eq", "value": text}]) == [row_id]
    # The same instant with an offset, and one nanosecond later.
    assert await _ids(
        tools, [{"column": "T", "op": "eq", "value": "2026-12-07T13:49:59.706000988+02:00"}]
    ) == [0]
    later = [{"column": "T", "op": "gt", "value": "2026-12-07T11:49:59.706000988"}]
    assert 0 not in await _ids(tools, later)


INSTANT_NANOS: list[int | None] = [-1, 0, 41_235, 2_190_000_000, 10**17, BASE_NS, None]


def _iso(nanos: int) -> str:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def _keeps(op: str, value: Any, x: int | None) -> bool:
    """Deephaven's rules on Instants: null is below every value, equal to none; ne and
    not_in keep nulls."""
    if op == "in":
        return x is not None and x in value
    if op == "not_in":
        return x is None or x not in value
    if x is None:
        return op in ("ne", "lt", "le")
    return bool(
        {
            "eq": x == value,
            "ne": x != value,
            "lt": x < value,
            "le": x <= value,
            "gt": x > value,
            "ge": x >= value,
        }[op]
    )


async def _instant_ids(tools: ToolCaller, filters: list[dict[str, Any]]) -> list[int]:
    answer = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name=INSTANTS,
        max_rows=None,
        filters=filters,
        format="json-column",
    )
    # The helper column is gone; the table's own column of that name is untouched.
    assert list(answer["data"]) == ["Id", "N", "__dh_mcp_nanos_2", "T"]
    assert set(answer["data"]["__dh_mcp_nanos_2"]) <= {7}
    return list(answer["data"]["Id"])


@pytest.mark.parametrize("nanos", [n for n in INSTANT_NANOS if n is not None])
async def test_instants_near_1970_compare_exactly(tools: ToolCaller, nanos: int) -> None:
    """-1 ns, 0, 41235 ns, 2.19 s and 1e17 ns are Instants like any other (the engine reads
    such magnitudes in an Instant literal as seconds, millis or micros)."""
    row = INSTANT_NANOS.index(nanos)
    assert await _instant_ids(tools, [{"column": "N", "op": "eq", "value": nanos}]) == [row]
    text = _iso(nanos)
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        expected = [i for i, x in enumerate(INSTANT_NANOS) if _keeps(op, nanos, x)]
        got = await _instant_ids(tools, [{"column": "T", "op": op, "value": text}])
        assert got == expected, (op, text)
    other = 41_235 if nanos != 41_235 else -1
    for op in ("in", "not_in"):
        for listed in ([nanos], [nanos, other]):
            expected = [i for i, x in enumerate(INSTANT_NANOS) if _keeps(op, listed, x)]
            values = [_iso(n) for n in listed]
            got = await _instant_ids(tools, [{"column": "T", "op": op, "value": values}])
            assert got == expected, (op, values)


async def test_instant_filters_combine_with_any_of_and_null_tests(tools: ToolCaller) -> None:
    near: list[dict[str, Any]] = [
        {
            "any_of": [
                {"column": "T", "op": "lt", "value": _iso(0)},
                {"column": "T", "op": "ge", "value": _iso(10**17)},
            ]
        },
        {"column": "T", "op": "not_null"},
    ]
    assert await _instant_ids(tools, near) == [0, 4, 5]
    assert await _instant_ids(tools, [{"column": "T", "op": "is_null"}]) == [6]


async def test_a_summary_and_an_aggregate_filter_instants_near_1970(tools: ToolCaller) -> None:
    filters = [
        {"column": "T", "op": "gt", "value": _iso(-1)},
        {"column": "T", "op": "le", "value": _iso(2_190_000_000)},
    ]  # 0, 41235 ns, 2.19 s
    summary = await tools.ok(
        "session_table_summary",
        session_id=ANON,
        table_name=INSTANTS,
        columns=["N", "T"],
        filters=filters,
    )
    assert summary["row_count"] == 3
    by_name = {entry["name"]: entry for entry in summary["columns"]}
    assert (by_name["N"]["min"], by_name["N"]["max"]) == (0, 2_190_000_000)
    assert (by_name["T"]["min"], by_name["T"]["max"]) == (
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:00:02.190Z",
    )
    answer = await tools.ok(
        "session_table_aggregate",
        session_id=ANON,
        table_name=INSTANTS,
        aggregations=[{"op": "count"}, {"op": "sum", "column": "N", "as": "SumN"}],
        filters=filters,
        format="json-row",
    )
    assert answer["data"] == [{"Count": 3, "SumN": 41_235 + 2_190_000_000}]
    ne = [{"column": "T", "op": "ne", "value": _iso(41_235)}]  # nulls kept
    answer = await tools.ok(
        "session_table_aggregate",
        session_id=ANON,
        table_name=INSTANTS,
        aggregations=[{"op": "count"}],
        filters=ne,
        format="json-row",
    )
    assert answer["data"] == [{"Count": 6}]


INSTANT_MARKER = "1677-09-21T00:12:43.145224192Z"  # Long.MIN_VALUE nanoseconds


async def test_the_instant_null_marker_is_refused_with_a_hint(
    tools: ToolCaller, systems: DeephavenSystems
) -> None:
    expected = (
        f"filter value {INSTANT_MARKER!r} on column 'T' (Instant) is Deephaven's null marker "
        'for Instant; use {"op": "is_null"} to find nulls'
    )
    for op in ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"):
        value: Any = [_iso(0), INSTANT_MARKER] if op in ("in", "not_in") else INSTANT_MARKER
        filters = [{"column": "T", "op": op, "value": value}]
        message = await tools.error(
            "session_table_data", session_id=ANON, table_name=INSTANTS, filters=filters
        )
        assert message.startswith(expected), (op, message)
        with pytest.raises(InvalidArgumentError) as caught:
            await systems.session_table_data(ANON, INSTANTS, filters=filters)
        assert str(caught.value) == message
    summary = await tools.error(
        "session_table_summary",
        session_id=ANON,
        table_name=INSTANTS,
        filters=[{"column": "T", "op": "eq", "value": INSTANT_MARKER}],
    )
    assert summary.startswith(expected)


def test_the_base_instant_is_the_one_the_read_shows() -> None:
    seconds, nanos = divmod(BASE_NS, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    assert (moment.isoformat(), nanos) == ("2026-12-07T11:49:59+00:00", 706_000_988)


# -- one wording on both paths ----------------------------------------------------------

BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"filters": "I = 1"},
    {"filters": ["I > 3"]},
    {"filters": [{"column": "I", "op": "in", "value": [1, None]}]},
    {"filters": [{"column": "I", "op": "eq"}]},
    {"filters": [{"column": "I", "op": "eq", "value": {"a": 1}}]},
    {"filters": [{"column": "I", "op": "like", "value": 1}]},
    {"filters": [{"any_of": [{"column": "I", "op": "eq", "value": [1]}]}]},
    {"filters": [{"column": "I", "op": "is_null", "value": 1}]},
    {"filters": [{"column": "I", "op": "eq", "value": 1, "x": 2}]},
    {"filters": [{"any_of": [{"any_of": [{"column": "I", "op": "is_null"}]}]}]},
    {"filters": [{"column": "I", "op": "eq", "value": True}]},
    {"filters": [{"column": "I", "op": "eq", "value": -2147483648}]},
    {"filters": [{"column": "S", "op": "matches", "value": "["}]},
    {"sort": [{"column": "I", "descending": "yes"}]},
]


async def test_both_paths_word_a_bad_argument_identically(
    tools: ToolCaller, systems: DeephavenSystems
) -> None:
    seen: list[str] = []
    for arguments in BAD_ARGUMENTS:
        message = await tools.error(
            "session_table_data", session_id=ANON, table_name=EDGE, **arguments
        )
        with pytest.raises(InvalidArgumentError) as caught:
            await systems.session_table_data(ANON, EDGE, **arguments)
        assert str(caught.value) == message, arguments
        seen.append(message)
    assert seen[2] == (
        'invalid argument filters[0].value[1]: null is not a value to compare with; use {"op": '
        '"is_null"} to find nulls (inside any_of to combine it with other values)'
    )
    assert seen[3] == (
        "invalid argument filters[0]: op 'eq' needs a value; to test for null use {\"op\": "
        '"is_null"}'
    )
    for message in seen[:10]:
        assert "Condition" not in message and "AnyOf" not in message and "Scalar" not in message
