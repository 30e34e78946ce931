"""Strategies for requests to the tools, drawn against a published table's rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from hypothesis import strategies as st

from tests.oracle._gen import (
    DATA_COLUMNS,
    FLOAT_COLUMNS,
    FLOAT_MARKERS,
    INT_BITS,
    INT_COLUMNS,
    LOWEST_READABLE_NANOS,
    Published,
)
from tests.oracle._model import float_json, iso_nanos

Draw = Callable[[st.SearchStrategy[Any]], Any]

ORDER_OPS: Final = ("lt", "le", "gt", "ge")
EQUALITY_OPS: Final = ("eq", "ne")
LIST_OPS: Final = ("in", "not_in")
NULL_OPS: Final = ("is_null", "not_null")
_REGEX_PARTS: Final = ["a", "b", "A", "ü", ".", ".*", "[ab]", "x?", "b+", "\\.", "[^a]"]


def _present(table: Published, column: str) -> list[Any]:
    return [x for x in table.columns[column] if x is not None]


def value_strategy(table: Published, column: str, op: str) -> st.SearchStrategy[Any]:
    """A JSON filter value for ``column``: often one of its values, never a null marker
    nor out of the column's range (those are refused; test_refusals checks them)."""
    present = _present(table, column)
    choices: list[st.SearchStrategy[Any]] = []
    if column in INT_COLUMNS:
        bits = INT_BITS[column]
        choices.append(st.integers(-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1))
        choices.append(st.integers(-3, 3))
        if present:
            choices.append(st.sampled_from(present))
    elif column in FLOAT_COLUMNS:
        single = column == "F32"
        marker = FLOAT_MARKERS[column]
        finite = st.floats(allow_nan=False, allow_infinity=False, width=32 if single else 64)
        choices.append(finite.filter(lambda v: v != marker))
        choices.append(st.sampled_from([0.0, -0.0, 1.5, "Infinity", "-Infinity"]))
        if op not in ORDER_OPS:
            choices.append(st.just("NaN"))
        if present:
            own = [float_json(x, single) for x in present]
            if op in ORDER_OPS:
                own = [x for x in own if x != "NaN"]
            if own:
                choices.append(st.sampled_from(own))
    elif column == "Bool":
        choices.append(st.booleans())
    elif column == "Str":
        choices.append(st.sampled_from(["", "a", "ab", "B", "ü", "𝄞", '"', "\\", "\n"]))
        choices.append(st.text(max_size=3))
        if present:
            choices.append(st.sampled_from(present))
    elif column == "Ts":
        choices.append(
            st.integers(LOWEST_READABLE_NANOS, 2**63 - 1).map(iso_nanos)
            | st.sampled_from(table.ts_texts or ["2024-01-01T00:00:00Z"])
        )
    return st.one_of(choices)


def ops_for(column: str) -> tuple[str, ...]:
    if column in INT_COLUMNS or column in FLOAT_COLUMNS or column == "Ts":
        return (*EQUALITY_OPS, *ORDER_OPS, *LIST_OPS, *NULL_OPS)
    if column == "Bool":
        return (*EQUALITY_OPS, *LIST_OPS, *NULL_OPS)
    if column == "Str":
        return (*EQUALITY_OPS, *LIST_OPS, *NULL_OPS, "contains", "matches")
    return NULL_OPS  # char, LocalDate: only null tests


@st.composite
def conditions(draw: Draw, table: Published) -> dict[str, Any]:
    column = draw(st.sampled_from(DATA_COLUMNS))
    op = draw(st.sampled_from(ops_for(column)))
    cond: dict[str, Any] = {"column": column, "op": op}
    if op in NULL_OPS:
        return cond
    if op == "contains":
        cond["value"] = draw(st.sampled_from(["", "a", "b", "ü", "𝄞", "\\", '"', "\n"]))
    elif op == "matches":
        parts = draw(st.lists(st.sampled_from(_REGEX_PARTS), min_size=1, max_size=3))
        cond["value"] = "".join(parts)
    elif op in LIST_OPS:
        cond["value"] = draw(st.lists(value_strategy(table, column, op), min_size=1, max_size=4))
    else:
        cond["value"] = draw(value_strategy(table, column, op))
    return cond


@st.composite
def filter_lists(draw: Draw, table: Published) -> list[dict[str, Any]]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 4)) == 0:
            items.append({"any_of": draw(st.lists(conditions(table), min_size=1, max_size=3))})
        else:
            items.append(draw(conditions(table)))
    return items


def sort_keys(max_keys: int = 3) -> st.SearchStrategy[list[dict[str, Any]]]:
    key = st.fixed_dictionaries(
        {"column": st.sampled_from(DATA_COLUMNS), "descending": st.booleans()}
    )
    return st.lists(key, min_size=1, max_size=max_keys, unique_by=lambda k: k["column"])
