r"""The formats ``session_table_data`` can answer in, and what a response will cost.

Seven concrete formats, plus four strategies naming the format that best serves a goal.
``json-row`` and ``json-column`` return JSON structures that sit directly in the structured MCP
response; the other five return text. How values are written is documented in
:mod:`.values` (JSON formats), :mod:`.text` (cell text) and each writer module.

Sizes are measured as the response carries them: UTF-8 bytes of the JSON encoding, so a
newline inside CSV text counts two bytes (``\n``). The estimate lets the tool refuse a request
before pulling a huge table from the worker.
"""

from __future__ import annotations

import json
from typing import Final

import pyarrow as pa

from deephaven_mcp.formatting.spec import FormattedData
from deephaven_mcp.formatting.temporal import is_temporal
from deephaven_mcp.formatting.values import holds_chars
from deephaven_mcp.formatting.writer import write_table

# Every row costs something, and callers divide by the estimate.
MIN_BYTES_PER_ROW: Final = 1.0
# Text width assumed for a string (or other variable-width) cell when no rows are available.
DEFAULT_STRING_WIDTH: Final = 32
_FLOAT_WIDTHS: Final = {16: 10, 32: 15, 64: 24}
_TIMESTAMP_WIDTH: Final = len("2024-01-02T09:30:00.123456789+05:30")
_TIME_WIDTH: Final = len("09:30:00.123456789")
_DATE_WIDTH: Final = len("2024-01-02")
_DURATION_WIDTH: Final = len("-PT86400.123456789S")


def describe_schema(schema: pa.Schema) -> list[dict[str, str]]:
    """Column names and Arrow types, sent alongside the data so typed values can be read back."""
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def format_table(table: pa.Table, fmt: str) -> FormattedData:
    """``table`` written in ``fmt`` (a format, or a strategy, which is resolved first)."""
    return write_table(table, fmt).data


def formatted_size(data: FormattedData) -> int:
    """UTF-8 bytes ``data`` occupies once JSON-encoded into the MCP response."""
    return len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8"))


def estimate_bytes_per_row(sample: pa.Table, fmt: str) -> float:
    """Response bytes each extra row costs in ``fmt``, measured on ``sample``.

    The fixed part (header, brackets) is subtracted, so ``rows * estimate`` extrapolates well.
    An empty sample is replaced by one placeholder row of typical widths for its schema.
    """
    if sample.num_rows == 0:
        sample = _placeholder_row(sample.schema)
    rows: int = sample.num_rows
    empty = sample.slice(0, 0)
    growth = write_table(sample, fmt).size - write_table(empty, fmt).size
    return max(growth / rows, MIN_BYTES_PER_ROW)


def _placeholder_row(schema: pa.Schema) -> pa.Table:
    """One row whose cells are strings as wide as typical values of each column's type."""
    if len(schema) == 0:
        return pa.table({"placeholder": [None]}).drop_columns(["placeholder"])
    return pa.table(
        {field.name: pa.array(["x" * _typical_width(field)], pa.string()) for field in schema}
    )


def _typical_width(field: pa.Field) -> int:
    arrow_type = field.type
    if holds_chars(field) and pa.types.is_uint16(arrow_type):
        return 1
    if pa.types.is_boolean(arrow_type):
        return len("false")
    if pa.types.is_integer(arrow_type):
        return len(str(-(2 ** (arrow_type.bit_width - 1))))
    if pa.types.is_floating(arrow_type):
        return _FLOAT_WIDTHS[arrow_type.bit_width]
    if pa.types.is_decimal(arrow_type):
        return int(arrow_type.precision) + 2
    if is_temporal(arrow_type):
        return _temporal_width(arrow_type)
    return DEFAULT_STRING_WIDTH


def _temporal_width(arrow_type: pa.DataType) -> int:
    if pa.types.is_timestamp(arrow_type):
        return _TIMESTAMP_WIDTH
    if pa.types.is_date(arrow_type):
        return _DATE_WIDTH
    if pa.types.is_time(arrow_type):
        return _TIME_WIDTH
    return _DURATION_WIDTH
