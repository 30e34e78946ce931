"""Deephaven's null markers, and how a structured filter on one is refused.

Shared by the filter tests with and without a worker: their tables name a column of each
primitive type by the same letter (Y byte, H short, I int, L long, F float, D double).
"""

from __future__ import annotations

# (column, the value the engine stores for null in it, its type)
NULL_MARKERS = [
    ("Y", -128, "byte"),
    ("H", -32768, "short"),
    ("I", -2147483648, "int"),
    ("L", -9223372036854775808, "long"),
    ("F", -3.4028234663852886e38, "float"),
    ("D", -1.7976931348623157e308, "double"),
]


def marker_refusal(column: str, marker: float, name: str) -> str:
    """The start of the error for a filter value that is the null marker of ``name``."""
    return (
        f"filter value {marker!r} on column '{column}' ({name}) is Deephaven's null marker "
        f'for {name}; use {{"op": "is_null"}} to find nulls'
    )
