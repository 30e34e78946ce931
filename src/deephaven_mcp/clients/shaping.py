"""Structured query shaping: column subsets, filters and sorts, without engine-compiled code.

An agent describes what it wants as data (never as a where-clause string), the models of
:mod:`deephaven_mcp.clients.shaping_spec` validate it once at the edge, and
:func:`structured_filter` / :func:`apply_shaping` turn it into ``pydeephaven.filters``
conditions and table operations, typing each value against the column's type in the
table's schema. Nothing here is parsed as an expression by the engine, so shaping is
allowed in read-only mode.

Public surface (other tools import it)::

    # shaping_spec, importable without pyarrow (the models are named here too)
    Condition(column="Sym", op="eq", value="AAPL")    # one comparison
    AnyOf(any_of=[Condition(...), Condition(...)])      # OR of plain conditions
    SortKey(column="Size", descending=True)
    FilterItem = Condition | AnyOf                      # a list of items is ANDed
    parse_filters(raw), parse_sort(raw)                 # JSON-like -> models (InvalidArgumentError)
    # this module
    structured_filter(schema, filters) -> Filter | None # pyarrow schema -> one pydeephaven Filter
    check_columns(schema, names) -> list[str]           # names validated against the schema
    apply_shaping(table, *, columns, filters, sort)     # -> Table; blocking: run it in a thread

Rules and limits:

* ops: eq, ne, lt, le, gt, ge (one value); in, not_in (a list of 1..MAX_LIST_VALUES
  values); is_null, not_null (no value); contains, matches (one string, string columns only;
  ``matches`` is a Java regular expression that must match the whole value).
* values are typed by the column: integers take whole numbers, floating columns take numbers
  or the strings "NaN", "Infinity", "-Infinity"; strings take strings; booleans take true or
  false; timestamps take ISO-8601 strings (no offset means UTC), to the microsecond. Other
  column types accept only is_null / not_null.
* at most MAX_CONDITIONS conditions in all (counting those inside ``any_of``); ``any_of``
  holds plain conditions only (no nesting); strings at most MAX_STRING_CHARS characters.
* lt/le/gt/ge work on numbers and timestamps only (not strings, booleans, or NaN).
* Deephaven semantics apply: null is less than every value, so lt/le match nulls (add a
  not_null condition to drop them); ne and not_in keep nulls; contains/matches never match
  null. NaN: eq "NaN" matches NaN rows, ne "NaN" every other row; NaN never passes lt/gt.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Final, Literal, TypeAlias

import numpy as np
import pyarrow as pa
from pydeephaven import SortDirection
from pydeephaven import filters as dh
from pydeephaven.table import Table

from deephaven_mcp.clients.shaping_spec import (
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
from deephaven_mcp.errors import InvalidArgumentError

# The models are defined in shaping_spec (no pyarrow); named here too, where the docs and
# the table readers look for them.
__all__ = [
    "AnyOf",
    "Condition",
    "FilterItem",
    "SortKey",
    "apply_shaping",
    "check_columns",
    "structured_filter",
]

MAX_COLUMNS: Final = 1_000
MAX_LISTED_COLUMNS: Final = 50  # in the "unknown column" error
_ORDER_OPS: Final = frozenset({"lt", "le", "gt", "ge"})


# -- typing values against the schema ---------------------------------------------------

_Kind: TypeAlias = Literal["int", "float", "string", "bool", "timestamp", "other"]
_Literal: TypeAlias = bool | int | float | str | np.datetime64


def _kind(type_: pa.DataType) -> _Kind:
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
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _wrong(column: str, type_: pa.DataType, value: object, wants: str) -> InvalidArgumentError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgumentError(
        f"filter value {shown} does not fit column '{column}' of type {type_}: {wants}"
    )


def _typed(column: str, type_: pa.DataType, kind: _Kind, value: object) -> _Literal:
    """``value`` as the literal pydeephaven sends for a column of ``type_``."""
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _wrong(column, type_, value, "expected a whole number")
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
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


def _timestamp(column: str, type_: pa.DataType, text: str) -> np.datetime64:
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise _wrong(
            column, type_, text, "expected an ISO-8601 time such as 2024-05-01T13:30:00Z"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    # Exact integer nanoseconds (a float timestamp() would round).
    nanos = (parsed - _EPOCH) // dt.timedelta(microseconds=1) * 1_000
    return np.datetime64(nanos, "ns")


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


def _condition(schema: pa.Schema, cond: Condition) -> dh.Filter:
    field = _field(schema, cond.column)
    kind = _kind(field.type)
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
    if cond.op in LIST_OPS:
        assert isinstance(cond.value, list)  # the model guarantees it
        values = [_typed(name, field.type, kind, item) for item in cond.value]
        found = _one_of(name, values)
        return found if cond.op == "in" else dh.not_(found)
    value = _typed(name, field.type, kind, cond.value)
    if cond.op in _ORDER_OPS:
        if kind in ("bool", "string"):
            raise InvalidArgumentError(
                f"op '{cond.op}' does not order {kind} values ('{name}' is {field.type}); "
                "use eq, ne, in, not_in, contains or matches"
            )
        if isinstance(value, float) and math.isnan(value):
            raise InvalidArgumentError(f"NaN is unordered: use eq or ne with NaN ('{name}')")
    return _compare(cond.op, name, value)


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
    # pydeephaven's hint omits datetimes, but its in-filter encodes them like eq does.
    return dh.in_(name, values)  # type: ignore[arg-type]


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
        if condition is not None:
            current = current.where(condition)
            steps.append(current)
        if keys:
            directions = [
                SortDirection.DESCENDING if key.descending else SortDirection.ASCENDING
                for key in keys
            ]
            current = current.sort([key.column for key in keys], directions)
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
