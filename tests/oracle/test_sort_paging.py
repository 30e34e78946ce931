"""session_table_data: sort (nulls first ascending, last descending; NaN above +Infinity;
strings in UTF-16 order), column subsets and paging (offset, max_rows, head) against the
oracle. Ties may come in any order, so pages are compared by their sort keys."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydeephaven import Session

from tests.mcp_systems_server._helpers import ToolCaller
from tests.oracle._gen import DATA_COLUMNS, Drawn, publish, tables
from tests.oracle._model import cell_json, sort_key
from tests.oracle._queries import sort_keys
from tests.oracle.conftest import SESSION_ID, oracle_settings

pytestmark = pytest.mark.integration

TABLE = "oracle_sort"
QUERIES_PER_TABLE = 6


def expected_window(total: int, offset: int, max_rows: int | None, head: bool) -> range:
    """The positions of the sorted rows one page holds."""
    size = total - offset if max_rows is None else min(max_rows, max(total - offset, 0))
    size = max(size, 0)
    if head:
        return range(offset, offset + size)
    return range(total - offset - size, total - offset)


@oracle_settings(ci_examples=10)
@given(drawn=tables(), data=st.data())
async def test_sort_columns_and_paging_match_the_oracle(
    tools: ToolCaller, pydh: Session, drawn: Drawn, data: st.DataObject
) -> None:
    table = publish(pydh, TABLE, drawn)
    rows = [table.row(i) for i in range(table.num_rows)]
    problems = []
    for _ in range(QUERIES_PER_TABLE):
        keys = data.draw(sort_keys(), label="sort")
        shown = data.draw(
            st.lists(st.sampled_from(DATA_COLUMNS), unique=True, max_size=4), label="columns"
        )
        columns = data.draw(st.permutations(["Id", *shown]), label="order")
        max_rows = data.draw(st.none() | st.integers(1, 45), label="max_rows")
        offset = data.draw(st.integers(0, 45), label="offset")
        head = data.draw(st.booleans(), label="head")
        request: dict[str, Any] = {
            "sort": keys,
            "columns": columns,
            "max_rows": max_rows,
            "offset": offset,
            "head": head,
        }
        answer = await tools.call(
            "session_table_data",
            session_id=SESSION_ID,
            table_name=TABLE,
            format="json-row",
            **request,
        )
        if answer["success"] is not True:
            problems.append(f"{request}: tool error {answer['error']}")
            continue
        ordered = sorted(rows, key=lambda row: sort_key(row, keys))
        window = expected_window(len(rows), offset, max_rows, head)
        want_keys = [sort_key(ordered[i], keys) for i in window]
        page = answer["data"]
        got_keys = [sort_key(rows[item["Id"]], keys) for item in page]
        stop = offset + len(page)
        expected_fields = {
            "total_rows": len(rows),
            "row_count": len(window),
            "next_offset": stop if stop < len(rows) else None,
        }
        got_fields = {name: answer[name] for name in expected_fields}
        if got_keys != want_keys or got_fields != expected_fields:
            problems.append(
                f"{request}:\n  tool keys   {got_keys}\n  oracle keys {want_keys}\n"
                f"  tool {got_fields} oracle {expected_fields}"
            )
        for item in page:
            if list(item) != columns:
                problems.append(f"{request}: columns {list(item)} instead of {columns}")
                break
            want = {name: cell_json(name, rows[item["Id"]][name]) for name in columns}
            if item != want:
                problems.append(f"{request}: row {item} instead of {want}")
                break
    assert not problems, "\n".join(problems)
