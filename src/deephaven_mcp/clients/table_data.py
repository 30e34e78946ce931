"""Fetch a bounded slice of a table and format it, in one blocking call.

The size limit is enforced twice: before fetching (row count x bytes per row estimated
from a small sample) so that a huge table is never pulled into memory, and after
formatting, on the exact response size.
"""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa
from pydantic import Field
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp._output import ToolOutput
from deephaven_mcp.clients.community import open_table, release, release_later
from deephaven_mcp.clients.errors import describe_error
from deephaven_mcp.errors import LimitExceededError, SessionUnavailableError
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


def _row_count(table: Table) -> int:
    """Rows in ``table``; asks the worker when the export did not say (ticking tables)."""
    if table.size is not None:
        return int(table.size)
    counted = table.count_by("RowCount")
    try:
        return int(counted.to_arrow().column("RowCount")[0].as_py())
    finally:
        release(counted)


def _fetch(table: Table, rows: int, head: bool, total: int) -> pa.Table:
    if rows >= total:
        return table.to_arrow()
    part = table.head(rows) if head else table.tail(rows)
    try:
        return part.to_arrow()
    finally:
        release_later(part.session, part)


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
        total = _row_count(table)
        wanted = total if max_rows is None else min(max_rows, total)
        if wanted > SAMPLE_ROWS:
            sample = _fetch(table, SAMPLE_ROWS, head, total)
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
        arrow = _fetch(table, wanted, head, total)
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
