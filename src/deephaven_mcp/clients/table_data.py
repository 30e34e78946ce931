"""Fetch a bounded slice of a table and format it, in one blocking call.

The size limit is enforced twice: before fetching (row count x bytes per row estimated
from a small sample) so that a huge table is never pulled into memory, and after
formatting, on the exact response size.

A read may also be shaped (columns, structured filters, sort; see
:mod:`deephaven_mcp.clients.shaping`) and paged with ``offset``; the window is cut on the
worker (head/tail/slice), never by fetching rows and dropping them here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import pyarrow as pa
from pydantic import Field
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp._output import ToolOutput
from deephaven_mcp.clients.community import open_table, release, release_later
from deephaven_mcp.clients.errors import describe_error, engine_error
from deephaven_mcp.clients.shaping import FilterItem, SortKey, apply_shaping
from deephaven_mcp.errors import (
    LimitExceededError,
    SessionUnavailableError,
)
from deephaven_mcp.formatting import (
    FormattedData,
    describe_schema,
    estimate_bytes_per_row,
    format_table,
    formatted_size,
)

MAX_RESPONSE_BYTES: Final = 50 * 1024 * 1024
SAMPLE_ROWS: Final = 1000


class TableSlice(ToolOutput):
    """The formatted rows of one table plus what the agent needs to interpret them.

    This is the answer of ``session_table_data`` (and, with two more fields, of
    ``catalog_table_sample``). Built with ``model_construct``: the rows are already
    JSON-safe, and validating them again would cost as much as formatting.
    """

    table_name: str
    format: str
    schema_: list[dict[str, str]] = Field(alias="schema")
    row_count: int
    is_complete: bool
    data: FormattedData

    def envelope_fields(self) -> dict[str, Any]:
        return {
            "table_name": self.table_name,
            "format": self.format,
            "schema": self.schema_,
            "row_count": self.row_count,
            "is_complete": self.is_complete,
            "data": self.data,
        }


class ShapedSlice(TableSlice):
    """A :class:`TableSlice` with what a pager needs: the answer of ``session_table_data``.

    ``total_rows`` counts the rows after filtering; ``next_offset`` is the ``offset`` of the
    next page (None at the end); ``snapshot_time`` is when the rows were read (UTC).
    """

    total_rows: int
    next_offset: int | None
    is_refreshing: bool
    snapshot_time: str

    def envelope_fields(self) -> dict[str, Any]:
        return {
            **super().envelope_fields(),
            "total_rows": self.total_rows,
            "next_offset": self.next_offset,
            "is_refreshing": self.is_refreshing,
            "snapshot_time": self.snapshot_time,
        }


def _mb(size: float) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def format_rows(
    arrow: pa.Table, fmt: str, what: str, max_bytes: int = MAX_RESPONSE_BYTES
) -> FormattedData:
    """Format rows, refusing an answer larger than ``max_bytes`` (blocking: CPU-bound)."""
    data = format_table(arrow, fmt)
    size = formatted_size(data)
    if size > max_bytes:
        raise LimitExceededError(
            f"the {fmt} response for {arrow.num_rows:,} rows of {what} is {_mb(size)}, "
            f"over the {_mb(max_bytes)} limit; request fewer rows with max_rows."
        )
    return data


def count_rows(table: Table) -> int:
    """Rows in ``table``; asks the worker when the export did not say (ticking tables)."""
    if table.size is not None:
        return int(table.size)
    counted = table.count_by("RowCount")
    try:
        return int(counted.to_arrow().column("RowCount")[0].as_py())
    finally:
        release(counted)


def _fetch(table: Table, rows: int, head: bool, total: int, offset: int = 0) -> pa.Table:
    """``rows`` rows from ``offset`` rows after the start (``head``) or before the end."""
    if offset == 0 and rows >= total:
        return table.to_arrow()
    if offset == 0:
        part = table.head(rows) if head else table.tail(rows)
    elif head:
        part = table.slice(offset, offset + rows)
    else:
        # Counted from the end: rows [total - offset - rows, total - offset).
        part = table.slice(-(offset + rows), -offset)
    try:
        return part.to_arrow()
    finally:
        release_later(part.session, part)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _window(
    table: Table,
    label: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    max_bytes: int,
    offset: int,
) -> tuple[pa.Table, int]:
    """The rows of the requested window and the table's row count (blocking)."""
    total = count_rows(table)
    wanted = max(0, total - offset) if max_rows is None else min(max_rows, max(0, total - offset))
    if wanted > SAMPLE_ROWS:
        sample = _fetch(table, SAMPLE_ROWS, head, total, offset)
        per_row = estimate_bytes_per_row(sample, fmt)
        estimate = per_row * wanted
        if estimate > max_bytes:
            fitting = max(1, int(max_bytes / per_row * 0.9))
            raise LimitExceededError(
                f"table {label} has {total:,} rows; {wanted:,} rows as {fmt} would be "
                f"about {_mb(estimate)}, over the {_mb(max_bytes)} response limit. "
                f"Request at most ~{fitting:,} rows with max_rows, or choose a more compact "
                "format (csv)."
            )
    if wanted == 0 and offset > 0 and table.schema is not None:
        # Past the end: no round trip, just the (shaped) columns.
        return table.schema.empty_table(), total
    return _fetch(table, wanted, head, total, offset), total


def slice_table(
    table: Table,
    label: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> TableSlice:
    """The first or last ``max_rows`` rows of ``table`` (all when None), formatted.

    ``label`` names the table in messages. The caller keeps ownership of ``table``.
    """
    try:
        arrow, total = _window(
            table, label, max_rows=max_rows, head=head, fmt=fmt, max_bytes=max_bytes, offset=0
        )
    except (LimitExceededError, SessionUnavailableError):
        raise
    except Exception as exc:
        raise SessionUnavailableError(f"cannot read table {label}: {describe_error(exc)}") from exc

    data = format_rows(arrow, fmt, label, max_bytes)
    return TableSlice.model_construct(
        table_name=label,
        format=fmt,
        schema_=describe_schema(arrow.schema),
        row_count=arrow.num_rows,
        is_complete=arrow.num_rows >= total,
        data=data,
    )


def read_table_slice(
    session: Session,
    table_name: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> TableSlice:
    """Rows of the global table ``table_name`` of a session, formatted."""
    table = open_table(session, table_name)
    try:
        piece = slice_table(
            table, f"'{table_name}'", max_rows=max_rows, head=head, fmt=fmt, max_bytes=max_bytes
        )
    finally:
        release_later(session, table)
    return piece.model_copy(update={"table_name": table_name})


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


def read_shaped_slice(
    session: Session,
    table_name: str,
    *,
    max_rows: int | None,
    head: bool,
    fmt: str,
    offset: int = 0,
    columns: Sequence[str] | None = None,
    filters: Sequence[FilterItem] | None = None,
    sort: Sequence[SortKey] | None = None,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> ShapedSlice:
    """A page of the global table ``table_name``, shaped on the worker, formatted.

    ``head``: ``offset`` rows are skipped from the start; otherwise from the end (rows stay
    in table order either way, and ``next_offset`` continues in the same direction).
    """
    label = f"'{table_name}'"
    table = open_table(session, table_name)
    shaped: Table | None = None
    try:
        shaped = _shaped(table, label, columns, filters, sort)
        snapshot_time = _utc_now()
        try:
            arrow, total = _window(
                shaped,
                label,
                max_rows=max_rows,
                head=head,
                fmt=fmt,
                max_bytes=max_bytes,
                offset=offset,
            )
        except (LimitExceededError, SessionUnavailableError):
            raise
        except Exception as exc:
            raise SessionUnavailableError(
                f"cannot read table {label}: {describe_error(exc)}"
            ) from exc
        refreshing = bool(table.is_refreshing)
    finally:
        release_later(session, table, None if shaped is table else shaped)

    data = format_rows(arrow, fmt, label, max_bytes)
    end = offset + arrow.num_rows
    return ShapedSlice.model_construct(
        table_name=table_name,
        format=fmt,
        schema_=describe_schema(arrow.schema),
        row_count=arrow.num_rows,
        is_complete=offset == 0 and arrow.num_rows >= total,
        data=data,
        total_rows=total,
        next_offset=end if end < total else None,
        is_refreshing=refreshing,
        snapshot_time=snapshot_time,
    )
