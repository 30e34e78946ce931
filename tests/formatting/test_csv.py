"""csv: RFC 4180 quoting that ``csv.reader`` reads back to the same cells."""

from __future__ import annotations

import csv
import io

import pyarrow as pa

from deephaven_mcp.formatting import format_table
from tests.formatting.awkward import AWKWARD_SCHEMA, EXPECTED_TEXT_ROWS, awkward_table


def read_csv(text: object) -> list[list[str]]:
    assert isinstance(text, str)
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def test_csv_reads_back_to_the_same_cells() -> None:
    records = read_csv(format_table(awkward_table(), "csv"))
    assert records[0] == AWKWARD_SCHEMA.names
    expected = [["" if cell is None else cell for cell in row] for row in EXPECTED_TEXT_ROWS]
    assert records[1:] == expected
    assert {len(record) for record in records} == {len(AWKWARD_SCHEMA)}


def test_empty_string_is_quoted_so_it_differs_from_null() -> None:
    table = pa.table({"a": ["", None, "x"], "b": [None, "", "y"]})
    assert format_table(table, "csv") == 'a,b\n"",\n,""\nx,y'


def test_quotes_commas_and_line_breaks_are_quoted_and_quotes_doubled() -> None:
    table = pa.table({"v": ['say "hi"', "a,b", "l1\nl2", "c\rd", "plain"], "n": [1, 2, 3, 4, 5]})
    assert format_table(table, "csv") == (
        'v,n\n"say ""hi""",1\n"a,b",2\n"l1\nl2",3\n"c\rd",4\nplain,5'
    )


def test_header_names_are_quoted_when_needed() -> None:
    table = pa.table({'price, "usd"': [1.5], "": [2], "ok": [3]})
    text = format_table(table, "csv")
    assert read_csv(text) == [['price, "usd"', "", "ok"], ["1.5", "2", "3"]]


def test_null_in_a_single_column_table_is_not_a_blank_line() -> None:
    table = pa.table({"only": pa.array([None, "x", None], pa.string())})
    text = format_table(table, "csv")
    assert text == 'only\n""\nx\n""'
    assert read_csv(text) == [["only"], [""], ["x"], [""]]


def test_unicode_is_written_as_is() -> None:
    table = pa.table({"名前": ["Zoë", "李雷", "😀 ✓"]})
    assert read_csv(format_table(table, "csv")) == [["名前"], ["Zoë"], ["李雷"], ["😀 ✓"]]
