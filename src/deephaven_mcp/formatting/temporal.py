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


def is_temporal(arrow_type: pa.DataType) -> bool:
    """Whether :func:`iso_text` knows how to render ``arrow_type``."""
    return bool(
        pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_time(arrow_type)
        or pa.types.is_duration(arrow_type)
    )


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
    unit, zone = array.type.unit, array.type.tz
    if zone is None or zone in _UTC_ZONES:
        naive = array if zone is None else array.cast(pa.timestamp(unit))
        return _utc_text(naive, "" if zone is None else "Z")
    if zone in _UTC_ZONES:
        # Arrow stores UTC instants, so dropping the zone yields UTC wall time without the
        # (slow) time-zone database lookup that casting a zoned timestamp performs.
        text = pc.cast(array.cast(pa.timestamp(unit)), pa.string())
        text = pc.binary_join_element_wise(text, "Z", "")
    else:
        text = pc.cast(array, pa.string())
        if zone is not None:
            text = pc.replace_substring_regex(text, r"([+-]\d\d)(\d\d)$", r"\1:\2")
    return _trim_fraction(pc.replace_substring(text, " ", "T", max_replacements=1))


def _utc_text(naive: pa.Array, suffix: str) -> pa.Array:
    """Wall-clock text of a zone-less timestamp array, with integer kernels for the fraction
    (a regex over every cell would cost more than everything else together)."""
    seconds = pc.floor_temporal(naive, unit="second")
    whole = pc.cast(pc.cast(seconds, pa.timestamp("s")), pa.string())
    whole = pc.replace_substring(whole, " ", "T", max_replacements=1)
    scale = _NANOS_PER_UNIT[naive.type.unit]
    nanos = pc.multiply(
        pc.subtract(naive.cast(pa.int64()), seconds.cast(pa.int64())), pa.scalar(scale, pa.int64())
    )
    # ".123456789" from 1_123_456_789, then cut after the last non-zero group of three digits.
    digits = pc.cast(pc.add(nanos, pa.scalar(1_000_000_000, pa.int64())), pa.string())
    dotted = pc.utf8_replace_slice(digits, 0, 1, ".")
    fraction = pc.if_else(
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
    return pc.binary_join_element_wise(whole, fraction, suffix, "")


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
