"""``DeephavenSystems.read_arrow``: a page of a table as Arrow, on a real worker.

The same read as ``session_table_data`` (shaping, paging, defaults, the response cap, now
on the Arrow bytes), with nothing formatted; compared with pydeephaven's ``to_arrow()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pyarrow as pa
import pytest
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config import McpConfig
from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config

SESSION = "community:config:anon"
TABLE = "read_arrow_rows"
SETUP_TABLES = (TABLE,)
ROWS = 50_000
# The null constants are spelled in full: other tests import deephaven.constants into the
# shared worker's globals, and a Python NULL_INT there would shadow the formula's own.
SETUP = f"""
from deephaven import empty_table
{TABLE} = empty_table({ROWS}).update([
    "Id = i",
    "D = i % 5 == 0 ? Double.NaN : (i % 5 == 1 ? -0.0 : (i % 5 == 2 ? io.deephaven.util.QueryConstants.NULL_DOUBLE : i / 3.0))",
    "S = i % 3 == 0 ? null : `s` + i",
    "T = '2024-01-01T00:00:00 UTC' + i * MINUTE",
])
"""


def config(worker: RunningWorker, **limits: Any) -> McpConfig:
    return McpConfig.model_validate(
        {"community": {"sessions": {"anon": session_config(worker)}}, "limits": limits}
    )


@pytest.fixture(scope="module")
async def systems(pydh: Session, dh_worker: RunningWorker) -> AsyncIterator[DeephavenSystems]:
    async with DeephavenSystems(config=config(dh_worker), read_only=True) as found:
        yield found


def reference(pydh: Session, cut: Any) -> pa.Table:
    source = pydh.open_table(TABLE)
    made: Table = cut(source)
    try:
        return made.to_arrow()
    finally:
        made.close()
        source.close()


def assert_same(found: pa.Table, expected: pa.Table) -> None:
    """Same columns (types and field metadata) and values (NaN, -0.0, null told apart)."""
    assert pa.schema(list(found.schema)).equals(
        pa.schema(list(expected.schema)), check_metadata=True
    )
    assert found.num_rows == expected.num_rows
    for name in expected.column_names:
        found_values = [repr(value) for value in found.column(name).to_pylist()]
        assert found_values == [repr(value) for value in expected.column(name).to_pylist()]


async def test_the_default_page_is_the_first_thousand_rows(
    systems: DeephavenSystems, pydh: Session
) -> None:
    found = await systems.read_arrow(SESSION, TABLE)
    assert isinstance(found, pa.Table)
    assert_same(found, reference(pydh, lambda t: t.head(1000)))


async def test_every_row_in_several_windows(systems: DeephavenSystems, pydh: Session) -> None:
    found = await systems.read_arrow(SESSION, TABLE, max_rows=None)
    assert found.column(0).num_chunks > 1
    assert_same(found, reference(pydh, lambda t: t.head(ROWS)))


async def test_offset_tail_filters_sort_and_columns(
    systems: DeephavenSystems, pydh: Session
) -> None:
    page = await systems.read_arrow(SESSION, TABLE, offset=2_000, max_rows=25_000)
    assert_same(page, reference(pydh, lambda t: t.slice(2_000, 27_000)))

    tail = await systems.read_arrow(SESSION, TABLE, head=False, offset=10, max_rows=30)
    assert_same(tail, reference(pydh, lambda t: t.slice(-40, -10)))

    shaped = await systems.read_arrow(
        SESSION,
        TABLE,
        columns=["Id", "D", "S"],
        filters=[{"column": "S", "op": "is_null"}],
        sort=[{"column": "Id", "descending": True}],
        offset=5,
        max_rows=None,
    )
    expected = reference(
        pydh, lambda t: t.view(["Id", "D", "S"]).where("isNull(S)").sort_descending("Id")
    )
    assert_same(shaped, expected.slice(5))
    assert shaped.column_names == ["Id", "D", "S"] and shaped.column("Id")[0].as_py() == 49_983


async def test_it_is_the_same_page_as_session_table_data(systems: DeephavenSystems) -> None:
    how: dict[str, Any] = {
        "filters": [{"column": "Id", "op": "ge", "value": 100}],
        "sort": [{"column": "T", "descending": True}],
        "offset": 3,
        "max_rows": 12_000,
    }
    page = await systems.session_table_data(SESSION, TABLE, format="csv", **how)
    found = await systems.read_arrow(SESSION, TABLE, **how)
    assert found.num_rows == page.row_count == 12_000
    assert_same(found, page.to_arrow())


async def test_past_the_end_is_empty(systems: DeephavenSystems) -> None:
    found = await systems.read_arrow(SESSION, TABLE, offset=ROWS + 1)
    assert found.num_rows == 0 and found.column_names == ["Id", "D", "S", "T"]


async def test_arguments_are_checked_like_session_table_data(
    systems: DeephavenSystems,
) -> None:
    wrong: list[dict[str, Any]] = [
        {"max_rows": 0},
        {"offset": -1},
        {"columns": []},
        {"sort": [{"col": "Id"}]},
    ]
    for bad in wrong:
        with pytest.raises(InvalidArgumentError) as raised:
            await systems.read_arrow(SESSION, TABLE, **bad)
        with pytest.raises(InvalidArgumentError) as same:
            await systems.session_table_data(SESSION, TABLE, **bad)
        assert str(raised.value) == str(same.value)


async def test_the_byte_cap_counts_arrow_bytes(dh_worker: RunningWorker, pydh: Session) -> None:
    limit = 20_000
    parsed = config(dh_worker, max_response_bytes=limit, default_max_rows=20_000)
    async with DeephavenSystems(config=parsed) as capped:
        fits = await capped.read_arrow(SESSION, TABLE, columns=["Id", "D"], max_rows=1_000)
        assert fits.num_rows == 1_000 and fits.nbytes <= limit  # 12 bytes a row and validity
        # One window (the small-read path): the whole page measured.
        over = reference(pydh, lambda t: t.head(1_000))
        assert over.nbytes > limit
        with pytest.raises(LimitExceededError, match="1,000 rows as Arrow"):
            await capped.read_arrow(SESSION, TABLE, max_rows=1_000)
        # Several windows: refused from the first window's estimate, before the rest.
        with pytest.raises(LimitExceededError) as raised:
            await capped.read_arrow(SESSION, TABLE, columns=["Id", "D"])  # the default: 20,000
        message = str(raised.value)
        assert "20,000 rows as Arrow would be about" in message, message
        assert "max_rows" in message and "csv" not in message
