"""Cell text shared by csv, markdown and xml: what each Arrow type reads as."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pyarrow as pa
import pytest

from deephaven_mcp.formatting.text import column_text
from tests.formatting.awkward import char_field


def text_of(array: pa.Array | pa.ChunkedArray, field: pa.Field | None = None) -> list[str | None]:
    text = column_text(array, field or pa.field("c", array.type))
    assert text.type == pa.string()
    cells: list[str | None] = text.to_pylist()
    return cells


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (pa.array([True, False, None]), ["true", "false", None]),
        (pa.array([-(2**63), None], pa.int64()), ["-9223372036854775808", None]),
        (pa.array([1.0, 2.5, -0.0, None]), ["1", "2.5", "-0", None]),
        (
            pa.array([float("nan"), float("inf"), float("-inf"), 1e-7]),
            ["NaN", "Infinity", "-Infinity", "1e-7"],
        ),
        (pa.array([0.1, float("nan")], pa.float32()), ["0.1", "NaN"]),
        (pa.array([1.5, float("-inf")], pa.float16()), ["1.5", "-Infinity"]),
        (pa.array([Decimal("-0.50")], pa.decimal128(5, 2)), ["-0.50"]),
        (pa.array([19_783], pa.date32()), ["2024-03-01"]),
        (pa.array([5_400_000_001], pa.time64("us")), ["01:30:00.000001"]),
        (pa.array([1_500], pa.duration("ms")), ["PT1.5S"]),
        (pa.array([0], pa.timestamp("s", tz="Asia/Tokyo")), ["1970-01-01T09:00:00+09:00"]),
        (pa.array([b"\x00\x01"]), ["AAE="]),
        (pa.array([None, None], pa.null()), [None, None]),
        (pa.array(["b", "a", "b"]).dictionary_encode(), ["b", "a", "b"]),
        (pa.array([["x", None], None], pa.list_(pa.string())), ['["x", null]', None]),
        (pa.array([[1.5, float("nan")]], pa.list_(pa.float64())), ['[1.5, "NaN"]']),
        (pa.array([{"a": 1, "b": "é"}]), ['{"a": 1, "b": "é"}']),
        (pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int8())), ['{"k": 1}']),
    ],
    ids=lambda value: str(value.type) if isinstance(value, pa.Array) else None,
)
def test_cell_text_by_type(array: pa.Array, expected: list[str | None]) -> None:
    assert text_of(array) == expected


def test_char_cells_are_their_character() -> None:
    codes = pa.array([ord("x"), None, ord("李")], pa.uint16())
    assert text_of(codes, char_field("c")) == ["x", None, "李"]


def test_chunked_columns_give_one_text_array() -> None:
    chunked = pa.chunked_array([[1, 2], [], [None, 4]], pa.int32())
    assert text_of(chunked) == ["1", "2", None, "4"]


def _reference_timestamp(value: int, units_per_second: int, zone_suffix: str) -> str:
    seconds, fraction = divmod(value, units_per_second)
    nanos = fraction * (1_000_000_000 // units_per_second)
    wall = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    text = f"{nanos:09d}"
    while text.endswith("000"):
        text = text[:-3]
    return wall.isoformat() + (f".{text}" if text else "") + zone_suffix


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(("zone", "suffix"), [(None, ""), ("UTC", "Z"), ("Etc/UTC", "Z")])
def test_timestamps_match_a_plain_python_rendering(
    unit: str, zone: str | None, suffix: str
) -> None:
    units_per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    rng = random.Random(7)
    # Years 1700-2250 fit int64 nanoseconds; whole seconds, milli-, micro- and nanoseconds.
    span = 8_000_000_000 * units_per_second
    values = [rng.randrange(-span, span) for _ in range(2_000)]
    values += [value - value % max(1, units_per_second // 1_000) for value in values[:500]]
    values += [value - value % units_per_second for value in values[:500]]
    values += [0, -1, 1]
    texts = column_text(
        pa.array([*values, None], pa.timestamp(unit, zone)), pa.field("t", pa.int64())
    )
    expected = [_reference_timestamp(value, units_per_second, suffix) for value in values]
    assert texts.to_pylist() == [*expected, None]
