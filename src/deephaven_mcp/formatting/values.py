"""Arrow columns -> JSON-safe Python values (the cells of the ``json-row``/``json-column`` formats).

Every value is something ``json.dumps(..., allow_nan=False)`` accepts, following these rules:

- Nulls (how Deephaven nulls arrive) -> ``None`` for every type, nested values included.
- Float NaN / +inf / -inf -> ``"NaN"`` / ``"Infinity"`` / ``"-Infinity"``, the proto3 JSON
  convention, so the output stays strict JSON. A float32 keeps its own precision
  (``0.1f`` -> ``0.1`` rather than ``0.10000000149011612``).
- Integers of any width, int64 included, stay ints (Python's json never rounds them).
- Temporal types -> ISO 8601 text (see :mod:`.temporal`); decimals -> their exact text
  (``"1.50"``); binary -> base64.
- Deephaven ``char`` (uint16 whose field has ``deephaven:type`` = ``char``, or ``char[]`` for
  arrays) -> a one-character string. Deephaven's null char 0xFFFF -> ``None``; a lone UTF-16
  surrogate half, which UTF-8 cannot encode, -> U+FFFD.
- Lists -> lists, structs -> objects, maps -> objects keyed by the key's text (a non-string key
  is spelled as JSON, e.g. ``"1"``); dictionary-encoded columns are decoded first.
- Anything else (unions, intervals) -> ``str()`` of the Python value, so no type ever fails.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.spec import JsonValue
from deephaven_mcp.formatting.temporal import is_temporal, iso_text

NAN_TEXT: Final = "NaN"
POSITIVE_INFINITY_TEXT: Final = "Infinity"
NEGATIVE_INFINITY_TEXT: Final = "-Infinity"

_DEEPHAVEN_TYPE: Final = b"deephaven:type"
_DEEPHAVEN_NULL_CHAR: Final = 0xFFFF
_SURROGATES: Final = range(0xD800, 0xE000)

_Item = TypeVar("_Item")

# Families of Arrow types, as the ``pyarrow.types`` tests that recognise their members.
_TEXT_TYPES: Final = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
_BINARY_TYPES: Final = (  # written as base64
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_fixed_size_binary,
    pa.types.is_binary_view,
)
_LIST_TYPES: Final = (  # variable or fixed size: JSON arrays
    pa.types.is_list,
    pa.types.is_large_list,
    pa.types.is_fixed_size_list,
    pa.types.is_list_view,
    pa.types.is_large_list_view,
)


def as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array with dictionaries decoded, so kernels see plain value types."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


def holds_chars(field: pa.Field) -> bool:
    """Whether uint16 values under ``field`` are Deephaven chars rather than numbers."""
    deephaven_type = (field.metadata or {}).get(_DEEPHAVEN_TYPE, b"")
    return bool(deephaven_type.startswith(b"char"))


def column_values(column: pa.Array | pa.ChunkedArray, field: pa.Field) -> list[JsonValue]:
    """The JSON-safe value of every cell of ``column``, described by ``field``."""
    return _array_values(as_array(column), holds_chars(field))


def rows_of(columns: Sequence[Sequence[_Item]], row_count: int) -> Iterable[tuple[_Item, ...]]:
    """Cells grouped by row; a table with no columns still has ``row_count`` (empty) rows."""
    if columns:
        return zip(*columns, strict=True)
    return itertools.repeat((), row_count)


def _array_values(array: pa.Array, uint16_is_char: bool) -> list[JsonValue]:
    arrow_type = array.type
    values: list[JsonValue]
    if pa.types.is_dictionary(arrow_type):
        values = _array_values(array.dictionary_decode(), uint16_is_char)
    elif pa.types.is_null(arrow_type):
        values = [None] * len(array)
    elif uint16_is_char and pa.types.is_uint16(arrow_type):
        values = [_char(code) for code in array.to_pylist()]
    elif pa.types.is_boolean(arrow_type) or pa.types.is_integer(arrow_type) or is_text(arrow_type):
        values = array.to_pylist()
    elif pa.types.is_floating(arrow_type):
        values = _float_values(array)
    elif pa.types.is_decimal(arrow_type):
        values = pc.cast(array, pa.string()).to_pylist()
    elif is_temporal(arrow_type):
        values = iso_text(array).to_pylist()
    elif _is_binary_like(arrow_type):
        values = [_base64(blob) for blob in array.to_pylist()]
    elif pa.types.is_map(arrow_type):
        values = _map_values(array)
    elif _is_list_like(arrow_type):
        values = _list_values(array, uint16_is_char)
    elif pa.types.is_struct(arrow_type):
        values = _struct_values(array)
    else:
        values = [None if value is None else str(value) for value in array.to_pylist()]
    return values


def is_text(arrow_type: pa.DataType) -> bool:
    """Whether ``arrow_type`` is a string type (32- or 64-bit offsets, or a view)."""
    return any(test(arrow_type) for test in _TEXT_TYPES)


def _is_binary_like(arrow_type: pa.DataType) -> bool:
    return any(test(arrow_type) for test in _BINARY_TYPES)


def _is_list_like(arrow_type: pa.DataType) -> bool:
    return any(test(arrow_type) for test in _LIST_TYPES)


def non_finite_text(value: float) -> str:
    """The proto3 JSON spelling of NaN or an infinity."""
    if value != value:
        return NAN_TEXT
    return POSITIVE_INFINITY_TEXT if value > 0 else NEGATIVE_INFINITY_TEXT


def _float_values(array: pa.Array) -> list[JsonValue]:
    if pa.types.is_float16(array.type):
        array = array.cast(pa.float32())
    if pa.types.is_float32(array.type):
        # Arrow prints the shortest text that round-trips a float32; parsing that as a double
        # gives the value a person would write instead of the widened binary fraction.
        array = pc.cast(pc.cast(array, pa.string()), pa.float64())
    values: list[JsonValue] = array.to_pylist()
    non_finite = pc.indices_nonzero(pc.fill_null(pc.invert(pc.is_finite(array)), False))
    for index, number in zip(
        non_finite.to_pylist(), pc.take(array, non_finite).to_pylist(), strict=True
    ):
        values[index] = non_finite_text(number)
    return values


def _char(code: int | None) -> str | None:
    if code is None or code == _DEEPHAVEN_NULL_CHAR:
        return None
    if code in _SURROGATES:
        return "\ufffd"
    return chr(code)


def _base64(blob: bytes | None) -> str | None:
    return None if blob is None else base64.b64encode(blob).decode("ascii")


def _split_by_list(lists: pa.Array, items: list[_Item]) -> Iterator[list[_Item] | None]:
    """Regroup the flattened ``items`` of ``lists``; flatten() skips null lists, so they line up."""
    start = 0
    for length in pc.list_value_length(lists).to_pylist():
        if length is None:
            yield None
        else:
            yield items[start : start + length]
            start += length


def _list_values(array: pa.Array, uint16_is_char: bool) -> list[JsonValue]:
    return list(_split_by_list(array, _array_values(array.flatten(), uint16_is_char)))


def _struct_values(array: pa.Array) -> list[JsonValue]:
    fields = [array.type.field(index) for index in range(array.type.num_fields)]
    names = [field.name for field in fields]
    columns = [
        _array_values(pc.struct_field(array, [index]), holds_chars(field))
        for index, field in enumerate(fields)
    ]
    is_valid = array.is_valid().to_pylist()
    return [
        dict(zip(names, row, strict=True)) if valid else None
        for valid, row in zip(is_valid, rows_of(columns, len(array)), strict=True)
    ]


def _map_values(array: pa.Array) -> list[JsonValue]:
    key_field, item_field = array.type.key_field, array.type.item_field
    entries = array.cast(pa.list_(pa.struct([key_field, item_field])))
    flat_entries = entries.flatten()
    keys = _array_values(pc.struct_field(flat_entries, [0]), holds_chars(key_field))
    items = _array_values(pc.struct_field(flat_entries, [1]), holds_chars(item_field))
    return [
        None if pairs is None else {_key_text(key): item for key, item in pairs}
        for pairs in _split_by_list(entries, list(zip(keys, items, strict=True)))
    ]


def _key_text(key: JsonValue) -> str:
    return key if isinstance(key, str) else json.dumps(key, ensure_ascii=False)
