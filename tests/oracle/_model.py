"""The oracle: what each tool answer should be, worked out in plain Python and pyarrow.compute
from the rows read back from the worker (so null markers are already nulls).

The rules spelled out here are the target behaviour of the table tools (see the module
docstrings of ``deephaven_mcp.clients.shaping`` and ``analysis``) written independently of
their implementation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Final

import numpy as np

from tests.oracle._gen import FLOAT_COLUMNS, INT_COLUMNS, NANOS, day_text

Json = Any
EPS64: Final = 2.0**-52
EPS32: Final = 2.0**-23
LONG_MIN: Final = -(2**63)
LONG_MAX: Final = 2**63 - 1
FLOAT32_MAX: Final = float(np.finfo(np.float32).max)

# -- JSON spelling of values --------------------------------------------------------------

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def iso_nanos(nanos: int) -> str:
    """Instant text as the tools write it: UTC, 'Z', the fraction in groups of three digits."""
    seconds, fraction = divmod(nanos, NANOS)
    whole = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if len(whole) < 19:  # years before 1000 lose their zero padding in some libcs
        whole = whole.zfill(19)
    digits = f"{fraction:09d}"
    while digits.endswith("000"):
        digits = digits[:-3]
    return f"{whole}.{digits}Z" if digits else f"{whole}Z"


_ISO: Final = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$")


def parse_iso_nanos(text: str) -> int:
    """Nanoseconds since the epoch of the tools' Instant text (exact, unlike fromisoformat)."""
    found = _ISO.match(text)
    assert found, text
    whole = dt.datetime.fromisoformat(found.group(1)).replace(tzinfo=dt.UTC)
    seconds = (whole - _EPOCH) // dt.timedelta(seconds=1)
    return seconds * NANOS + int((found.group(2) or "").ljust(9, "0"))


def float_json(value: float, single: bool = False) -> Json:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if single:  # a float keeps its own shortest spelling
        return float(str(np.float32(value)))
    return value


def cell_json(column: str, value: Any) -> Json:
    """One cell of a read-back row as json-row/json-column spell it."""
    if value is None:
        return None
    if column in FLOAT_COLUMNS:
        return float_json(value, single=column == "F32")
    if column == "Ch":
        return chr(value)
    if column == "Ts":
        return iso_nanos(value)
    if column == "Day":
        return day_text(value)
    return value


def json_number(value: Json) -> float | int | None:
    """A statistic from an answer as a number (NaN/Infinity arrive as text)."""
    if value is None or isinstance(value, (int, float)):
        return value
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[value]


# -- filters ------------------------------------------------------------------------------


# The engine's rule (read from its bytecode, checked on a worker): the pattern is compiled
# with DOTALL and must match the whole value, so "." also matches line breaks. The
# generated patterns use only syntax Java and Python read alike.
def regex_matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value, re.DOTALL) is not None


# Java's == on doubles: -0.0 equals 0.0. Python's == agrees; kept as a named rule.
def float_equal(x: float, v: float) -> bool:
    return x == v


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _literal(column: str, value: Json) -> Any:
    """A filter value in the read-back representation of ``column``."""
    if column in FLOAT_COLUMNS and isinstance(value, str):
        return {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}[value.lower()]
    if column == "F32":  # a float column compares with the value rounded to a float, so
        return float(np.float32(value))  # the shortest text the tools write matches its row
    if column in FLOAT_COLUMNS:
        return float(value)
    if column == "Ts":
        return parse_iso_nanos(value)
    return value


def _eq(column: str, x: Any, v: Any) -> bool:
    if x is None:
        return False
    if _is_nan(v):
        return _is_nan(x)
    if column in FLOAT_COLUMNS:
        return float_equal(x, v)
    if column == "Bool":
        return x is v
    return bool(x == v)


def _less(x: Any, v: Any) -> bool:
    """null is below every value (-Infinity included); NaN is in no order."""
    return x is None or (not _is_nan(x) and x < v)


def _greater(x: Any, v: Any) -> bool:
    return x is not None and not _is_nan(x) and x > v


def condition_holds(cond: dict[str, Any], row: dict[str, Any]) -> bool:
    if "any_of" in cond:
        return any(condition_holds(item, row) for item in cond["any_of"])
    column, op = cond["column"], cond["op"]
    x = row[column]
    if op == "is_null":
        return x is None
    if op == "not_null":
        return x is not None
    if op == "contains":
        return x is not None and cond["value"] in x
    if op == "matches":
        return x is not None and regex_matches(cond["value"], x)
    if op in ("in", "not_in"):
        found = any(_eq(column, x, _literal(column, item)) for item in cond["value"])
        return found if op == "in" else not found
    v = _literal(column, cond["value"])
    match op:
        case "eq":
            return _eq(column, x, v)
        case "ne":
            return not _eq(column, x, v)
        case "lt":
            return _less(x, v)
        case "le":
            return _less(x, v) or _eq(column, x, v)
        case "gt":
            return _greater(x, v)
        case "ge":
            return _greater(x, v) or _eq(column, x, v)
    raise AssertionError(op)


def kept_ids(rows: Sequence[dict[str, Any]], filters: Sequence[dict[str, Any]]) -> list[int]:
    return [row["Id"] for row in rows if all(condition_holds(f, row) for f in filters)]


# -- sort ---------------------------------------------------------------------------------


def sort_value(column: str, x: Any) -> tuple[int, Any]:
    """Ascending order: null first; NaN above +Infinity; -0.0 ties 0.0; strings by Java's
    String.compareTo (UTF-16 code units); chars by code unit; False before True."""
    if x is None:
        return (0, 0)
    if column in FLOAT_COLUMNS:
        return (2, 0) if math.isnan(x) else (1, x + 0.0)
    if column == "Str":
        return (1, x.encode("utf-16-be"))
    return (1, x)


class _Descending:
    """Reverses the order of a key (so descending puts nulls last)."""

    def __init__(self, key: Any):
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and bool(self.key == other.key)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"desc{self.key!r}"


def sort_key(row: dict[str, Any], keys: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for key in keys:
        value = sort_value(key["column"], row[key["column"]])
        parts.append(_Descending(value) if key.get("descending") else value)
    return tuple(parts)


# -- statistics ---------------------------------------------------------------------------


class Stat:
    """An expected statistic: an exact value, a tolerance, and whether null+note may stand in
    for it (a floating result whose computation could overflow although its inputs are
    finite)."""

    def __init__(
        self, value: Json, *, tol: float = 0.0, may_overflow: bool = False, must_note: bool = False
    ):
        self.value = value
        self.tol = tol
        self.may_overflow = may_overflow
        self.must_note = must_note  # the answer must be null with a note

    def __repr__(self) -> str:
        extra = f" ±{self.tol:.3g}" if self.tol else ""
        flags = " (or null+note)" if self.may_overflow else ""
        flags += " (null+note)" if self.must_note else ""
        return f"{self.value!r}{extra}{flags}"

    def accepts(self, got: Json, notes: Sequence[str]) -> bool:
        if (
            isinstance(self.value, float)
            and self.tol == 0.0
            and abs(self.value) <= FLOAT32_MAX
            and got == float(np.float32(self.value))
        ):
            return True  # a float column's value, written at double precision
        if self.must_note:
            return got is None and bool(notes)
        if got is None and self.may_overflow and notes:
            return True
        if self.value is None or got is None:
            return got is None and self.value is None
        if isinstance(self.value, str) or isinstance(got, str):
            return bool(got == self.value)
        if isinstance(self.value, bool) or isinstance(got, bool):
            return got is self.value
        if self.tol == 0.0:
            return bool(got == self.value)
        return abs(float(got) - float(self.value)) <= self.tol


def _finite_float(x: Any) -> bool:
    return isinstance(x, float) and math.isfinite(x)


def _float(x: Fraction | float) -> float:
    """The nearest double, or an infinity when ``x`` is beyond the doubles."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def numeric_stat(op: str, values: Sequence[Any], *, floating: bool, single: bool) -> Stat:
    """sum/avg/std/var/median/min/max of ``values`` (nulls already removed; NaN present only
    when it should propagate)."""
    if op in ("std", "var") and len(values) < 2:
        return Stat(None)
    if not values:
        return Stat(None)
    if any(_is_nan(x) for x in values):
        return Stat("NaN")
    if op in ("min", "max"):
        best = min(values) if op == "min" else max(values)
        return Stat(float_json(best, single) if floating else best)
    if floating and any(math.isinf(x) for x in values):
        result = _nonfinite(op, values)
        if op == "median" and math.isfinite(result):
            # Two finite middle values averaged by the engine in the column's type (a float
            # column's median is a float), so allow that rounding.
            return Stat(result, tol=4 * (EPS32 if single else EPS64) * abs(result))
        return Stat(float_json(result))
    exact = [Fraction(x) for x in values]
    n = len(exact)
    scale = max(abs(x) for x in exact)
    if op == "sum" and not floating:
        total = sum(exact)
        assert total.denominator == 1
        # LONG_MIN itself is Deephaven's null long: a sum landing on it cannot be shown.
        if not LONG_MIN < total <= LONG_MAX:
            return Stat(None, must_note=True)
        may = sum(x for x in exact if x > 0) > LONG_MAX or sum(x for x in exact if x < 0) < LONG_MIN
        return Stat(int(total), may_overflow=may)
    # A float column's statistics may be answered in float (the engine's median is).
    eps = EPS32 if single else EPS64
    # A statistic answered in float is written as the float's shortest text, which for a
    # subnormal float (spacing 2**-149) can differ from the exact value by more than eps.
    spacing = 2.0**-149 if single else 0.0
    if op in ("sum", "avg"):
        mean = sum(exact) / (n if op == "avg" else 1)
        bound = sum(abs(x) for x in exact)  # naive summation error ~ n * eps * sum|x|
        tol = 4 * (n + 2) * eps * _float(bound) + 1e-9 * abs(_float(mean)) + spacing
        return _finite_or_note(_float(mean), tol, _float(bound) > DOUBLE_SAFE)
    if op == "median":
        ordered = sorted(exact)
        middle = n // 2
        median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        return _finite_or_note(
            _float(median), 4 * eps * _float(scale) + spacing, _float(2 * scale) > DOUBLE_SAFE
        )
    mean = sum(exact) / n
    var = sum((x - mean) ** 2 for x in exact) / (n - 1)
    squares = sum(x * x for x in exact)
    # One-pass (sum of squares) algorithms lose up to ~n * eps * sum(x^2) / (n - 1).
    var_tol = 8 * (n + 2) * EPS64 * _float(squares / (n - 1)) + 1e-9 * _float(var)
    overflow = _float(squares) > DOUBLE_SAFE
    if op == "var":
        return _finite_or_note(_float(var), var_tol, overflow)
    std = math.sqrt(_float(var))
    # |sqrt(a) - sqrt(b)| <= sqrt(|a - b|)
    return _finite_or_note(std, math.sqrt(var_tol) + 1e-9 * std, overflow)


DOUBLE_SAFE: Final = 2.0**1000  # above this an intermediate result may overflow


def _finite_or_note(value: float, tol: float, may_overflow: bool) -> Stat:
    if math.isinf(value):  # the true value does not fit a double
        return Stat(None, must_note=True)
    return Stat(value, tol=tol, may_overflow=may_overflow)


def _nonfinite(op: str, values: Sequence[float]) -> float:
    positive = any(x == math.inf for x in values)
    negative = any(x == -math.inf for x in values)
    if op in ("std", "var"):
        return math.nan
    if op == "median":
        ordered = sorted(values)
        n = len(ordered)
        return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    if positive and negative:
        return math.nan
    return math.inf if positive else -math.inf


def drop_nulls(values: Sequence[Any], *, skip_nan: bool) -> list[Any]:
    return [x for x in values if x is not None and not (skip_nan and _is_nan(x))]


def ordered_extreme(op: str, column: str, values: Sequence[Any]) -> Json:
    """min/max of non-numeric values in the engine's order (strings by UTF-16)."""
    present = [x for x in values if x is not None]
    if not present:
        return None
    pick = min if op == "min" else max
    best = pick(present, key=lambda x: sort_value(column, x))
    return cell_json(column, best)


def distinct_key(column: str, x: Any) -> Any:
    """Which values count_distinct treats as the same: NaN is one value, and -0.0 and 0.0
    are one value (the engine's count_distinct and select_distinct, on double and float
    columns, grouped or not, as the filters' -0.0 == 0.0)."""
    if column in FLOAT_COLUMNS:
        return "NaN" if math.isnan(x) else x + 0.0  # -0.0 + 0.0 is 0.0
    return x


def count_distinct(column: str, values: Sequence[Any]) -> int:
    return len({distinct_key(column, x) for x in values if x is not None})


def is_int_column(column: str) -> bool:
    return column in INT_COLUMNS
