"""ISO 8601 text for Arrow temporal arrays, computed with Arrow kernels rather than per cell.

- Timestamps: ``2024-03-01T12:00:00.123Z``. The fraction is kept only as far as it is
  non-zero, in groups of three digits (like Java's ``Instant.toString``), so nanoseconds survive.
  UTC zones are written ``Z``; other zones as ``+05:30``. A timestamp without a zone (Deephaven
  ``LocalDateTime``) gets no offset, because inventing ``Z`` would misstate the data.
- Dates: ``YYYY-MM-DD``. Times: ``HH:MM:SS`` plus the non-zero fraction in groups of three.
- Durations: ``PT<seconds>S`` with the fraction trimmed (``PT1.5S``), ``-PT2S`` when negative.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

_UTC_ZONES: Final = frozenset({"UTC", "Etc/UTC", "Z", "+00:00", "GMT", "Etc/GMT", "Zulu"})
_OFFSET: Final = r"(Z|[+-]\d\d:\d\d)?$"
_TRAILING_ZERO_GROUPS: Final = r"\.((?:\d{3})*?)(?:000)+" + _OFFSET
_EMPTY_FRACTION: Final = r"\." + _OFFSET
_NANOS_PER_UNIT: Final = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_TEMPORAL_TYPES: Final = (
    pa.types.is_timestamp,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_duration,
)


def is_temporal(arrow_type: pa.DataType) -> bool:
    """Whether :func:`iso_text` knows how to render ``arrow_type``."""
    return any(test(arrow_type) for test in _TEMPORAL_TYPES)


def iso_text(array: pa.Array) -> pa.Array:
    """A string array with the ISO 8601 text of each value; nulls stay null."""
    arrow_type = array.type
    if pa.types.is_timestamp(arrow_type):
        return _timestamp_text(array)
    if pa.types.is_date(arrow_type):
        return pc.cast(array, pa.string())
    if pa.types.is_time(arrow_type):
        return _trim_fraction(pc.cast(array, pa.string()))
    if pa.types.is_duration(arrow_type):
        return _duration_text(array)
    raise TypeError(f"not a temporal type: {arrow_type}")


def _timestamp_text(array: pa.Array) -> pa.Array:
    """Text of every timestamp, exact over the whole int64 range of any unit.

    The value is split into whole seconds (floored) and a nanosecond fraction with integer
    kernels, and only the seconds go through Arrow's calendar cast: flooring the timestamp itself
    (or shifting it by a zone offset) would leave the int64 range for the lowest and highest
    instants, e.g. ``1677-09-21T00:12:43.145224193Z``.
    """
    unit, zone = array.type.unit, array.type.tz
    seconds, nanos = _split_seconds(array.cast(pa.int64()), _NANOS_PER_UNIT[unit])
    zoned = zone is not None and zone not in _UTC_ZONES
    whole = pc.cast(seconds.cast(pa.timestamp("s", zone if zoned else None)), pa.string())
    whole = pc.replace_substring(whole, " ", "T", max_replacements=1)
    fraction = _fraction_text(nanos)
    if not zoned:
        return pc.binary_join_element_wise(whole, fraction, "" if zone is None else "Z", "")
    # Arrow writes the offset as +HHMM after the seconds; the fraction goes before it.
    offset = pc.utf8_slice_codeunits(whole, -5)
    return pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(whole, 0, -5),
        fraction,
        pc.utf8_slice_codeunits(offset, 0, 3),
        ":",
        pc.utf8_slice_codeunits(offset, 3),
        "",
    )


def _split_seconds(values: pa.Array, nanos_per_unit: int) -> tuple[pa.Array, pa.Array]:
    """Floored whole seconds and the nanoseconds past them, for int64 counts of a unit.

    Only truncating division and products no larger than the value itself, so nothing overflows.
    """
    units_per_second = 1_000_000_000 // nanos_per_unit
    if units_per_second == 1:
        return values, pc.multiply(values, pa.scalar(0, pa.int64()))
    per_second = pa.scalar(units_per_second, pa.int64())
    quotient = pc.divide(values, per_second)
    rest = pc.subtract(values, pc.multiply(quotient, per_second))
    negative = pc.less(rest, pa.scalar(0, pa.int64()))
    seconds = pc.if_else(negative, pc.subtract(quotient, pa.scalar(1, pa.int64())), quotient)
    rest = pc.if_else(negative, pc.add(rest, per_second), rest)
    return seconds, pc.multiply(rest, pa.scalar(nanos_per_unit, pa.int64()))


def _fraction_text(nanos: pa.Array) -> pa.Array:
    """``""``, ``".123"``, ``".123456"`` or ``".123456789"`` for nanoseconds 0..999_999_999,
    with integer kernels (a regex over every cell would cost more than everything else together).
    """
    # ".123456789" from 1_123_456_789, then cut after the last non-zero group of three digits.
    digits = pc.cast(pc.add(nanos, pa.scalar(1_000_000_000, pa.int64())), pa.string())
    dotted = pc.utf8_replace_slice(digits, 0, 1, ".")
    return pc.if_else(
        pc.equal(nanos, 0),
        "",
        pc.if_else(
            pc.equal(_remainder(nanos, 1_000_000), 0),
            pc.utf8_slice_codeunits(dotted, 0, 4),
            pc.if_else(
                pc.equal(_remainder(nanos, 1_000), 0),
                pc.utf8_slice_codeunits(dotted, 0, 7),
                dotted,
            ),
        ),
    )


def _remainder(values: pa.Array, divisor: int) -> pa.Array:
    """``values % divisor`` for values >= 0 (Arrow has no modulo kernel)."""
    quotient = pc.divide(values, pa.scalar(divisor, pa.int64()))
    return pc.subtract(values, pc.multiply(quotient, pa.scalar(divisor, pa.int64())))


def _trim_fraction(text: pa.Array) -> pa.Array:
    text = pc.replace_substring_regex(text, _TRAILING_ZERO_GROUPS, r".\1\2")
    return pc.replace_substring_regex(text, _EMPTY_FRACTION, r"\1")


def _duration_text(array: pa.Array) -> pa.Array:
    nanos_per_unit = _NANOS_PER_UNIT[array.type.unit]
    units_per_second = 1_000_000_000 // nanos_per_unit
    digits = len(str(units_per_second)) - 1
    texts: list[str | None] = []
    for value in pc.cast(array, pa.int64()).to_pylist():
        if value is None:
            texts.append(None)
            continue
        seconds, fraction = divmod(abs(value), units_per_second)
        fraction_text = f".{fraction:0{digits}d}".rstrip("0") if fraction else ""
        sign = "-" if value < 0 else ""
        texts.append(f"{sign}PT{seconds}{fraction_text}S")
    return pa.array(texts, pa.string())
