"""The command-line words of read, summary and aggregate become the API's structured
arguments; the help names exactly the ops the API accepts."""

from __future__ import annotations

from typing import get_args

import pytest

from deephaven_mcp.cli import app
from deephaven_mcp.cli.arguments import (
    FILTER_OPS,
    parse_aggregations,
    parse_group_by,
    parse_sort,
    parse_where,
    split_names,
)
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.analysis import AggOp
from deephaven_mcp.model.shaping import parse_filters


def test_where_groups_column_op_and_value() -> None:
    words = ["Price", "gt", "10", "Sym", "eq", "AAPL", "Age", "is_null", "Sym", "in", "A,B,3"]
    assert parse_where(words) == [
        {"column": "Price", "op": "gt", "value": 10},
        {"column": "Sym", "op": "eq", "value": "AAPL"},
        {"column": "Age", "op": "is_null"},
        {"column": "Sym", "op": "in", "value": ["A", "B", 3]},
    ]
    assert parse_where(None) is None and parse_where([]) is None


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("-2.5", -2.5),
        ("true", True),
        ('"10"', "10"),  # JSON text: compare a text column with a word that looks like a number
        ("2024-01-02T15:00:00Z", "2024-01-02T15:00:00Z"),
        ("NaN", "NaN"),  # the API reads these words for floating columns
        ("-Infinity", "-Infinity"),
        ("[1", "[1"),
        ("null", "null"),  # not a value to compare with: the text, which the API judges
    ],
)
def test_a_value_is_a_json_scalar_or_text(word: str, value: object) -> None:
    assert parse_where(["X", "eq", word]) == [{"column": "X", "op": "eq", "value": value}]


def test_in_takes_a_json_list_for_values_with_commas() -> None:
    assert parse_where(["Sym", "not_in", '["A,B", "C"]']) == [
        {"column": "Sym", "op": "not_in", "value": ["A,B", "C"]}
    ]


def test_every_parsed_condition_is_one_the_api_accepts() -> None:
    words = ["A", "ne", "1", "B", "contains", "x", "C", "not_null", "D", "in", "1,2"]
    assert len(parse_filters(parse_where(words))) == 4


@pytest.mark.parametrize(
    ("words", "words_in_error"),
    [
        (["Price"], "an op must follow"),
        (["Price", "gt"], "a value must follow"),
        (["Price", "above", "1"], "unknown op 'above'"),
        (["Sym", "in", "[1,"], "not a JSON list"),
    ],
)
def test_bad_where_words_are_invalid_arguments(words: list[str], words_in_error: str) -> None:
    with pytest.raises(InvalidArgumentError, match=words_in_error):
        parse_where(words)


def test_sort_columns_group_by_and_aggregations() -> None:
    assert parse_sort(["-Price,Sym", "-Size"]) == [
        {"column": "Price", "descending": True},
        {"column": "Sym", "descending": False},
        {"column": "Size", "descending": True},
    ]
    assert split_names(["A, B", "C"]) == ["A", "B", "C"] and split_names(None) is None
    assert parse_group_by(["Sym", "Timestamp:1d"]) == [
        "Sym",
        {"column": "Timestamp", "bin": "1d"},
    ]
    assert parse_aggregations(["count", "avg:Price", "max:Price:Top"]) == [
        {"op": "count"},
        {"op": "avg", "column": "Price"},
        {"op": "max", "column": "Price", "as": "Top"},
    ]
    for bad in ("avg::X", "a:b:c:d", ""):
        with pytest.raises(InvalidArgumentError, match="op\\[:column\\[:as\\]\\]"):
            parse_aggregations([bad])


def test_the_help_names_the_apis_ops() -> None:
    assert set(FILTER_OPS) <= set(app.WHERE_HELP.split())
    assert set(get_args(AggOp)) <= set(app.AGG_HELP.replace(";", " ").split())
