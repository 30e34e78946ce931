"""The JSON value rules: every Arrow type Deephaven can send becomes a strict-JSON value."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from deephaven_mcp.formatting.values import column_values
from tests.formatting.awkward import CHAR_METADATA, char_field


def values_of(array: pa.Array, field: pa.Field | None = None) -> list[Any]:
    values: list[Any] = column_values(array, field or pa.field("c", array.type))
    assert json.loads(json.dumps(values, allow_nan=False)) == values
    return values


NS = 1_000_000_000


@pytest.mark.parametrize(
    "arrow_type",
    [
        pa.bool_(),
        pa.int8(),
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.uint8(),
        pa.uint16(),
        pa.uint32(),
        pa.uint64(),
        pa.float16(),
        pa.float32(),
        pa.float64(),
        pa.string(),
        pa.large_string(),
        pa.binary(),
        pa.decimal128(10, 2),
        pa.date32(),
        pa.date64(),
        pa.time32("ms"),
        pa.time64("ns"),
        pa.timestamp("ns", tz="UTC"),
        pa.timestamp("ms"),
        pa.duration("ns"),
        pa.list_(pa.int32()),
        pa.struct([("a", pa.int32())]),
        pa.map_(pa.string(), pa.int32()),
        pa.null(),
    ],
    ids=str,
)
def test_null_is_json_null_for_every_type(arrow_type: pa.DataType) -> None:
    assert values_of(pa.array([None, None], arrow_type)) == [None, None]


def test_null_char_stays_null() -> None:
    assert values_of(pa.array([None, 0xFFFF], pa.uint16()), char_field("c")) == [None, None]


def test_non_finite_floats_use_proto3_json_names() -> None:
    array = pa.array([float("nan"), float("inf"), float("-inf"), 1.5, None, -0.0])
    assert values_of(array) == ["NaN", "Infinity", "-Infinity", 1.5, None, -0.0]


def test_float32_keeps_its_own_precision() -> None:
    array = pa.array([0.1, 3.4e38, float("nan"), float("-inf"), None], pa.float32())
    assert values_of(array) == [0.1, 3.4e38, "NaN", "-Infinity", None]


def test_float16_values_are_numbers() -> None:
    assert values_of(pa.array([1.5, float("inf")], pa.float16())) == [1.5, "Infinity"]


def test_integers_stay_exact_ints() -> None:
    int64 = pa.array([2**63 - 1, -(2**63), 0], pa.int64())
    assert values_of(int64) == [2**63 - 1, -(2**63), 0]
    assert values_of(pa.array([2**64 - 1], pa.uint64())) == [2**64 - 1]


def test_booleans_stay_booleans() -> None:
    assert values_of(pa.array([True, False, None])) == [True, False, None]


@pytest.mark.parametrize(
    ("nanos", "expected"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_709_294_400 * NS, "2024-03-01T12:00:00Z"),
        (1_709_294_400 * NS + 500_000_000, "2024-03-01T12:00:00.500Z"),
        (1_709_294_400 * NS + 123_456_000, "2024-03-01T12:00:00.123456Z"),
        (1_709_294_400 * NS + 123_456_789, "2024-03-01T12:00:00.123456789Z"),
        (1_709_294_400 * NS + 1, "2024-03-01T12:00:00.000000001Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
    ],
)
def test_utc_timestamps_are_iso_with_z_and_only_needed_fraction(nanos: int, expected: str) -> None:
    array = pa.array([nanos], pa.timestamp("ns", tz="UTC"))
    assert values_of(array) == [expected]
    parsed = dt.datetime.fromisoformat(expected)
    assert parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "+00:00"])
def test_every_spelling_of_utc_is_written_z(zone: str) -> None:
    assert values_of(pa.array([0], pa.timestamp("s", tz=zone))) == ["1970-01-01T00:00:00Z"]


def test_zoned_timestamps_keep_their_offset() -> None:
    winter = 1_704_205_800 * NS  # 2024-01-02T14:30:00Z
    summer = 1_719_930_600 * NS + 250_000_000  # 2024-07-02T14:30:00.25Z
    new_york = pa.array([winter, summer], pa.timestamp("ns", tz="America/New_York"))
    assert values_of(new_york) == ["2024-01-02T09:30:00-05:00", "2024-07-02T10:30:00.250-04:00"]
    kolkata = pa.array([winter // 1_000_000], pa.timestamp("ms", tz="+05:30"))
    assert values_of(kolkata) == ["2024-01-02T20:00:00+05:30"]
    for text in values_of(new_york):
        assert dt.datetime.fromisoformat(text).timestamp() in (winter / NS, summer / NS)


def test_timestamp_without_zone_gets_no_offset() -> None:
    array = pa.array([1_709_294_400_123_000], pa.timestamp("us"))
    assert values_of(array) == ["2024-03-01T12:00:00.123"]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_whole_second_timestamps_have_no_fraction_in_any_unit(unit: str) -> None:
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": NS}[unit]
    array = pa.array([1_709_294_400 * per_second], pa.timestamp(unit, tz="UTC"))
    assert values_of(array) == ["2024-03-01T12:00:00Z"]


def test_dates_are_plain_iso_dates() -> None:
    assert values_of(pa.array([19_783, None], pa.date32())) == ["2024-03-01", None]
    assert values_of(pa.array([dt.date(1999, 12, 31)], pa.date64())) == ["1999-12-31"]


def test_times_are_iso_times_with_needed_fraction() -> None:
    nanos = pa.array(
        [45_296 * NS + 123_456_789, 45_296 * NS, 45_296 * NS + 5 * 10**8], pa.time64("ns")
    )
    assert values_of(nanos) == ["12:34:56.123456789", "12:34:56", "12:34:56.500"]
    assert values_of(pa.array([45_296_123], pa.time32("ms"))) == ["12:34:56.123"]


def test_durations_are_iso_durations() -> None:
    array = pa.array([1_500_000_000, -2 * NS, 0, 90 * NS + 1, None], pa.duration("ns"))
    assert values_of(array) == ["PT1.5S", "-PT2S", "PT0S", "PT90.000000001S", None]
    assert values_of(pa.array([1_250], pa.duration("ms"))) == ["PT1.25S"]


def test_decimals_keep_their_exact_text() -> None:
    array = pa.array([Decimal("1.50"), Decimal("-12345678.90"), None], pa.decimal128(10, 2))
    assert values_of(array) == ["1.50", "-12345678.90", None]


def test_binary_is_base64() -> None:
    assert values_of(pa.array([b"\x00\xffhi", b"", None])) == ["AP9oaQ==", "", None]
    assert values_of(pa.array([b"ab"], pa.binary(2))) == ["YWI="]


def test_char_columns_are_one_character_strings() -> None:
    codes = pa.array([ord("A"), ord("é"), ord("李"), None, 0xD800], pa.uint16())
    assert values_of(codes, char_field("c")) == ["A", "é", "李", None, "\ufffd"]


def test_uint16_without_char_metadata_stays_a_number() -> None:
    assert values_of(pa.array([65], pa.uint16())) == [65]


def test_char_arrays_hold_characters() -> None:
    field = pa.field("c", pa.list_(pa.uint16()), metadata={b"deephaven:type": b"char[]"})
    array = pa.array([[ord("h"), ord("i")], None, [None]], pa.list_(pa.uint16()))
    assert values_of(array, field) == [["h", "i"], None, [None]]


def test_lists_convert_their_items_recursively() -> None:
    array = pa.array([[1.5, float("nan")], None, [], [None, float("-inf")]], pa.list_(pa.float64()))
    assert values_of(array) == [[1.5, "NaN"], None, [], [None, "-Infinity"]]


def test_sliced_lists_line_up_with_their_rows() -> None:
    array = pa.array([[1], None, [2, 3], [], [4]], pa.large_list(pa.int64())).slice(1, 3)
    assert values_of(array) == [None, [2, 3], []]


def test_fixed_size_lists_and_nested_lists() -> None:
    fixed = pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int8(), 2)).slice(1)
    assert values_of(fixed) == [None, [3, 4]]
    nested = pa.array([[[1], [2, None]], [None]], pa.list_(pa.list_(pa.int64())))
    assert values_of(nested) == [[[1], [2, None]], [None]]


def test_structs_become_objects() -> None:
    array = pa.array(
        [{"a": 1, "t": 0}, None, {"a": None, "t": NS}],
        pa.struct([("a", pa.int32()), ("t", pa.timestamp("ns", tz="UTC"))]),
    ).slice(1)
    assert values_of(array) == [None, {"a": None, "t": "1970-01-01T00:00:01Z"}]


def test_struct_fields_keep_char_metadata() -> None:
    struct_type = pa.struct([pa.field("ch", pa.uint16(), metadata=CHAR_METADATA)])
    assert values_of(pa.array([{"ch": 66}], struct_type)) == [{"ch": "B"}]


def test_maps_become_objects_keyed_by_text() -> None:
    by_name = pa.array([[("x", 1), ("y", None)], None, []], pa.map_(pa.string(), pa.int64()))
    assert values_of(by_name) == [{"x": 1, "y": None}, None, {}]
    by_number = pa.array([[(1, "one")], [(2, "two")]], pa.map_(pa.int32(), pa.string()))
    assert values_of(by_number.slice(1)) == [{"2": "two"}]


def test_dictionary_columns_are_decoded() -> None:
    chunked = pa.chunked_array(
        [
            pa.array(["x", "y", None]).dictionary_encode(),
            pa.array(["z", "x"]).dictionary_encode(),
        ]
    )
    assert values_of(chunked) == ["x", "y", None, "z", "x"]


def test_chunked_columns_concatenate() -> None:
    chunked = pa.chunked_array([[1.5, float("nan")], [], [None, 2.0]])
    assert values_of(chunked) == [1.5, "NaN", None, 2.0]


def test_types_without_a_rule_fall_back_to_text() -> None:
    array = pa.array([pa.MonthDayNano([1, 2, 3]), None], pa.month_day_nano_interval())
    values = values_of(array)
    assert values[1] is None
    assert isinstance(values[0], str)
