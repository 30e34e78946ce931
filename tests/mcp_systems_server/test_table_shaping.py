"""Shaping reads without code (columns, structured filters, sort, paging) through MCP.

Every filtered answer is compared with the same operation worked out independently: a
Python predicate over the rows fetched with pydeephaven, spelling out Deephaven's null and
NaN semantics; sorts and the "largest trades" query are compared with pydeephaven itself.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pydeephaven import Session, SortDirection
from pydeephaven import filters as dh

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.shaping import parse_catalog_filters
from tests._workers import RunningWorker
from tests.enterprise.catalog_data import CATALOG_ROWS
from tests.enterprise.conftest import PASSWORD
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.mcp_systems_server._helpers import ToolCaller, arrow, kept_ids, mcp_tools
from tests.mcp_systems_server.test_enterprise_tools import _system

pytestmark = pytest.mark.integration

ANON = "community:config:anon"
AWKWARD = "shaping_awkward"
BIG = "shaping_big"
BIG_ROWS = 1_000_000
TICKING = "shaping_ticking"
BASE = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
# Read-only (for the shared tools fixture, conftest): shaping compiles nothing.
READ_ONLY = True

SETUP = f"""
from deephaven import empty_table, new_table, time_table
from deephaven.column import bool_col, double_col, int_col, string_col
from deephaven.constants import NULL_DOUBLE, NULL_INT

nan, inf = float("nan"), float("inf")
{AWKWARD} = new_table([
    int_col("Id", list(range(10))),
    int_col("I", [1, NULL_INT, 3, -4, 5, 6, 3, 0, NULL_INT, 100]),
    double_col("D", [1.5, NULL_DOUBLE, nan, inf, -inf, 0.0, -2.25, 1e300, nan, 1.5]),
    string_col("S", ["a", None, "ünï¢ødé ✓", "", "Abc", "abc", "a|b", "line1\\nline2", None, "ünï"]),
    bool_col("B", [True, None, False, True, False, None, True, False, True, None]),
]).update(["T = (i % 4 == 1) ? null : '2024-03-01T12:00:00 UTC' + i * HOUR"])
{BIG} = empty_table({BIG_ROWS}).update("X = i")
{TICKING} = time_table("PT0.1S")
"""
SETUP_TABLES = (AWKWARD, BIG, TICKING)

Row = dict[str, Any]


def _nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _less(x: Any, v: Any) -> bool:
    """Deephaven's lt: null is below everything, NaN passes no ordering test."""
    return x is None or (not _nan(x) and x < v)


def _greater(x: Any, v: Any) -> bool:
    return x is not None and not _nan(x) and x > v


def _when(hours: int) -> str:
    return (BASE + dt.timedelta(hours=hours)).isoformat()


# (filters, the rows they keep). Covers every op on every column type.
CASES: list[tuple[list[dict[str, Any]], Callable[[Row], bool]]] = [
    # int, with nulls
    ([{"column": "I", "op": "eq", "value": 3}], lambda r: r["I"] == 3),
    ([{"column": "I", "op": "ne", "value": 3}], lambda r: r["I"] != 3),
    ([{"column": "I", "op": "lt", "value": 3}], lambda r: _less(r["I"], 3)),
    ([{"column": "I", "op": "le", "value": 3}], lambda r: _less(r["I"], 3) or r["I"] == 3),
    ([{"column": "I", "op": "gt", "value": 3}], lambda r: _greater(r["I"], 3)),
    ([{"column": "I", "op": "ge", "value": 3.0}], lambda r: _greater(r["I"], 3) or r["I"] == 3),
    ([{"column": "I", "op": "in", "value": [1, 3, 99]}], lambda r: r["I"] in (1, 3, 99)),
    ([{"column": "I", "op": "not_in", "value": [1, 3]}], lambda r: r["I"] not in (1, 3)),
    ([{"column": "I", "op": "is_null"}], lambda r: r["I"] is None),
    ([{"column": "I", "op": "not_null"}], lambda r: r["I"] is not None),
    # double, with nulls, NaN and infinities
    ([{"column": "D", "op": "eq", "value": 1.5}], lambda r: r["D"] == 1.5),
    ([{"column": "D", "op": "eq", "value": "NaN"}], lambda r: _nan(r["D"])),
    ([{"column": "D", "op": "ne", "value": "NaN"}], lambda r: not _nan(r["D"])),
    ([{"column": "D", "op": "eq", "value": "-Infinity"}], lambda r: r["D"] == -math.inf),
    ([{"column": "D", "op": "ne", "value": 0}], lambda r: r["D"] != 0),
    ([{"column": "D", "op": "lt", "value": 1}], lambda r: _less(r["D"], 1)),
    ([{"column": "D", "op": "le", "value": 1.5}], lambda r: _less(r["D"], 1.5) or r["D"] == 1.5),
    ([{"column": "D", "op": "gt", "value": 1}], lambda r: _greater(r["D"], 1)),
    ([{"column": "D", "op": "ge", "value": 0}], lambda r: _greater(r["D"], 0) or r["D"] == 0),
    ([{"column": "D", "op": "in", "value": [1.5, -2.25]}], lambda r: r["D"] in (1.5, -2.25)),
    (
        [{"column": "D", "op": "in", "value": ["NaN", "Infinity", 0]}],
        lambda r: _nan(r["D"]) or r["D"] in (math.inf, 0.0),
    ),
    (
        [{"column": "D", "op": "not_in", "value": ["NaN", 1.5]}],
        lambda r: not _nan(r["D"]) and r["D"] != 1.5,
    ),
    ([{"column": "D", "op": "is_null"}], lambda r: r["D"] is None),
    ([{"column": "D", "op": "not_null"}], lambda r: r["D"] is not None),
    # string, with nulls, unicode, the empty string
    ([{"column": "S", "op": "eq", "value": "ünï"}], lambda r: r["S"] == "ünï"),
    ([{"column": "S", "op": "eq", "value": ""}], lambda r: r["S"] == ""),
    ([{"column": "S", "op": "ne", "value": "abc"}], lambda r: r["S"] != "abc"),
    ([{"column": "S", "op": "in", "value": ["a", "ünï", "zz"]}], lambda r: r["S"] in ("a", "ünï")),
    ([{"column": "S", "op": "not_in", "value": ["a", ""]}], lambda r: r["S"] not in ("a", "")),
    ([{"column": "S", "op": "is_null"}], lambda r: r["S"] is None),
    ([{"column": "S", "op": "not_null"}], lambda r: r["S"] is not None),
    (
        [{"column": "S", "op": "contains", "value": "ï"}],
        lambda r: r["S"] is not None and "ï" in r["S"],
    ),
    (
        [{"column": "S", "op": "contains", "value": "|"}],
        lambda r: r["S"] is not None and "|" in r["S"],
    ),
    (
        [{"column": "S", "op": "matches", "value": "[aA]b.*"}],
        lambda r: r["S"] is not None and re.fullmatch("[aA]b.*", r["S"]) is not None,
    ),
    (
        [{"column": "S", "op": "matches", "value": "ü.*✓"}],
        lambda r: r["S"] is not None and re.fullmatch("ü.*✓", r["S"]) is not None,
    ),
    # matches is Java's Pattern.compile(p, DOTALL).matcher(s).matches(): "." spans lines
    (
        [{"column": "S", "op": "matches", "value": "line.*2"}],
        lambda r: r["S"] is not None and re.fullmatch("line.*2", r["S"], re.DOTALL) is not None,
    ),
    # boolean, with nulls
    ([{"column": "B", "op": "eq", "value": True}], lambda r: r["B"] is True),
    ([{"column": "B", "op": "ne", "value": True}], lambda r: r["B"] is not True),
    ([{"column": "B", "op": "in", "value": [False]}], lambda r: r["B"] is False),
    ([{"column": "B", "op": "not_in", "value": [False]}], lambda r: r["B"] is not False),
    ([{"column": "B", "op": "is_null"}], lambda r: r["B"] is None),
    ([{"column": "B", "op": "not_null"}], lambda r: r["B"] is not None),
    # timestamp, with nulls; offsets and a missing zone (UTC)
    ([{"column": "T", "op": "eq", "value": _when(2)}], lambda r: r["T"] == BASE + _h(2)),
    ([{"column": "T", "op": "ne", "value": "2024-03-01T14:00:00Z"}], lambda r: r["T"] != _at(2)),
    (
        [{"column": "T", "op": "lt", "value": "2024-03-01T15:00:00"}],
        lambda r: _less(r["T"], _at(3)),
    ),
    (
        [{"column": "T", "op": "le", "value": "2024-03-01T16:00:00+01:00"}],
        lambda r: _less(r["T"], _at(3)) or r["T"] == _at(3),
    ),
    ([{"column": "T", "op": "gt", "value": _when(6)}], lambda r: _greater(r["T"], _at(6))),
    ([{"column": "T", "op": "ge", "value": _when(6)}], lambda r: not _less(r["T"], _at(6))),
    (
        [{"column": "T", "op": "in", "value": [_when(0), _when(7), _when(100)]}],
        lambda r: r["T"] in (_at(0), _at(7)),
    ),
    ([{"column": "T", "op": "not_in", "value": [_when(0)]}], lambda r: r["T"] != _at(0)),
    ([{"column": "T", "op": "is_null"}], lambda r: r["T"] is None),
    ([{"column": "T", "op": "not_null"}], lambda r: r["T"] is not None),
    # AND of items, OR inside any_of
    (
        [
            {"column": "I", "op": "not_null"},
            {
                "any_of": [
                    {"column": "B", "op": "eq", "value": True},
                    {"column": "D", "op": "eq", "value": "NaN"},
                ]
            },
        ],
        lambda r: r["I"] is not None and (r["B"] is True or _nan(r["D"])),
    ),
]


def _h(hours: int) -> dt.timedelta:
    return dt.timedelta(hours=hours)


def _at(hours: int) -> dt.datetime:
    return BASE + _h(hours)


@pytest.fixture(scope="module")
def rows(pydh: Session) -> list[Row]:
    """The awkward table's rows."""
    found: list[Row] = arrow(pydh, AWKWARD).to_pylist()
    return found


async def _ids(tools: ToolCaller, filters: list[dict[str, Any]]) -> list[int]:
    return await kept_ids(tools, ANON, AWKWARD, filters)


@pytest.mark.parametrize(("filters", "keep"), CASES)
async def test_every_op_on_every_type(
    tools: ToolCaller,
    rows: list[Row],
    filters: list[dict[str, Any]],
    keep: Callable[[Row], bool],
) -> None:
    expected = [row["Id"] for row in rows if keep(row)]
    assert await _ids(tools, filters) == expected


async def test_filters_match_pydeephaven_filters(tools: ToolCaller, pydh: Session) -> None:
    """The same conditions written directly with pydeephaven.filters give the same rows."""
    column = dh.ColumnName
    independent = dh.and_(
        [
            dh.is_not_null("S"),
            dh.or_([dh.gt(column("I"), 2), dh.contains("S", "b")]),
            dh.not_(dh.in_("B", [False])),
        ]
    )
    table = pydh.open_table(AWKWARD)
    filtered = table.where(independent)
    expected = filtered.to_arrow().column("Id").to_pylist()
    filtered.close()
    table.close()
    got = await _ids(
        tools,
        [
            {"column": "S", "op": "not_null"},
            {
                "any_of": [
                    {"column": "I", "op": "gt", "value": 2},
                    {"column": "S", "op": "contains", "value": "b"},
                ]
            },
            {"column": "B", "op": "not_in", "value": [False]},
        ],
    )
    assert got == expected and got


async def test_wrong_values_and_columns_are_clear_errors(tools: ToolCaller) -> None:
    async def error(**arguments: Any) -> str:
        return await tools.error(
            "session_table_data", session_id=ANON, table_name=AWKWARD, **arguments
        )

    message = await error(filters=[{"column": "I", "op": "eq", "value": "three"}])
    assert "column 'I' of type int32" in message
    message = await error(filters=[{"column": "T", "op": "gt", "value": "noon"}])
    assert "column 'T'" in message and "ISO-8601" in message
    message = await error(filters=[{"column": "D", "op": "contains", "value": "1"}])
    assert "string columns" in message
    message = await error(filters=[{"column": "Nope", "op": "is_null"}])
    assert "unknown column 'Nope'" in message and "Id, I, D, S, B, T" in message
    message = await error(columns=["Id", "Nope"])
    assert "unknown column 'Nope'" in message and "Id, I, D, S, B, T" in message
    message = await error(sort=[{"column": "Nope"}])
    assert "unknown column 'Nope'" in message
    assert "any_of" in await error(filters=[{"any_of": [{"any_of": []}]}])
    assert "offset" in await error(offset=-1)
    # A where-clause string is not a structured condition.
    assert await error(filters=["I > 3"])


async def test_columns_subset_and_order(tools: ToolCaller, rows: list[Row]) -> None:
    answer = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name=AWKWARD,
        columns=["S", "Id"],
        filters=[{"column": "B", "op": "eq", "value": True}],  # on a column left out
        format="json-row",
    )
    assert answer["schema"] == [{"name": "S", "type": "string"}, {"name": "Id", "type": "int32"}]
    assert [list(row) for row in answer["data"]] == [["S", "Id"]] * answer["row_count"]
    assert [row["Id"] for row in answer["data"]] == [r["Id"] for r in rows if r["B"] is True]


async def test_sort_matches_pydeephaven(tools: ToolCaller, pydh: Session) -> None:
    answer = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name=AWKWARD,
        columns=["Id"],
        sort=[{"column": "D", "descending": True}, {"column": "Id"}],
        format="json-column",
    )
    table = pydh.open_table(AWKWARD)
    ordered = table.sort(["D", "Id"], [SortDirection.DESCENDING, SortDirection.ASCENDING])
    expected = ordered.to_arrow().column("Id").to_pylist()
    ordered.close()
    table.close()
    assert answer["data"]["Id"] == expected


async def test_unshaped_answer_is_todays_plus_the_new_fields(tools: ToolCaller) -> None:
    answer = await tools.ok(
        "session_table_data", session_id=ANON, table_name=AWKWARD, max_rows=3, format="csv"
    )
    assert answer["row_count"] == 3 and answer["is_complete"] is False
    assert answer["total_rows"] == 10 and answer["next_offset"] == 3
    assert [c["name"] for c in answer["schema"]] == ["Id", "I", "D", "S", "B", "T"]


async def test_paging_visits_every_row_once(tools: ToolCaller) -> None:
    page_size = 200_000
    offset: int | None = 0
    pages = total = count = 0
    while offset is not None:
        answer = await tools.ok(
            "session_table_data",
            session_id=ANON,
            table_name=BIG,
            max_rows=page_size,
            offset=offset,
            format="json-column",
        )
        values = answer["data"]["X"]
        assert values[0] == offset and values == list(range(offset, offset + len(values)))
        assert answer["total_rows"] == BIG_ROWS and answer["is_refreshing"] is False
        assert answer["is_complete"] is False
        total += sum(values)
        count += len(values)
        pages += 1
        offset = answer["next_offset"]
    assert (pages, count, total) == (5, BIG_ROWS, BIG_ROWS * (BIG_ROWS - 1) // 2)

    past = await tools.ok(
        "session_table_data", session_id=ANON, table_name=BIG, offset=BIG_ROWS + 5
    )
    assert past["row_count"] == 0 and past["next_offset"] is None
    assert past["total_rows"] == BIG_ROWS


async def test_paging_backwards_over_a_filtered_table(tools: ToolCaller) -> None:
    """head=false: offset counts from the end; each page keeps table order."""
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        answer = await tools.ok(
            "session_table_data",
            session_id=ANON,
            table_name=BIG,
            filters=[{"column": "X", "op": "lt", "value": 1_000}],
            max_rows=300,
            head=False,
            offset=offset,
            format="json-column",
        )
        assert answer["total_rows"] == 1_000
        page = answer["data"]["X"]
        assert page == sorted(page) and page[-1] == 999 - offset
        seen = page + seen
        offset = answer["next_offset"]
    assert seen == list(range(1_000))


async def test_largest_trades_of_one_symbol(tools: ToolCaller, pydh: Session) -> None:
    answer = await tools.ok(
        "session_table_data",
        session_id=ANON,
        table_name="trades",
        filters=[{"column": "Sym", "op": "eq", "value": "NVDA"}],
        sort=[{"column": "Size", "descending": True}],
        columns=["Timestamp", "Sym", "Size", "Price"],
        max_rows=10,
        format="json-column",
    )
    trades = pydh.open_table("trades")
    nvda = trades.where(dh.eq(dh.ColumnName("Sym"), "NVDA"))
    largest = nvda.sort(["Size"], [SortDirection.DESCENDING])
    top = largest.head(10)
    expected = top.to_arrow().to_pydict()
    for table in (top, largest, nvda, trades):
        table.close()
    assert answer["row_count"] == 10 and answer["total_rows"] == 2_000
    assert answer["data"]["Size"] == expected["Size"]
    assert answer["data"]["Price"] == expected["Price"]
    assert set(answer["data"]["Sym"]) == {"NVDA"}


async def test_refreshing_and_snapshot_time(tools: ToolCaller) -> None:
    before = dt.datetime.now(dt.UTC)
    ticking = await tools.ok("session_table_data", session_id=ANON, table_name=TICKING, max_rows=5)
    static = await tools.ok("session_table_data", session_id=ANON, table_name=AWKWARD)
    assert ticking["is_refreshing"] is True and static["is_refreshing"] is False
    taken = dt.datetime.fromisoformat(ticking["snapshot_time"])
    assert ticking["snapshot_time"].endswith("Z") and taken.tzinfo is not None
    assert before - dt.timedelta(seconds=1) <= taken <= dt.datetime.now(dt.UTC)


# -- catalog: structured filters in read-only mode ------------------------------------------


@pytest.fixture(scope="module")
def fake(dh_worker: RunningWorker) -> Iterator[FakeEnterpriseBackend]:
    gc.collect()
    backend = FakeEnterpriseBackend(dh_worker.host, dh_worker.port, transition_delay=0.1)
    backend.add_existing_pq("catalog_pq", running=True)
    yield backend
    gc.collect()
    backend.close()


@pytest.fixture(scope="module")
async def read_only_catalog(
    fake: FakeEnterpriseBackend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ToolCaller]:
    config = {"enterprise": {"systems": {"prod": _system(PASSWORD)}}}
    async with mcp_tools(
        tmp_path_factory.mktemp("ro-cat") / "c.json",
        config,
        enterprise_backend=fake,
        read_only=True,
        timeout=300,
    ) as caller:
        yield caller


async def test_catalog_structured_filters_in_read_only_mode(
    read_only_catalog: ToolCaller,
) -> None:
    tools, sid = read_only_catalog, "enterprise:prod:catalog_pq"
    listed = await tools.ok(
        "catalog_tables_list",
        session_id=sid,
        filters=[
            {"column": "Namespace", "op": "in", "value": ["MarketUS", "MarketEU"]},
            {"column": "TableName", "op": "matches", "value": "T.*"},
        ],
        format="json-row",
    )
    expected = [
        (ns, tn) for ns, tn, _ in CATALOG_ROWS if ns in ("MarketUS", "MarketEU") and tn[0] == "T"
    ]
    assert [(row["Namespace"], row["TableName"]) for row in listed["data"]] == expected

    namespaces = await tools.ok(
        "catalog_namespaces_list",
        session_id=sid,
        filters=[{"column": "NamespaceSet", "op": "eq", "value": "System"}],
        format="json-column",
    )
    assert namespaces["data"]["Namespace"] == ["Internal"]

    schemas = await tools.ok(
        "catalog_tables_schema",
        session_id=sid,
        filters=[{"column": "TableName", "op": "eq", "value": "Quotes"}],
    )
    assert [(s["namespace"], s["table"]) for s in schemas["schemas"]] == [("MarketUS", "Quotes")]

    for name in ("catalog_tables_list", "catalog_namespaces_list", "catalog_tables_schema"):
        message = await tools.error(name, session_id=sid, filters=["Namespace = `MarketUS`"])
        assert "read-only mode" in message
    message = await tools.error(
        "catalog_tables_list",
        session_id=sid,
        filters=[{"column": "Nope", "op": "eq", "value": "x"}],
    )
    assert "unknown column 'Nope'" in message and "Namespace, TableName" in message


async def test_catalog_filter_problems_read_as_on_every_other_tool(
    read_only_catalog: ToolCaller,
) -> None:
    """Strings and conditions are validated as one list: a problem's index is its place in
    the caller's list, in the words the Python API uses; a bad pattern is named."""
    tools, sid = read_only_catalog, "enterprise:prod:catalog_pq"
    bad: list[Any] = [
        "Namespace != null",
        {"column": "Namespace", "op": "in", "value": ["a", None]},
    ]
    message = await tools.error("catalog_tables_list", session_id=sid, filters=bad)
    with pytest.raises(InvalidArgumentError) as caught:
        parse_catalog_filters(bad)
    assert message == str(caught.value)
    assert message.startswith("invalid argument filters[1]")
    assert "is_null" in message
    message = await tools.error(
        "catalog_tables_list",
        session_id=sid,
        filters=[{"column": "TableName", "op": "matches", "value": "("}],
    )
    assert message.startswith("invalid pattern '(' for matches on column 'TableName'")
