"""Timestamp text over the whole int64 range: the lowest and highest instants format exactly."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from deephaven_mcp.formatting import EXPLICIT_FORMATS, format_table
from deephaven_mcp.formatting.temporal import iso_text

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
EPOCH = dt.datetime(1970, 1, 1)


def _expected(nanos: int, suffix: str) -> str:
    """The ISO text Java's Instant.toString gives, computed with exact Python integers."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    whole = (EPOCH + dt.timedelta(seconds=seconds)).isoformat()
    text = f".{fraction:09d}" if fraction else ""
    while text.endswith("000"):
        text = text[:-3]
    return whole + text + suffix


# Long.MIN is Deephaven's null marker, so real instants start one nanosecond above it.
EDGE_NANOS = [
    LONG_MIN + 1,
    LONG_MIN + 2,
    LONG_MIN + 145_224_193 + 999_999_999,
    LONG_MIN + 854_775_807,
    LONG_MIN + 854_775_808,  # the first whole second representable
    LONG_MIN + 1_000_000_000,
    -9_223_372_036_000_000_000,
    -1_000_000_001,
    -1,
    0,
    1,
    999_999_999,
    1_700_000_000_123_000_000,
    LONG_MAX - 1_000_000_000,
    LONG_MAX - 1,
    LONG_MAX,
]


@pytest.mark.parametrize(("zone", "suffix"), [("UTC", "Z"), (None, ""), ("Etc/UTC", "Z")])
def test_every_nanosecond_instant_formats_exactly(zone: str | None, suffix: str) -> None:
    array = pa.array([*EDGE_NANOS, None], pa.timestamp("ns", zone))
    assert iso_text(array).to_pylist() == [*(_expected(n, suffix) for n in EDGE_NANOS), None]


def test_the_lowest_instants_read_as_1677() -> None:
    array = pa.array([LONG_MIN + 1, LONG_MIN + 1_000_000_001], pa.timestamp("ns", "UTC"))
    assert iso_text(array).to_pylist() == [
        "1677-09-21T00:12:43.145224193Z",
        "1677-09-21T00:12:44.145224193Z",
    ]
    highest = pa.array([LONG_MAX], pa.timestamp("ns", "UTC"))
    assert iso_text(highest).to_pylist() == ["2262-04-11T23:47:16.854775807Z"]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_coarser_units_format_exactly_at_their_extremes(unit: str) -> None:
    scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000}[unit]
    # Python's datetime reaches year 9999 only, so coarse units are checked inside that range.
    limit = 253_402_300_799 * 1_000_000_000 // scale
    values = [-62_135_596_800 * 1_000_000_000 // scale, -limit // 7, -1, 0, 1, limit]
    array = pa.array([*values, None], pa.timestamp(unit, "UTC"))
    assert iso_text(array).to_pylist() == [*(_expected(v * scale, "Z") for v in values), None]


def test_zoned_timestamps_at_the_extremes_keep_their_local_offset() -> None:
    array = pa.array([LONG_MIN + 1, 0, LONG_MAX, None], pa.timestamp("ns", "Asia/Kolkata"))
    # Before 1941 Kolkata kept local mean time, which Arrow writes to the minute (+05:53).
    assert iso_text(array).to_pylist() == [
        "1677-09-21T06:06:11.145224193+05:53",
        "1970-01-01T05:30:00+05:30",
        "2262-04-12T05:17:16.854775807+05:30",
        None,
    ]
    array = pa.array([LONG_MIN + 1, -1, LONG_MAX], pa.timestamp("ns", "America/New_York"))
    assert iso_text(array).to_pylist() == [
        "1677-09-20T19:16:41.145224193-04:56",
        "1969-12-31T18:59:59.999999999-05:00",
        "2262-04-11T18:47:16.854775807-05:00",
    ]


@pytest.mark.parametrize("fmt", EXPLICIT_FORMATS)
def test_every_format_writes_the_extreme_instants(fmt: str) -> None:
    table = pa.table({"Ts": pa.array([LONG_MIN + 1, LONG_MAX], pa.timestamp("ns", "UTC"))})
    text = json.dumps(format_table(table, fmt))
    assert "1677-09-21T00:12:43.145224193Z" in text
    assert "2262-04-11T23:47:16.854775807Z" in text
