"""Arrow columns -> cell text for the flat text formats (csv, markdown, xml).

A cell's text says what its JSON value says: strings as they are, ``true``/``false``, numbers
(floats in Arrow's shortest round-trip spelling, so ``1.0`` reads ``1``), ``NaN``/``Infinity``/
``-Infinity``, ISO 8601 times, and nested values as JSON (``[1, null]``). Nulls stay null here;
each format decides how to show them. Common types are converted with Arrow kernels because a
100,000-row response must format in well under a second.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.spec import JsonValue
from deephaven_mcp.formatting.temporal import is_temporal, iso_text
from deephaven_mcp.formatting.values import (
    NAN_TEXT,
    NEGATIVE_INFINITY_TEXT,
    POSITIVE_INFINITY_TEXT,
    as_array,
    column_values,
    holds_chars,
    is_text,
)


def column_text(column: pa.Array | pa.ChunkedArray, field: pa.Field) -> pa.Array:
    """A ``string`` array holding the text of every cell of ``column``; nulls stay null."""
    array = as_array(column)
    arrow_type = array.type
    if pa.types.is_uint16(arrow_type) and holds_chars(field):
        return _text_of_values(column_values(array, field))
    if (
        is_text(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return pc.cast(array, pa.string())
    if pa.types.is_floating(arrow_type):
        return _float_text(array)
    if is_temporal(arrow_type):
        return iso_text(array)
    return _text_of_values(column_values(array, field))


def table_text(table: pa.Table) -> list[pa.Array]:
    """:func:`column_text` of every column of ``table``, in order."""
    return [column_text(table.column(index), field) for index, field in enumerate(table.schema)]


def _float_text(array: pa.Array) -> pa.Array:
    if pa.types.is_float16(array.type):
        array = array.cast(pa.float32())
    text = pc.cast(array, pa.string())
    if pc.any(pc.invert(pc.is_finite(array))).as_py():
        text = pc.if_else(pc.is_nan(array), NAN_TEXT, text)
        text = pc.if_else(pc.equal(array, float("inf")), POSITIVE_INFINITY_TEXT, text)
        text = pc.if_else(pc.equal(array, float("-inf")), NEGATIVE_INFINITY_TEXT, text)
    return text


def _text_of_values(values: list[JsonValue]) -> pa.Array:
    return pa.array(
        [
            value
            if value is None or isinstance(value, str)
            else json.dumps(value, ensure_ascii=False)
            for value in values
        ],
        pa.string(),
    )
