"""session_table_data: every value read back exactly, and every filter op (any_of included)
on every column type keeps exactly the rows the oracle keeps."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydeephaven import Session

from tests.mcp_systems_server import _helpers
from tests.mcp_systems_server._helpers import ToolCaller
from tests.oracle._gen import COLUMNS, Drawn, Published, publish, tables
from tests.oracle._model import cell_json, kept_ids, parse_iso_nanos
from tests.oracle._queries import filter_lists
from tests.oracle.conftest import SESSION_ID, oracle_settings

pytestmark = pytest.mark.integration

TABLE = "oracle_filters"
QUERIES_PER_TABLE = 8
_names = itertools.count()


async def read_all(tools: ToolCaller, table: Published) -> list[dict[str, Any]]:
    """Every row through the tool, checked cell by cell against the read-back rows."""
    answer = await tools.ok(
        "session_table_data",
        session_id=SESSION_ID,
        table_name=table.name,
        max_rows=None,
        format="json-row",
    )
    assert answer["total_rows"] == answer["row_count"] == table.num_rows
    assert answer["next_offset"] is None and answer["is_complete"] is True
    assert [c["name"] for c in answer["schema"]] == list(COLUMNS)
    rows: list[dict[str, Any]] = answer["data"]
    for index, row in enumerate(rows):
        expected = {name: cell_json(name, table.columns[name][index]) for name in COLUMNS}
        assert row == expected, (index, row, expected)
        if row["Ts"] is not None:  # the text keeps every nanosecond
            assert parse_iso_nanos(row["Ts"]) == table.columns["Ts"][index]
    return rows


async def filtered_ids(
    tools: ToolCaller, name: str, filters: list[dict[str, Any]]
) -> list[int] | str:
    """The Ids the filters keep, or the tool's error message."""
    return await _helpers.filtered_ids(tools, SESSION_ID, name, filters)


@oracle_settings(ci_examples=12)
@given(drawn=tables(), data=st.data())
async def test_every_filter_op_matches_the_oracle(
    tools: ToolCaller, pydh: Session, drawn: Drawn, data: st.DataObject
) -> None:
    table = publish(pydh, TABLE, drawn)
    rows = await read_all(tools, table)
    table.ts_texts.extend(row["Ts"] for row in rows if row["Ts"] is not None)
    oracle_rows = [table.row(i) for i in range(table.num_rows)]
    problems = []  # every query of this table is run, so one failure hides no other
    for _ in range(QUERIES_PER_TABLE):
        filters = data.draw(filter_lists(table), label="filters")
        expected = kept_ids(oracle_rows, filters)
        got = await filtered_ids(tools, TABLE, filters)
        if got != expected:
            problems.append(mismatch(filters, got, expected, oracle_rows))
    assert not problems, "\n".join(problems)


def _columns_of(filters: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for item in filters:
        for cond in item.get("any_of", [item]):
            if cond["column"] not in names:
                names.append(cond["column"])
    return names


def mismatch(
    filters: list[dict[str, Any]],
    got: list[int] | str,
    expected: list[int],
    rows: list[dict[str, Any]],
) -> str:
    """The filters and the rows the tool and the oracle disagree on (only the columns used)."""
    names = _columns_of(filters)
    lines = [f"filters: {filters!r}"]
    if isinstance(got, str):
        return f"{lines[0]}\n  tool error: {got}"
    for index in sorted(set(got) ^ set(expected)):
        side = "tool only" if index in got else "oracle only"
        lines.append(f"  {side}: Id={index} " + repr({n: rows[index][n] for n in names}))
    if set(got) == set(expected):
        lines.append(f"  same rows, different order: tool {got}, oracle {expected}")
    return "\n".join(lines)
