r"""Structured query shaping: column subsets, filters and sorts, without engine-compiled code.

An agent describes what it wants as data (never as a where-clause string), the models of
:mod:`deephaven_mcp.model.shaping` validate it once at the edge, and
:func:`structured_filter` / :func:`apply_shaping` turn it into ``pydeephaven.filters``
conditions and table operations, typing each value against the column's type in the
table's schema. Nothing the caller writes is parsed as an expression by the engine, so
shaping is allowed in read-only mode. The one formula the engine compiles is written here
from schema names: a timestamp filter compares a long view of the column (its epoch
nanoseconds), :func:`nanos_formula` ``<helper> = isNull(<column>) ? (long) null :
<column>.getEpochSecond() * 1000000000L + <column>.getNano()`` (``<helper>`` from
:func:`nanos_column`, ``<column>`` an identifier in the schema), added by
:func:`filter_table` before ``where`` and dropped after, because the engine reads a small
Instant literal as seconds, millis or micros. (It is ``epochNanos(<column>)`` without the
overflow check that refuses Instants within a second of the long range's ends; long
arithmetic wraps, so the sum is exact.) Likewise lt/le/gt/ge with a non-zero finite value on
a floating column compare in a boolean helper, :func:`order_formula` ``<helper> =
isNull(<column>) ? <true for lt/le> : <column> <op> <value>``, where ``<value>`` is the
shortest exact text of the number (cast to float on a float column): the engine's range
filter rounds its literal to about 16 decimal places, so ``lt 1e-20`` behaved as ``lt 0``.
(Zero keeps the range filter: the formula's comparison orders -0.0 below 0.0.)

Public surface (other tools import it)::

    # model.shaping, importable without pyarrow (the models are named here too)
    Condition(column="Sym", op="eq", value="AAPL")    # one comparison
    AnyOf(any_of=[Condition(...), Condition(...)])      # OR of plain conditions
    SortKey(column="Size", descending=True)
    FilterItem = Condition | AnyOf                      # a list of items is ANDed
    Filters, Sort                                       # the tools' argument types
    parse_filters(raw), parse_sort(raw)                 # JSON-like -> models (InvalidArgumentError,
                                                        # worded like the MCP path's)
    # this module
    structured_filter(schema, filters) -> Filter | None # pyarrow schema -> one pydeephaven Filter
    filter_table(table, condition, filters) -> Table    # where(), with the timestamp helper
                                                        # columns; names a bad matches pattern
    filtered(table, condition, filters, made) -> Table  # filter_table when there is a condition
    sort_arguments(keys) -> (columns, directions)       # SortKeys as sort() takes them
    nanos_column(schema, column) -> str                 # a timestamp column's helper name
    nanos_formula(helper, column) -> str                # the helper's formula
    order_column(schema, column, op, value) -> str      # a floating comparison's helper name
    order_formula(helper, column, op, value, single=)   # its formula
    check_columns(schema, names) -> list[str]           # names validated against the schema
    apply_shaping(table, *, columns, filters, sort)     # -> Table; blocking: run it in a thread

Rules and limits:

* ops: eq, ne, lt, le, gt, ge (one value); in, not_in (a list of 1..MAX_LIST_VALUES
  values); is_null, not_null (no value); contains, matches (one string, string columns only).
* ``contains`` is a case-sensitive literal substring test (no pattern characters; ""
  matches every non-null string). ``matches`` is the engine's rule exactly: Java's
  ``Pattern.compile(value, Pattern.DOTALL).matcher(cell).matches()``, so the pattern must
  match the whole value, ``.`` matches line breaks too, and the syntax is
  java.util.regex (``\p{L}`` works). A pattern the engine cannot compile is refused as
  ``invalid pattern '(' for matches on column 'S': ...`` (found by compiling each pattern
  on the worker, never by Python's ``re``). contains/matches never match null.
* values are typed by the column: integers take whole numbers, floating columns take numbers
  or the strings "NaN", "Infinity", "-Infinity"; strings take strings; booleans take true or
  false; timestamps take ISO-8601 strings with up to 9 fractional digits, read exactly to
  the nanosecond (an offset such as +02:00, Z, or none meaning UTC), so a time copied from a
  read matches. The Instant null marker (Long.MIN_VALUE nanoseconds,
  1677-09-21T00:12:43.145224192Z) is refused like the numeric ones, and a time outside the
  long nanosecond range is out of range. Other column types (char, dates, times, arrays,
  ...) accept only is_null / not_null.
* a number must fit the column's type: byte -127..127, short -32767..32767, int
  -2147483647..2147483647, long -9223372036854775807..9223372036854775807, float and double
  up to their largest finite value in magnitude. The type's minimum (-128, -32768,
  -2147483648, -9223372036854775808; -Float.MAX_VALUE, -Double.MAX_VALUE) is Deephaven's
  null marker, refused for every op with a hint to use is_null / not_null.
* at most MAX_CONDITIONS conditions in all (counting those inside ``any_of``); ``any_of``
  holds plain conditions only (no nesting); strings at most MAX_STRING_CHARS characters.
* lt/le/gt/ge work on numbers and timestamps only (not strings, booleans, or NaN).
* Deephaven semantics apply: null is less than every value (-Infinity too), so lt/le match
  nulls (add a not_null condition to drop them); ne and not_in keep nulls; contains/matches
  never match null. NaN: eq "NaN" matches NaN rows, ne "NaN" every other row; NaN passes no
  ordering test, and nothing is greater than "Infinity" (so ``lt "Infinity"`` keeps every
  row but NaN and +Infinity, nulls included). -0.0 equals 0.0.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
import sys
from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

import numpy as np
import pyarrow as pa
from pydeephaven import SortDirection
from pydeephaven import filters as dh
from pydeephaven.table import Table

from deephaven_mcp.clients.errors import is_connection_error
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.analysis import expression_name
from deephaven_mcp.model.shaping import (
    LIST_OPS,
    MAX_COLUMN_NAME,
    MAX_CONDITIONS,
    STRING_OPS,
    AnyOf,
    Condition,
    FilterItem,
    SortKey,
    count_conditions,
)

# The models are defined in model.shaping (no pyarrow); named here too, where the docs and
# the table readers look for them.
__all__ = [
    "AnyOf",
    "Condition",
    "FilterItem",
    "SortKey",
    "apply_shaping",
    "check_columns",
    "filter_table",
    "filtered",
    "nanos_column",
    "nanos_formula",
    "order_column",
    "order_formula",
    "sort_arguments",
    "structured_filter",
]

MAX_COLUMNS: Final = 1_000
MAX_LISTED_COLUMNS: Final = 50  # in the "unknown column" error
_ORDER_OPS: Final = frozenset({"lt", "le", "gt", "ge"})
_NULL_OPS: Final = frozenset({"is_null", "not_null"})


# -- typing values against the schema ---------------------------------------------------

_Kind: TypeAlias = Literal["int", "float", "string", "bool", "timestamp", "other"]
_Literal: TypeAlias = bool | int | float | str


def _kind(type_: pa.DataType, java_type: str | None = None) -> _Kind:
    """How values are typed for a column; ``java_type`` is the schema's ``deephaven:type``
    (Deephaven sends some types, e.g. LocalDateTime, as Arrow strings)."""
    if java_type is not None and java_type != "java.lang.String" and pa.types.is_string(type_):
        return "other"
    if pa.types.is_integer(type_) and type_ != pa.uint16():  # uint16 is Deephaven's char
        return "int"
    if pa.types.is_floating(type_):
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_boolean(type_):
        return "bool"
    if pa.types.is_timestamp(type_):
        return "timestamp"
    return "other"


_FLOAT_WORDS: Final = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}
_FLOAT32_MAX: Final = float(np.finfo(np.float32).max)  # Java Float.MAX_VALUE
_FLOAT64_MAX: Final = sys.float_info.max  # Java Double.MAX_VALUE
_JAVA_NAMES: Final = {
    "int8": "byte",
    "int16": "short",
    "int32": "int",
    "int64": "long",
    "float": "float",
    "double": "double",
}
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NULL_NANOS: Final = -(2**63)  # Deephaven's null Instant (QueryConstants.NULL_LONG)
_MAX_NANOS: Final = 2**63 - 1
_NANOS_BASE: Final = "__dh_mcp_nanos_"
_ORDER_BASE: Final = "__dh_mcp_order_"
_ORDER_SYMBOLS: Final = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _quoted(value: object) -> str:
    """A filter value as its error message shows it: its repr, cut to 60 characters."""
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _wrong(column: str, type_: pa.DataType, value: object, wants: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"filter value {_quoted(value)} does not fit column '{column}' of type {type_}: {wants}"
    )


def _typed(column: str, type_: pa.DataType, kind: _Kind, value: object) -> _Literal:
    """``value`` as the literal pydeephaven sends for a column of ``type_``."""
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return _in_int_range(column, type_, value)
        if isinstance(value, float) and value.is_integer():
            return _in_int_range(column, type_, int(value))
        raise _wrong(column, type_, value, "expected a whole number")
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _in_float_range(column, type_, value)
        if isinstance(value, str) and value.lower() in _FLOAT_WORDS:
            return _FLOAT_WORDS[value.lower()]
        raise _wrong(column, type_, value, 'expected a number, "NaN", "Infinity" or "-Infinity"')
    if kind == "string":
        if isinstance(value, str):
            return value
        raise _wrong(column, type_, value, "expected a string")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _wrong(column, type_, value, "expected true or false")
    if kind == "timestamp":
        if isinstance(value, str):
            return _timestamp(column, type_, value)
        raise _wrong(column, type_, value, "expected an ISO-8601 string")
    raise _wrong(column, type_, value, "only is_null and not_null work on this type")


def _java_name(type_: pa.DataType) -> str:
    """The Deephaven (Java) name of a numeric column type, as people know it."""
    return _JAVA_NAMES.get(str(type_), str(type_))


def _null_marker(
    column: str, type_: pa.DataType, value: int | float | str, name: str | None = None
) -> InvalidArgumentError:
    name = name or _java_name(type_)
    return InvalidArgumentError(
        f"filter value {value!r} on column '{column}' ({name}) is Deephaven's null marker for "
        f'{name}; use {{"op": "is_null"}} to find nulls (or {{"op": "not_null"}} to drop them)'
    )


def _out_of_range(
    column: str,
    type_: pa.DataType,
    value: int | float | str,
    low: object,
    high: object,
    name: str | None = None,
) -> InvalidArgumentError:
    name = name or _java_name(type_)
    return InvalidArgumentError(
        f"filter value {_quoted(value)} on column '{column}' is out of range for {name} "
        f"({low}..{high})"
    )


def _in_int_range(column: str, type_: pa.DataType, value: int) -> int:
    """``value`` if a column of integer ``type_`` can hold it and it is not the null marker
    (the type's minimum): the engine would compare with a wrapped value, match the nulls,
    or fail without saying why."""
    bits = type_.bit_width
    if pa.types.is_signed_integer(type_):
        null, low, high = -(2 ** (bits - 1)), -(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1
        if value == null:
            raise _null_marker(column, type_, value)
    else:
        low, high = 0, 2**bits - 1
    if not low <= value <= high:
        raise _out_of_range(column, type_, value, low, high)
    return value


def _in_float_range(column: str, type_: pa.DataType, value: int | float) -> float:
    """``value`` as a float if a column of floating ``type_`` holds it and it is not the
    null marker (minus the type's largest finite value); NaN and infinities are values."""
    high = _FLOAT32_MAX if type_ == pa.float32() else _FLOAT64_MAX
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any double
        raise _out_of_range(column, type_, value, -high, high) from None
    if number == -high:
        raise _null_marker(column, type_, number)
    if math.isfinite(number) and not -high <= number <= high:
        raise _out_of_range(column, type_, value, -high, high)
    return number


# ISO-8601 date and time; the fraction (up to nanoseconds) is read apart, because
# datetime keeps only microseconds.
_TIMESTAMP: Final = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d)(?:[Tt ](?P<time>\d\d:\d\d(?::\d\d)?)"
    r"(?:[.,](?P<fraction>\d+))?)?(?P<zone>[Zz]|[+-]\d\d(?::?\d\d)?)?"
)


def _timestamp(column: str, type_: pa.DataType, text: str) -> int:
    """Exact integer nanoseconds since the epoch for an ISO-8601 time: up to 9 fractional
    digits, an offset (``+02:00``), ``Z``, or no offset (UTC). Refuses the null marker
    (Long.MIN_VALUE) and times outside the long range, as for a long column."""
    found = _TIMESTAMP.fullmatch(text.strip())
    try:
        if found is None or len(found["fraction"] or "") > 9:
            raise ValueError(text)
        whole = found["date"] + ("T" + found["time"] if found["time"] else "")
        zone = found["zone"] or ""
        parsed = dt.datetime.fromisoformat(whole + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        raise _wrong(
            column,
            type_,
            text,
            "expected an ISO-8601 time such as 2024-05-01T13:30:00Z (at most 9 fractional digits)",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    # Exact integer nanoseconds (a float timestamp() would round).
    seconds = (parsed - _EPOCH) // dt.timedelta(seconds=1)
    fraction = int((found["fraction"] or "").ljust(9, "0"))
    nanos = seconds * 1_000_000_000 + fraction
    if nanos == _NULL_NANOS:
        raise _null_marker(column, type_, text, "Instant")
    if not _NULL_NANOS < nanos <= _MAX_NANOS:
        low, high = _iso_nanos(_NULL_NANOS + 1), _iso_nanos(_MAX_NANOS)
        raise _out_of_range(column, type_, text, low, high, "Instant")
    return nanos


def _iso_nanos(nanos: int) -> str:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def nanos_column(schema: pa.Schema, column: str) -> str:
    """The helper column that holds the epoch nanoseconds of ``column``
    (:func:`nanos_formula`) while a timestamp filter runs: ``__dh_mcp_nanos_<field
    index>``, with ``_`` appended until no column of ``schema`` has the name (distinct
    indices give distinct names). Refuses a ``column`` that is not an identifier, since it
    is written into the helper's formula."""
    index = schema.get_field_index(column)
    if index < 0:
        raise InvalidArgumentError(_unknown_column(schema, column))
    expression_name(column)
    taken = set(schema.names)
    name = f"{_NANOS_BASE}{index}"
    while name in taken:
        name += "_"
    return name


def nanos_formula(helper: str, column: str) -> str:
    """The formula of ``helper``: the epoch nanoseconds of the Instant ``column`` as a long
    (null for null). Both names come from the schema (:func:`nanos_column`)."""
    expression_name(column)
    expression_name(helper)
    return (
        f"{helper} = isNull({column}) ? (long) null : "
        f"{column}.getEpochSecond() * 1000000000L + {column}.getNano()"
    )


def _helper_formulas(schema: pa.Schema, filters: Sequence[FilterItem]) -> dict[str, str]:
    """Helper column -> formula for what ``filters`` compare through a helper: timestamp
    columns compared with a value (is_null and not_null test the column itself) and
    lt/le/gt/ge with a non-zero finite value on a floating column; in first-use order."""
    found: dict[str, str] = {}
    for item in filters:
        for cond in item.any_of if isinstance(item, AnyOf) else [item]:
            index = schema.get_field_index(cond.column)
            if cond.op in _NULL_OPS or index < 0:
                continue
            field = schema.field(index)
            kind = _kind(field.type, _java_type(field))
            if kind == "timestamp":
                helper = nanos_column(schema, cond.column)
                found.setdefault(helper, nanos_formula(helper, cond.column))
            elif kind == "float" and cond.op in _ORDER_OPS:  # in/not_in hold lists
                value = _typed(cond.column, field.type, kind, cond.value)
                exact = _exact_order(schema, field, cond.op, value)
                if exact is not None:
                    found.setdefault(*exact)
    return found


def _field(schema: pa.Schema, column: str) -> pa.Field:
    index = schema.get_field_index(column)
    if index < 0:
        raise InvalidArgumentError(_unknown_column(schema, column))
    return schema.field(index)


def _unknown_column(schema: pa.Schema, column: str) -> str:
    names = list(schema.names)
    listed = ", ".join(names[:MAX_LISTED_COLUMNS])
    if len(names) > MAX_LISTED_COLUMNS:
        listed += f", ... ({len(names)} columns)"
    return f"unknown column '{column[:MAX_COLUMN_NAME]}'; the table's columns are: {listed}"


def _java_type(field: pa.Field) -> str | None:
    raw = (field.metadata or {}).get(b"deephaven:type")
    return raw.decode("utf-8", "replace") if raw is not None else None


def _condition(schema: pa.Schema, cond: Condition) -> dh.Filter:
    field = _field(schema, cond.column)
    kind = _kind(field.type, _java_type(field))
    name = cond.column
    if cond.op == "is_null":
        return dh.is_null(name)
    if cond.op == "not_null":
        return dh.is_not_null(name)
    if cond.op in STRING_OPS:
        if kind != "string":
            raise InvalidArgumentError(
                f"op '{cond.op}' works on string columns; '{name}' is {field.type}"
            )
        text = str(cond.value)
        return dh.contains(name, text) if cond.op == "contains" else dh.matches(name, text)
    if kind == "timestamp":
        # Compared as long nanoseconds on the helper column filter_table adds: the engine
        # reads an Instant literal's magnitude as seconds, millis, micros or nanos.
        # A null Instant is the long null there, so null stays below every value.
        name = nanos_column(schema, cond.column)
    if cond.op in LIST_OPS:
        assert isinstance(cond.value, list)  # the model guarantees it
        values = [_typed(cond.column, field.type, kind, item) for item in cond.value]
        found = _one_of(name, values)
        return found if cond.op == "in" else dh.not_(found)
    value = _typed(cond.column, field.type, kind, cond.value)
    if cond.op in _ORDER_OPS:
        if kind in ("bool", "string"):
            raise InvalidArgumentError(
                f"op '{cond.op}' does not order {kind} values ('{name}' is {field.type}); "
                "use eq, ne, in, not_in, contains or matches"
            )
        if isinstance(value, float) and math.isnan(value):
            raise InvalidArgumentError(f"NaN is unordered: use eq or ne with NaN ('{name}')")
        if isinstance(value, float) and math.isinf(value):
            return _order_infinity(cond.op, name, value > 0)
        exact = _exact_order(schema, field, cond.op, value)
        if exact is not None:
            return dh.eq(dh.ColumnName(exact[0]), True)
        if kind == "float" and isinstance(value, float):
            value = _as_stored(field.type, value)  # zero once rounded: the range filter is exact
    return _compare(cond.op, name, value)


def _exact_order(
    schema: pa.Schema, field: pa.Field, op: str, value: _Literal
) -> tuple[str, str] | None:
    """(helper, formula) when ``op`` is lt/le/gt/ge with a number that is finite and not zero
    (as the floating column ``field`` stores it): such a comparison runs in a helper column,
    because the range filter rounds its value. None for everything else."""
    if not (
        op in _ORDER_OPS
        and pa.types.is_floating(field.type)
        and isinstance(value, float)
        and math.isfinite(value)
    ):
        return None
    stored = _as_stored(field.type, value)
    if stored == 0:
        return None
    helper = order_column(schema, field.name, op, stored)
    single = field.type == pa.float32()
    return helper, order_formula(helper, field.name, op, stored, single=single)


def _as_stored(type_: pa.DataType, value: float) -> float:
    """``value`` as a column of ``type_`` compares it: a float column rounds it to a float."""
    return float(np.float32(value)) if type_ == pa.float32() else value


def order_column(schema: pa.Schema, column: str, op: str, value: float) -> str:
    """The boolean helper column for ``column <op> value`` (a non-zero finite ``value`` on a
    floating column, as :func:`_as_stored` gives it): ``__dh_mcp_order_<op>_<field
    index>_<the value's IEEE bits in hex>``, with ``_`` appended until no column of
    ``schema`` has the name. Refuses a ``column`` that is not an identifier."""
    index = schema.get_field_index(column)
    if index < 0:
        raise InvalidArgumentError(_unknown_column(schema, column))
    expression_name(column)
    bits = struct.pack(">d", value).hex()
    taken = set(schema.names)
    name = f"{_ORDER_BASE}{op}_{index}_{bits}"
    while name in taken:
        name += "_"
    return name


def order_formula(helper: str, column: str, op: str, value: float, *, single: bool) -> str:
    """The formula of ``helper``: whether ``column <op> value`` holds, null counting as
    below every value and NaN passing no test. ``value`` is written as its shortest exact
    text (``repr``), cast to float for a float column (``single``); the names come from the
    schema (:func:`order_column`)."""
    expression_name(column)
    expression_name(helper)
    if not math.isfinite(value) or op not in _ORDER_SYMBOLS:
        raise ValueError(f"no order formula for {op} {value!r}")
    literal = f"((float) {value!r})" if single else repr(value)
    below = "true" if op in ("lt", "le") else "false"
    return f"{helper} = isNull({column}) ? {below} : {column} {_ORDER_SYMBOLS[op]} {literal}"


def _order_infinity(op: str, name: str, positive: bool) -> dh.Filter:
    """lt/le/gt/ge against +-Infinity, which the engine's range filter refuses, as the
    equivalent tests it takes: null is below every value (-Infinity too), NaN passes no
    ordering test, and nothing is above +Infinity."""
    column = dh.ColumnName(name)
    infinity = math.inf if positive else -math.inf
    not_nan = dh.eq(column, column)  # true for null too (null == null), false only for NaN
    if positive:
        match op:
            case "lt":
                return dh.and_([not_nan, dh.ne(column, infinity)])
            case "le":
                return not_nan
            case "gt":
                return dh.and_([dh.is_null(name), dh.is_not_null(name)])  # no row
            case _:
                return dh.eq(column, infinity)
    match op:
        case "lt":
            return dh.is_null(name)
        case "le":
            return dh.or_([dh.is_null(name), dh.eq(column, infinity)])
        case "gt":
            return dh.and_([dh.is_not_null(name), not_nan, dh.ne(column, infinity)])
        case _:
            return dh.and_([dh.is_not_null(name), not_nan])


def _compare(op: str, name: str, value: _Literal) -> dh.Filter:
    column = dh.ColumnName(name)
    if isinstance(value, float) and math.isnan(value):
        # NaN equals nothing in a literal comparison; only NaN differs from itself.
        return dh.ne(column, column) if op == "eq" else dh.eq(column, column)
    if isinstance(value, str) and op in ("eq", "ne"):
        # The engine's literal comparison misses non-ASCII strings; its in-filter does not.
        found = dh.in_(name, [value])
        return found if op == "eq" else dh.not_(found)
    match op:
        case "eq":
            return dh.eq(column, value)
        case "ne":
            return dh.ne(column, value)
        case "lt":
            return dh.lt(column, value)
        case "le":
            return dh.le(column, value)
        case "gt":
            return dh.gt(column, value)
        case _:
            return dh.ge(column, value)


def _one_of(name: str, values: list[_Literal]) -> dh.Filter:
    if any(isinstance(value, float) and not math.isfinite(value) for value in values):
        # The engine's in-filter refuses NaN and infinities; equal to any of them instead.
        tests = [_compare("eq", name, value) for value in values]
        return tests[0] if len(tests) == 1 else dh.or_(tests)
    return dh.in_(name, values)


def structured_filter(schema: pa.Schema, filters: Sequence[FilterItem]) -> dh.Filter | None:
    """One pydeephaven Filter for ``filters`` (ANDed), typed by ``schema``; None when empty.

    Raises InvalidArgumentError for an unknown column or a value of the wrong type.
    """
    if count_conditions(filters) > MAX_CONDITIONS:
        raise InvalidArgumentError(f"filters hold at most {MAX_CONDITIONS} conditions in all")
    parts: list[dh.Filter] = []
    for item in filters:
        if isinstance(item, AnyOf):
            alternatives = [_condition(schema, cond) for cond in item.any_of]
            parts.append(alternatives[0] if len(alternatives) == 1 else dh.or_(alternatives))
        else:
            parts.append(_condition(schema, item))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else dh.and_(parts)


def filter_table(table: Table, condition: dh.Filter, filters: Sequence[FilterItem]) -> Table:
    """``table.where(condition)``, where ``condition`` is :func:`structured_filter` of
    ``filters`` (typed by ``table.schema``). Blocking. When ``filters`` compare a timestamp
    column with a value, its helper column (:func:`nanos_column`, :func:`nanos_formula`) is
    added before ``where`` and dropped after, so the answer has ``table``'s columns; the
    intermediate tables are released. When the engine refuses the filter and ``filters``
    hold ``matches``, each pattern is tried alone (on an empty table) so the error names the
    one the engine cannot compile; otherwise the engine's error is raised as it is."""
    helpers = _helper_formulas(table.schema, filters)
    if not helpers:
        return _where(table, table, condition, filters)
    made: list[Table] = []
    try:
        # Formulas from schema names and exact number texts only, never the caller's text.
        made.append(table.update_view(list(helpers.values())))
        made.append(_where(made[-1], table, condition, filters))
        return made[-1].drop_columns(list(helpers))
    finally:
        _release(made)


def filtered(
    table: Table, condition: dh.Filter | None, filters: Sequence[FilterItem], made: list[Table]
) -> Table:
    """:func:`filter_table` when there is a ``condition``, the new table added to ``made``
    (the caller's list of tables to release); ``table`` itself when there is none."""
    if condition is None:
        return table
    made.append(filter_table(table, condition, filters))
    return made[-1]


def sort_arguments(keys: Sequence[SortKey]) -> tuple[list[str], list[SortDirection]]:
    """The columns and directions of ``keys``, as ``sort`` takes them."""
    directions = [
        SortDirection.DESCENDING if key.descending else SortDirection.ASCENDING for key in keys
    ]
    return [key.column for key in keys], directions


def _where(
    source: Table, table: Table, condition: dh.Filter, filters: Sequence[FilterItem]
) -> Table:
    """``source.where(condition)``; a bad ``matches`` pattern is probed on ``table``."""
    try:
        return source.where(condition)
    except Exception as exc:
        bad = _bad_pattern(table, filters)
        if bad is None:
            raise
        raise bad from exc


def _patterns(filters: Sequence[FilterItem]) -> list[Condition]:
    found: dict[tuple[str, str], Condition] = {}
    for item in filters:
        for cond in item.any_of if isinstance(item, AnyOf) else [item]:
            if cond.op == "matches":
                found.setdefault((cond.column, str(cond.value)), cond)
    return list(found.values())


def _bad_pattern(table: Table, filters: Sequence[FilterItem]) -> InvalidArgumentError | None:
    """The error for the first ``matches`` pattern the engine refuses to compile (its own
    rule, java.util.regex), or None when they all compile or the probe itself fails."""
    conditions = _patterns(filters)
    if not conditions:
        return None
    try:
        empty = table.head(0)
    except Exception:
        return None
    try:
        for cond in conditions:
            pattern = str(cond.value)
            try:
                probe = empty.where(dh.matches(cond.column, pattern))
            except Exception as exc:
                if is_connection_error(exc):
                    return None
                shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
                return InvalidArgumentError(
                    f"invalid pattern '{shown}' for matches on column '{cond.column}': the "
                    "engine cannot compile it as a Java regular expression "
                    "(java.util.regex.Pattern syntax)"
                )
            _release([probe])
    finally:
        _release([empty])
    return None


def check_columns(schema: pa.Schema, names: Sequence[str]) -> list[str]:
    """``names`` if each is a column of ``schema`` and none repeats; else InvalidArgumentError."""
    if isinstance(names, str) or not names:
        raise InvalidArgumentError("columns must be a non-empty list of column names")
    if len(names) > MAX_COLUMNS:
        raise InvalidArgumentError(f"columns takes at most {MAX_COLUMNS} names")
    for name in names:
        if not isinstance(name, str) or schema.get_field_index(name) < 0:
            raise InvalidArgumentError(_unknown_column(schema, str(name)))
    if len(set(names)) != len(names):
        raise InvalidArgumentError("columns names a column more than once")
    return list(names)


def _release(tables: Sequence[Table]) -> None:
    for table in tables:
        try:
            table.close()
        except Exception:  # cleanup never fails the read
            table.schema = None  # and disarm __del__, which would try again


def apply_shaping(
    table: Table,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[FilterItem] | None = None,
    sort: Sequence[SortKey] | None = None,
) -> Table:
    """``table`` filtered, then sorted, then cut to ``columns`` (in that order), on the worker.

    Blocking (pydeephaven round trips): call it inside ``ManagedSession.run`` or a thread.
    Filters and sort keys may use columns left out of ``columns``. Returns ``table`` itself
    when nothing is asked; otherwise a new table the caller must release (the intermediate
    ones are released here). Everything is validated against ``table.schema`` before the
    first call to the worker.
    """
    schema: pa.Schema = table.schema
    condition = structured_filter(schema, filters or [])
    keys = list(sort or [])
    for key in keys:
        _field(schema, key.column)
    wanted = check_columns(schema, columns) if columns is not None else None

    steps: list[Table] = []
    current = table
    try:
        current = filtered(current, condition, filters or [], steps)
        if keys:
            current = current.sort(*sort_arguments(keys))
            steps.append(current)
        if wanted is not None and wanted != list(schema.names):
            # Plain names that exist in the schema: the engine selects them, compiles nothing.
            current = current.view(wanted)
            steps.append(current)
    except BaseException:
        _release(steps)
        raise
    _release(steps[:-1])
    return current
