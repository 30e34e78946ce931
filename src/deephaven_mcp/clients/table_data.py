"""Fetch a bounded slice of a table and format it, in one blocking call.

Rows are fetched in windows and written as they arrive (see
:mod:`deephaven_mcp.formatting.writer`), so the exact size of the answer is known after every
window: a read stops, with a message saying how many rows would fit, as soon as the answer
passes the limit. The first window (1,000 to 10,000 rows, sized from the schema) also gives an
estimate of the whole answer, which refuses a hopeless request before anything more is
fetched. A ticking table is read from one snapshot of the requested rows, so its windows agree
with each other.

At most ``LARGE_READ_BUDGET`` bytes of estimated answers are built at once across all
sessions; a larger read waits for its turn (or runs alone), so parallel calls cannot multiply
the server's memory without bound.

A read may also be shaped (columns, structured filters, sort; see
:mod:`deephaven_mcp.clients.shaping`) and paged with ``offset``; the window is cut on the
worker (head/tail/slice), never by fetching rows and dropping them here.

The Python API may keep the rows as Arrow too (``keep_arrow``), or read them as Arrow only
(:func:`read_arrow`: the same windows, limits and refusals, with the answer measured by its
Arrow bytes); the MCP server does neither.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Final

import pyarrow as pa
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients.community import open_table, release, release_later
from deephaven_mcp.clients.errors import describe_error, engine_error
from deephaven_mcp.clients.shaping import FilterItem, SortKey, apply_shaping
from deephaven_mcp.config.models import DEFAULT_MAX_RESPONSE_BYTES
from deephaven_mcp.errors import (
    LimitExceededError,
    SessionUnavailableError,
)
from deephaven_mcp.formatting import FormattedData, describe_schema, estimate_bytes_per_row
from deephaven_mcp.formatting.writer import (
    ARROW,
    Formatted,
    TableWriter,
    table_writer,
    write_table,
)
from deephaven_mcp.model.requests import TableRead
from deephaven_mcp.model.table import ShapedSlice, TableSlice

MAX_RESPONSE_BYTES: Final = DEFAULT_MAX_RESPONSE_BYTES
FIRST_WINDOW_ROWS: Final = 1000
MAX_FIRST_WINDOW_ROWS: Final = 10_000
FIRST_WINDOW_BYTES: Final = 8 * 1024 * 1024
WINDOW_BYTES: Final = 4 * 1024 * 1024
"""Answer bytes each later window aims at: a few round trips, little memory per window."""
MAX_WINDOW_ROWS: Final = 1_000_000
LARGE_READ_BUDGET: Final = 24 * 1024 * 1024
LARGE_READ_WAIT: Final = 120.0
"""Seconds a read waits for its turn under ``LARGE_READ_BUDGET`` before it gives up."""


def _mb(size: float) -> str:
    """A size as people read it: "1.5 MB", or "12 KB" below a megabyte."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


class _ByteBudget:
    """Bytes of answers being built at once; a read that does not fit waits, or runs alone."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._used = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, size: int, timeout: float) -> Iterator[None]:
        with self._changed:
            fits = self._changed.wait_for(
                lambda: self._used == 0 or self._used + size <= self._capacity, timeout
            )
            if not fits:
                raise LimitExceededError(
                    "the server is busy building other large answers; try again shortly, "
                    "or request fewer rows with max_rows"
                )
            self._used += size
        try:
            yield
        finally:
            with self._changed:
                self._used -= size
                self._changed.notify_all()


_LARGE_READS: Final = _ByteBudget(LARGE_READ_BUDGET)


def _give_back_memory() -> None:
    """Return freed Arrow memory to the system, so windows do not pile up in RSS.

    In the server Arrow allocates with the system allocator (set at start-up by
    :func:`deephaven_mcp.serving.process.arrow_uses_the_system_allocator`), where this is
    ``malloc_trim``; in a process that kept Arrow's default pool it asks that pool instead.
    """
    pa.default_memory_pool().release_unused()


def format_rows(
    arrow: pa.Table, fmt: str, what: str, max_bytes: int = MAX_RESPONSE_BYTES
) -> FormattedData:
    """Format rows, refusing an answer larger than ``max_bytes`` (blocking: CPU-bound)."""
    written = write_table(arrow, fmt)
    size = written.size
    if size > max_bytes:
        raise LimitExceededError(
            f"the {fmt} response for {arrow.num_rows:,} rows of {what} is {_mb(size)}, "
            f"over the {_mb(max_bytes)} limit; request fewer rows with max_rows."
        )
    return written.data


def count_rows(table: Table) -> int:
    """Rows in ``table``; asks the worker when the export did not say (ticking tables)."""
    if table.size is not None:
        return int(table.size)
    counted = table.count_by("RowCount")
    try:
        return int(counted.to_arrow().column("RowCount")[0].as_py())
    finally:
        release(counted)


def _cut(table: Table, rows: int, head: bool, offset: int) -> Table:
    """``rows`` rows from ``offset`` rows after the start (``head``) or before the end, cut on
    the worker (so a ticking table is cut at its current size)."""
    if offset == 0:
        return table.head(rows) if head else table.tail(rows)
    if head:
        return table.slice(offset, offset + rows)
    # Counted from the end: rows [total - offset - rows, total - offset).
    return table.slice(-(offset + rows), -offset)


def _part_to_arrow(part: Table) -> pa.Table:
    """The rows of a table cut for this read, which is released once fetched."""
    try:
        return part.to_arrow()
    finally:
        release_later(part.session, part)


def _fetch(table: Table, rows: int, head: bool, total: int, offset: int = 0) -> pa.Table:
    """``rows`` rows from ``offset`` rows after the start (``head``) or before the end."""
    if offset == 0 and rows >= total:
        return table.to_arrow()
    return _part_to_arrow(_cut(table, rows, head, offset))


def utc_now() -> str:
    """The time of a snapshot: ISO 8601 in UTC, to the millisecond (``...Z``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _compact_hint(fmt: str) -> str:
    return "" if fmt in ("csv", ARROW) else ", or choose a more compact format (csv)"


def _as(fmt: str) -> str:
    return "as Arrow" if fmt == ARROW else f"as {fmt}"


def _estimate_refusal(
    label: str, total: int, wanted: int, fmt: str, estimate: float, per_row: float, limit: int
) -> LimitExceededError:
    fitting = max(1, int(limit / per_row * 0.9))
    return LimitExceededError(
        f"table {label} has {total:,} rows; {wanted:,} rows {_as(fmt)} would be "
        f"about {_mb(estimate)}, over the {_mb(limit)} response limit. "
        f"Request at most ~{fitting:,} rows with max_rows{_compact_hint(fmt)}."
    )


def _running_refusal(
    label: str, wanted: int, fmt: str, read: int, size: int, limit: int
) -> LimitExceededError:
    fitting = max(1, int(read * limit / size * 0.9))
    return LimitExceededError(
        f"table {label}: {wanted:,} rows {_as(fmt)} would be over the {_mb(limit)} response "
        f"limit (the first {read:,} rows already take {_mb(size)}). "
        f"Request at most ~{fitting:,} rows with max_rows{_compact_hint(fmt)}."
    )


def _rows_at(table: Table, size: int, first: int, rows: int) -> pa.Table:
    """Rows ``[first, first + rows)`` of a table that holds ``size`` rows and does not tick."""
    if first == 0 and rows >= size:
        return table.to_arrow()
    return _part_to_arrow(table.slice(first, first + rows))


def _write_windows(
    source: Table,
    size: int,
    start: int,
    wanted: int,
    writer: TableWriter,
    step: int,
    fail: Callable[[int, int], LimitExceededError],
    max_bytes: int,
) -> None:
    """Append the rest of rows ``[start, start + wanted)`` of ``source``, ``step`` rows at a
    time, raising ``fail(rows_read, size)`` as soon as the answer passes ``max_bytes``."""
    while (done := writer.row_count) < wanted:
        window = _rows_at(source, size, start + done, min(step, wanted - done))
        if window.num_rows == 0:
            return
        writer.add(window)
        del window
        _give_back_memory()
        if writer.size > max_bytes:
            raise fail(writer.row_count, writer.size)


def _first_window(table: Table, fmt: str) -> int:
    """Rows of the first window: about ``FIRST_WINDOW_BYTES`` at the (generous) typical widths
    of the schema's types, at least ``FIRST_WINDOW_ROWS`` and at most ``MAX_FIRST_WINDOW_ROWS``
    (strings far longer than typical can only make that many rows too large)."""
    if table.schema is None:
        return FIRST_WINDOW_ROWS
    # Arrow rows are sized like csv text of typical widths: about as wide, seldom narrower.
    typical = estimate_bytes_per_row(table.schema.empty_table(), "csv" if fmt == ARROW else fmt)
    return max(FIRST_WINDOW_ROWS, min(MAX_FIRST_WINDOW_ROWS, int(FIRST_WINDOW_BYTES / typical)))


def _read(
    table: Table,
    label: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    max_bytes: int,
    offset: int,
    keep_arrow: bool = False,
) -> tuple[Formatted, pa.Schema, int]:
    """The requested rows written in ``fmt`` (kept as Arrow too if ``keep_arrow``), their
    schema, and the table's row count."""
    total = count_rows(table)
    wanted = max(0, total - offset) if max_rows is None else min(max_rows, max(0, total - offset))
    first_rows = FIRST_WINDOW_ROWS if wanted <= FIRST_WINDOW_ROWS else _first_window(table, fmt)
    if wanted <= first_rows:
        if wanted == 0 and offset > 0 and table.schema is not None:
            arrow = table.schema.empty_table()  # past the end: no round trip
        else:
            arrow = _fetch(table, wanted, head, total, offset)
        one = table_writer(arrow.schema, fmt, keep_arrow=keep_arrow)
        one.add(arrow)
        if (size := one.size) > max_bytes:
            raise _running_refusal(label, wanted, fmt, arrow.num_rows, size, max_bytes)
        return one.finish(), arrow.schema, total

    made: list[Table] = []
    source, size, start = table, total, offset if head else total - offset - wanted
    if table.is_refreshing:
        # Windows of a ticking table would each see another state: read one snapshot.
        made.append(_cut(table, wanted, head, offset))
        made.append(made[0].snapshot())
        source, start = made[1], 0
        size = wanted = min(wanted, count_rows(source))
    try:
        first = _rows_at(source, size, start, first_rows)
        writer = table_writer(first.schema, fmt, keep_arrow=keep_arrow)
        empty = writer.size
        writer.add(first)
        per_row = max((writer.size - empty) / max(first.num_rows, 1), 1.0)
        estimate = empty + per_row * wanted
        if estimate > max_bytes:
            raise _estimate_refusal(label, total, wanted, fmt, estimate, per_row, max_bytes)

        def fail(read: int, so_far: int) -> LimitExceededError:
            return _running_refusal(label, wanted, fmt, read, so_far, max_bytes)

        step = max(FIRST_WINDOW_ROWS, min(MAX_WINDOW_ROWS, int(WINDOW_BYTES / per_row)))
        with _LARGE_READS.hold(int(estimate), LARGE_READ_WAIT):
            try:
                _write_windows(source, size, start, wanted, writer, step, fail, max_bytes)
                return writer.finish(), first.schema, total
            finally:
                _give_back_memory()
    finally:
        if made:
            release_later(table.session, *made)


def _read_or_fail(table: Table, label: str, **how: Any) -> tuple[Formatted, pa.Schema, int]:
    """:func:`_read`, with any failure but a refusal reported as the table being unreadable."""
    try:
        return _read(table, label, **how)
    except (LimitExceededError, SessionUnavailableError):
        raise
    except Exception as exc:
        raise SessionUnavailableError(f"cannot read table {label}: {describe_error(exc)}") from exc


def slice_table(
    table: Table,
    label: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
    keep_arrow: bool = False,
) -> TableSlice:
    """The first or last ``max_rows`` rows of ``table`` (all when None), formatted (and
    kept for ``to_arrow()`` if ``keep_arrow``).

    ``label`` names the table in messages. The caller keeps ownership of ``table``.
    """
    written, schema, total = _read_or_fail(
        table,
        label,
        max_rows=max_rows,
        head=head,
        fmt=fmt,
        max_bytes=max_bytes,
        offset=0,
        keep_arrow=keep_arrow,
    )
    return TableSlice.of(
        written,
        table_name=label,
        format=fmt,
        schema_=describe_schema(schema),
        is_complete=written.row_count >= total,
    )


def _shaped(
    table: Table,
    label: str,
    columns: Sequence[str] | None,
    filters: Sequence[FilterItem] | None,
    sort: Sequence[SortKey] | None,
) -> Table:
    try:
        return apply_shaping(table, columns=columns, filters=filters, sort=sort)
    except Exception as exc:
        # The values were typed against the schema, so a refusal here is the engine's; a
        # lost connection stays one, so the session can reconnect.
        raise engine_error(exc, f"shape table {label}") from exc


def read_shaped_slice(session: Session, read: TableRead) -> ShapedSlice:
    """The page ``read`` asks for of a global table, shaped on the worker, formatted.

    ``read.head``: ``offset`` rows are skipped from the start; otherwise from the end (rows
    stay in table order either way, and ``next_offset`` continues in the same direction).
    """
    label = f"'{read.table_name}'"
    table = open_table(session, read.table_name)
    shaped: Table | None = None
    try:
        shaped = _shaped(table, label, read.columns, read.filters, read.sort)
        snapshot_time = utc_now()
        written, schema, total = _read_or_fail(
            shaped,
            label,
            max_rows=read.max_rows,
            head=read.head,
            fmt=read.fmt,
            max_bytes=read.max_bytes,
            offset=read.offset,
            keep_arrow=read.keep_arrow,
        )
        refreshing = bool(table.is_refreshing)
    finally:
        release_later(session, table, None if shaped is table else shaped)

    offset = read.offset
    end = offset + written.row_count
    return ShapedSlice.of(
        written,
        table_name=read.table_name,
        format=read.fmt,
        schema_=describe_schema(schema),
        is_complete=offset == 0 and written.row_count >= total,
        total_rows=total,
        next_offset=end if end < total else None,
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
    )


def read_arrow(session: Session, read: TableRead) -> pa.Table:
    """The page ``read`` asks for as Arrow, unformatted: :func:`read_shaped_slice`'s windows,
    shaping, paging and refusals, with ``read.max_bytes`` bounding the Arrow bytes
    (``read.fmt`` is ignored)."""
    return read_shaped_slice(session, replace(read, fmt=ARROW)).to_arrow()
