"""Command-line words into the structured arguments of the Python API.

``--where Price gt 10`` becomes ``{"column": "Price", "op": "gt", "value": 10}``,
``--sort -Price`` a descending sort key, ``--agg avg:Price:AvgPrice`` an aggregation and
``--by Timestamp:1d`` a time bucket. The API checks every value; these functions only
split the words, so a mistake is reported in the API's own terms where it can be.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final, get_args

from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.shaping import LIST_OPS, Op

FILTER_OPS: Final[tuple[str, ...]] = get_args(Op)
# The ops that end a --where group without a value (the API refuses a value for them).
NO_VALUE_OPS: Final = frozenset({"is_null", "not_null"})


def split_names(values: Iterable[str] | None) -> list[str] | None:
    """``--columns A,B --columns C`` as ``["A", "B", "C"]``; None when not given."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",")]
    return [name for name in names if name]


def _not_a_constant(word: str) -> Any:
    """NaN and the infinities stay words: the API reads them so for floating columns."""
    raise ValueError(word)


def scalar(word: str) -> Any:
    """A filter value from the command line: a JSON number, ``true`` or ``false`` as such,
    a JSON string literal (``'"10"'``) as its text, any other word as text."""
    try:
        value = json.loads(word, parse_constant=_not_a_constant)
    except ValueError:
        return word
    if isinstance(value, bool | int | float | str):
        return value
    return word


def _values(word: str) -> list[Any]:
    """The values of ``in``/``not_in``: a JSON list, or comma-separated words."""
    if word.startswith("["):
        try:
            values = json.loads(word)
        except ValueError:
            raise InvalidArgumentError(f"--where value {word!r} is not a JSON list") from None
        if isinstance(values, list):
            return values
    return [scalar(part) for part in word.split(",")]


def parse_where(words: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """``COLUMN OP [VALUE]`` groups, one after another, as filter conditions (ANDed).

    ``is_null`` and ``not_null`` take no value; ``in`` and ``not_in`` take a
    comma-separated list (or a JSON list); every other op takes one value.
    """
    if not words:
        return None
    conditions: list[dict[str, Any]] = []
    index = 0
    while index < len(words):
        column = words[index]
        if index + 1 >= len(words):
            raise InvalidArgumentError(f"--where {column}: an op must follow the column")
        op = words[index + 1]
        if op not in FILTER_OPS:
            raise InvalidArgumentError(
                f"--where {column} {op}: unknown op {op!r}; one of {', '.join(FILTER_OPS)}"
            )
        index += 2
        condition: dict[str, Any] = {"column": column, "op": op}
        if op not in NO_VALUE_OPS:
            if index >= len(words):
                raise InvalidArgumentError(f"--where {column} {op}: a value must follow the op")
            word = words[index]
            condition["value"] = _values(word) if op in LIST_OPS else scalar(word)
            index += 1
        conditions.append(condition)
    return conditions


def parse_sort(values: Iterable[str] | None) -> list[dict[str, Any]] | None:
    """``--sort Sym --sort -Price`` (or ``--sort=Sym,-Price``): a leading ``-`` sorts
    descending."""
    names = split_names(values)
    if not names:
        return None
    return [
        {"column": name[1:], "descending": True}
        if name.startswith("-")
        else {"column": name, "descending": False}
        for name in names
    ]


def parse_group_by(values: Iterable[str] | None) -> list[str | dict[str, str]] | None:
    """``--by Sym --by Timestamp:1d``: a column, or a column and a time-bucket width."""
    names = split_names(values)
    if not names:
        return None
    keys: list[str | dict[str, str]] = []
    for name in names:
        column, _, bin_ = name.partition(":")
        keys.append({"column": column, "bin": bin_} if bin_ else column)
    return keys


def parse_aggregations(values: Iterable[str]) -> list[dict[str, str]]:
    """``op[:column[:as]]`` each: ``count`` alone counts rows, ``avg:Price:AvgPrice`` names
    its output."""
    aggregations: list[dict[str, str]] = []
    for value in values:
        parts = value.split(":")
        if len(parts) > 3 or not all(parts):
            raise InvalidArgumentError(f"--agg {value!r}: expected op[:column[:as]]")
        aggregation = {"op": parts[0]}
        if len(parts) > 1:
            aggregation["column"] = parts[1]
        if len(parts) > 2:
            aggregation["as"] = parts[2]
        aggregations.append(aggregation)
    return aggregations
