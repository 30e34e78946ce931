"""yaml: ``yaml.safe_load`` gives back exactly the json-row records, strings staying strings."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import yaml

from deephaven_mcp.formatting import format_table
from tests.formatting.awkward import EXPECTED_JSON_ROWS, awkward_table


def load(table: pa.Table) -> Any:
    text = format_table(table, "yaml")
    assert isinstance(text, str)
    return yaml.safe_load(text)


def test_yaml_loads_back_to_the_json_row_records() -> None:
    assert load(awkward_table()) == EXPECTED_JSON_ROWS


TRICKY_STRINGS = [
    "NaN",
    "nan",
    ".nan",
    "Infinity",
    "-Infinity",
    ".inf",
    "true",
    "False",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "",
    " ",
    "123",
    "-7",
    "1e5",
    "1.5",
    "0x1F",
    "0o17",
    "1_000",
    "1:20",
    "2024-03-01",
    "2024-03-01T12:00:00Z",
    "- item",
    "key: value",
    "a #comment",
    "#hash",
    "&anchor",
    "*alias",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "|",
    ">",
    "[1, 2]",
    "{a: 1}",
    "'single'",
    '"double"',
    "trailing ",
    " leading",
    "two  spaces",
    "tab\there",
    "line\nbreak",
    "cr\rlf",
    "<<",
    "=",
    "?",
    "a,b",
    "back\\slash",
    "Zoë",
    "李雷",
    "😀",
    "\x00nul",
    "\x7fdel",
    "\x85nel",
    "\u2028sep",
    "\u2029para",
    "\ufeffbom",
    "\x1b[31m",
    "plain words",
    "path/to.file-name_1",
]


def test_strings_that_look_like_other_yaml_values_stay_strings() -> None:
    table = pa.table({"s": TRICKY_STRINGS})
    assert [row["s"] for row in load(table)] == TRICKY_STRINGS


def test_tricky_column_names_survive_as_keys() -> None:
    names = ["true", "1", "a: b", "null", "- x", "Zoë"]
    table = pa.table({name: [index] for index, name in enumerate(names)})
    assert load(table) == [{name: index for index, name in enumerate(names)}]


@pytest.mark.parametrize(
    "number", [1.0, -0.0, 1e20, 1e-05, 5e-324, 1.7976931348623157e308, 0.1, -2.5e-7, 123456.789]
)
def test_floats_load_back_as_the_same_float(number: float) -> None:
    assert load(pa.table({"f": [number]})) == [{"f": number}]


def test_plain_values_are_plain() -> None:
    table = pa.table({"Sym": ["AAPL"], "Px": [1.5], "Qty": [2**62], "Ok": [True], "Gone": [None]})
    assert format_table(table, "yaml") == (
        "- Sym: AAPL\n  Px: 1.5\n  Qty: 4611686018427387904\n  Ok: true\n  Gone: null"
    )


def test_nested_values_are_flow_collections() -> None:
    table = pa.table(
        {
            "L": pa.array([[1.5, None], None], pa.list_(pa.float64())),
            "S": pa.array([{"a": "yes", "b": [1]}, None]),
        }
    )
    assert load(table) == [
        {"L": [1.5, None], "S": {"a": "yes", "b": [1]}},
        {"L": None, "S": None},
    ]
