"""Fixed cases at the edges the generated tables cannot cover without hiding everything else:
refused filter values (null markers, out of range) on every column type, -0.0 against 0.0,
and the extremes of the Instant range."""

from __future__ import annotations

from typing import Any

import pytest
from pydeephaven import Session

from tests.mcp_systems_server._helpers import ToolCaller
from tests.oracle._gen import (
    FLOAT_MAX,
    INT_BITS,
    INT_MARKERS,
    LOWEST_READABLE_NANOS,
    NULL_DOUBLE,
    NULL_FLOAT,
    NULL_LONG,
    Drawn,
    Published,
    publish,
)
from tests.oracle._model import iso_nanos
from tests.oracle.conftest import SESSION_ID

pytestmark = pytest.mark.integration

TABLE = "oracle_edges"


def _table(pydh: Session, name: str, ts: list[int | None], f64: list[float | None]) -> Published:
    rows = len(ts)
    columns: dict[str, list[Any]] = {"Id": list(range(rows))}
    for column in ("B8", "S16", "I32", "L64", "F32", "Bool", "Ch", "Str", "Day"):
        columns[column] = [None] * rows
    columns["F64"] = f64
    columns["Ts"] = ts
    return publish(pydh, name, Drawn(columns))


async def _error(tools: ToolCaller, table: str, filters: list[dict[str, Any]]) -> str:
    return await tools.error(
        "session_table_data", session_id=SESSION_ID, table_name=table, filters=filters
    )


async def _ids(tools: ToolCaller, table: str, **request: Any) -> list[Any]:
    answer = await tools.ok(
        "session_table_data",
        session_id=SESSION_ID,
        table_name=table,
        columns=["Id"],
        format="json-column",
        max_rows=None,
        **request,
    )
    return list(answer["data"]["Id"])


MARKERS: list[tuple[str, Any]] = [
    *INT_MARKERS.items(),
    ("F32", NULL_FLOAT),
    ("F64", NULL_DOUBLE),
    ("Ts", iso_nanos(NULL_LONG)),
]
OUT_OF_RANGE: list[tuple[str, Any]] = [
    *((name, 2 ** (bits - 1)) for name, bits in INT_BITS.items()),
    *((name, -(2 ** (bits - 1)) - 1) for name, bits in INT_BITS.items()),
    ("F32", FLOAT_MAX * 2),
]


@pytest.fixture(scope="module")
def edges(pydh: Session) -> Published:
    return _table(pydh, TABLE, [0, -1, 1, None], [0.0, -0.0, None, 1.0])


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "ge", "in"])
@pytest.mark.parametrize(("column", "marker"), MARKERS)
async def test_null_markers_are_refused(
    tools: ToolCaller, edges: Published, column: str, marker: Any, op: str
) -> None:
    value = [marker] if op == "in" else marker
    message = await _error(tools, TABLE, [{"column": column, "op": op, "value": value}])
    assert "null marker" in message and "is_null" in message, message


@pytest.mark.parametrize("op", ["eq", "gt", "not_in"])
@pytest.mark.parametrize(("column", "value"), OUT_OF_RANGE)
async def test_out_of_range_values_are_refused(
    tools: ToolCaller, edges: Published, column: str, value: Any, op: str
) -> None:
    sent = [value] if op == "not_in" else value
    message = await _error(tools, TABLE, [{"column": column, "op": op, "value": sent}])
    assert "out of range" in message, message


async def test_negative_zero_equals_zero(tools: ToolCaller, edges: Published) -> None:
    """The engine's rule, as Java's ==: -0.0 eq 0.0 (both ways)."""
    assert await _ids(tools, TABLE, filters=[{"column": "F64", "op": "eq", "value": 0}]) == [0, 1]
    assert await _ids(tools, TABLE, filters=[{"column": "F64", "op": "eq", "value": -0.0}]) == [
        0,
        1,
    ]
    assert await _ids(tools, TABLE, filters=[{"column": "F64", "op": "ne", "value": 0}]) == [2, 3]


async def test_timestamps_near_the_epoch_match_their_own_text(
    tools: ToolCaller, edges: Published
) -> None:
    """Instants within about three years of 1970 (|nanos| < 1e17) as filter values."""
    text = iso_nanos(-1)
    assert text == "1969-12-31T23:59:59.999999999Z"
    assert await _ids(tools, TABLE, filters=[{"column": "Ts", "op": "eq", "value": text}]) == [1]
    one = iso_nanos(1)
    assert await _ids(tools, TABLE, filters=[{"column": "Ts", "op": "eq", "value": one}]) == [2]
    assert await _ids(tools, TABLE, filters=[{"column": "Ts", "op": "gt", "value": text}]) == [
        0,
        2,
    ]


async def test_the_lowest_instants_can_be_read(tools: ToolCaller, pydh: Session) -> None:
    lowest = NULL_LONG + 1
    _table(pydh, "oracle_edges_low", [lowest, LOWEST_READABLE_NANOS - 1], [None, None])
    answer = await tools.ok(
        "session_table_data",
        session_id=SESSION_ID,
        table_name="oracle_edges_low",
        columns=["Ts"],
        format="json-column",
    )
    assert answer["data"]["Ts"] == [iso_nanos(lowest), iso_nanos(LOWEST_READABLE_NANOS - 1)]


async def test_buckets_of_the_extreme_instants(tools: ToolCaller, pydh: Session) -> None:
    """The largest Instant has a bucket; a bucket start before the long range is no value."""
    _table(pydh, "oracle_edges_max", [2**63 - 1], [None])
    answer = await tools.ok(
        "session_table_aggregate",
        session_id=SESSION_ID,
        table_name="oracle_edges_max",
        group_by=[{"column": "Ts", "bin": "1d", "as": "Day1"}],
        aggregations=[{"op": "count"}],
        format="json-row",
    )
    day = 86400 * 10**9
    assert answer["data"] == [{"Day1": iso_nanos((2**63 - 1) // day * day), "Count": 1}]

    _table(pydh, "oracle_edges_min", [LOWEST_READABLE_NANOS], [None])
    answer = await tools.call(
        "session_table_aggregate",
        session_id=SESSION_ID,
        table_name="oracle_edges_min",
        group_by=[{"column": "Ts", "bin": "84s", "as": "B"}],
        aggregations=[{"op": "count"}],
        format="json-row",
    )
    # floor(t / 84s) * 84s is below the lowest Instant: an error or a null bucket, not a
    # bucket in 2262.
    if answer["success"]:
        assert answer["data"] == [{"B": None, "Count": 1}], answer["data"]


async def test_whole_table_aggregate_of_no_rows_is_one_row(
    tools: ToolCaller, edges: Published
) -> None:
    """'Null or empty group_by: one row over the whole table', also when no row passes."""
    answer = await tools.ok(
        "session_table_aggregate",
        session_id=SESSION_ID,
        table_name=TABLE,
        filters=[{"column": "Id", "op": "lt", "value": 0}],
        aggregations=[{"op": "count"}, {"op": "sum", "column": "F64", "as": "S"}],
        format="json-row",
    )
    assert answer["data"] == [{"Count": 0, "S": None}]
