"""Reading in windows against a real worker: same answer as one fetch, bounded by the limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pydantic_core
import pytest
from pydeephaven import Session

from deephaven_mcp.clients import table_data
from deephaven_mcp.clients.table_data import read_shaped_slice
from deephaven_mcp.errors import LimitExceededError
from deephaven_mcp.formatting import format_table
from deephaven_mcp.model.requests import TableRead
from tests._workers import RunningWorker

ROWS = 5_000
SCRIPT = f"""
from deephaven import empty_table, time_table
tdw_plain = empty_table({ROWS}).update([
    "Id = (long) i",
    "Price = i % 7 == 0 ? NULL_DOUBLE : i / 3.0",
    "Sym = i % 5 == 0 ? null : (i % 2 == 0 ? `a,b` : `say \\"hi\\"`)",
    "When = '2024-01-02T09:30:00 UTC' + i * 1_000_001L",
])
tdw_skewed = empty_table(20_000).update([
    "Id = (long) i",
    "Note = i < 1000 ? `x` : String.join(``, java.util.Collections.nCopies(500, `y`))",
])
tdw_ticking = time_table("PT0.0002S").update("X = ii")
"""


@pytest.fixture(scope="module")
def session(dh_worker: RunningWorker) -> Iterator[Session]:
    client = Session(host=dh_worker.host, port=dh_worker.port)
    client.run_script(SCRIPT)
    yield client
    client.run_script(
        "for name in ['tdw_plain', 'tdw_skewed', 'tdw_ticking']:\n    globals().pop(name, None)"
    )
    client.close()


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows of every window fetched, with windows as small as the first one."""
    monkeypatch.setattr(table_data, "WINDOW_BYTES", 1)
    monkeypatch.setattr(table_data, "FIRST_WINDOW_BYTES", 1)
    sizes: list[int] = []
    real = table_data._rows_at

    def counting(table: object, size: int, first: int, rows: int) -> pa.Table:
        arrow = real(table, size, first, rows)  # type: ignore[arg-type]
        sizes.append(arrow.num_rows)
        return arrow

    monkeypatch.setattr(table_data, "_rows_at", counting)
    return sizes


def whole(session: Session, name: str) -> pa.Table:
    return session.open_table(name).to_arrow()


@pytest.mark.parametrize("fmt", ["csv", "json-row", "json-column", "markdown-kv", "xml"])
def test_windows_give_the_answer_of_one_fetch(
    session: Session, fetched: list[int], fmt: str
) -> None:
    expected = whole(session, "tdw_plain")
    answer = read_shaped_slice(session, TableRead("tdw_plain", max_rows=None, head=True, fmt=fmt))
    assert fetched == [1000] * 5  # five windows, and nothing fetched twice
    assert answer.data == format_table(expected, fmt)
    assert answer.row_count == ROWS and answer.is_complete and answer.next_offset is None


@pytest.mark.parametrize(("head", "offset"), [(True, 0), (True, 1234), (False, 0), (False, 777)])
def test_windows_cut_pages_from_either_end(
    session: Session, fetched: list[int], head: bool, offset: int
) -> None:
    expected = whole(session, "tdw_plain")
    answer = read_shaped_slice(
        session, TableRead("tdw_plain", max_rows=2_500, head=head, fmt="json-row", offset=offset)
    )
    start = offset if head else ROWS - offset - 2_500
    assert answer.data == format_table(expected.slice(start, 2_500), "json-row")
    assert sum(fetched) == 2_500 and len(fetched) == 3
    assert answer.next_offset == offset + 2_500


def test_skewed_rows_are_refused_as_soon_as_the_answer_is_too_big(
    session: Session, fetched: list[int]
) -> None:
    # The first 1,000 rows are tiny, so the estimate passes; the rows after them are long.
    limit = 2 * 1024 * 1024
    with pytest.raises(LimitExceededError) as refused:
        read_shaped_slice(
            session, TableRead("tdw_skewed", max_rows=None, head=True, fmt="csv", max_bytes=limit)
        )
    message = str(refused.value)
    assert "over the 2.0 MB response limit" in message and "already take" in message
    assert "Request at most ~" in message and "compact format" not in message
    # About the limit plus one window was fetched, not the 20,000 rows (10 MB).
    assert sum(fetched) <= 1000 + limit // 500 + 1000


def test_a_hopeless_request_is_refused_after_the_first_window(
    session: Session, fetched: list[int]
) -> None:
    with pytest.raises(LimitExceededError, match=r"would be about .* Request at most ~"):
        read_shaped_slice(
            session,
            TableRead("tdw_plain", max_rows=None, head=True, fmt="json-row", max_bytes=100_000),
        )
    assert fetched == [1000]


def test_a_small_answer_over_the_limit_is_refused_exactly(session: Session) -> None:
    with pytest.raises(LimitExceededError, match=r"over the 1 KB response limit"):
        read_shaped_slice(
            session, TableRead("tdw_plain", max_rows=50, head=True, fmt="csv", max_bytes=1024)
        )


def test_a_ticking_table_is_read_from_one_snapshot(session: Session, fetched: list[int]) -> None:
    deadline = time.monotonic() + 60
    while table_data.count_rows(session.open_table("tdw_ticking")) < 4_000:
        assert time.monotonic() < deadline, "the ticking table did not grow"
        time.sleep(0.2)
    answer = read_shaped_slice(
        session, TableRead("tdw_ticking", max_rows=3_500, head=False, fmt="json-column")
    )
    assert isinstance(answer.data, dict)
    values = answer.data["X"]
    assert all(isinstance(value, int) for value in values)
    assert len(fetched) == 4 and answer.is_refreshing
    # Consecutive rows of one state of the table: no row twice, none skipped.
    first = values[0]
    assert isinstance(first, int)
    assert values == list(range(first, first + 3_500))


def test_the_answer_carries_its_own_json(session: Session) -> None:
    answer = read_shaped_slice(session, TableRead("tdw_plain", max_rows=10, head=True, fmt="csv"))
    assert answer.encoded_fields() == {"data": pydantic_core.to_json(answer.data).decode()}


# -- the budget shared by answers being built (no worker needed) --------------------------


def test_a_read_that_does_not_fit_waits_for_the_budget() -> None:
    budget = table_data._ByteBudget(100)
    order: list[str] = []
    with budget.hold(80, timeout=5):
        waiter = threading.Thread(target=lambda: _hold(budget, 50, order))
        waiter.start()
        time.sleep(0.2)
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second ran"]


def test_an_answer_larger_than_the_budget_runs_alone() -> None:
    budget = table_data._ByteBudget(100)
    with (
        budget.hold(500, timeout=1),
        pytest.raises(LimitExceededError, match="busy building other large answers"),
        budget.hold(1, timeout=0.1),
    ):
        pass
    with budget.hold(500, timeout=1):  # freed, so it runs again
        pass


def _hold(budget: table_data._ByteBudget, size: int, order: list[str]) -> None:
    with budget.hold(size, timeout=5):
        order.append("second ran")


def test_formatted_rows_over_the_limit_are_refused_with_their_size() -> None:
    rows = pa.table({"Namespace": ["MarketUS"] * 200, "TableName": ["Trades"] * 200})
    text = table_data.format_rows(rows, "csv", "the catalog", max_bytes=64_000)
    assert isinstance(text, str) and text.startswith("Namespace,TableName")
    with pytest.raises(LimitExceededError, match=r"200 rows of the catalog is 3 KB, over the 1 KB"):
        table_data.format_rows(rows, "csv", "the catalog", max_bytes=1024)


def test_a_read_the_schema_says_is_small_is_one_fetch(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = table_data._fetch

    def counting(table: Any, rows: int, *args: Any) -> pa.Table:
        calls.append(rows)
        return real(table, rows, *args)

    monkeypatch.setattr(table_data, "_fetch", counting)
    monkeypatch.setattr(table_data, "_rows_at", lambda *args: pytest.fail("windowed"))
    answer = read_shaped_slice(session, TableRead("tdw_plain", max_rows=None, head=True, fmt="csv"))
    assert calls == [ROWS] and answer.row_count == ROWS
