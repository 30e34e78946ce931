"""markdown-table keeps every line's cell count; markdown-kv keeps one line per value."""

from __future__ import annotations

import re

import pyarrow as pa

from deephaven_mcp.formatting import format_table
from tests.formatting.awkward import (
    AWKWARD_SCHEMA,
    EXPECTED_CELL_TEXT,
    EXPECTED_TEXT_ROWS,
    awkward_table,
)

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_KV_ESCAPE = re.compile(r"\\(.)")


def table_cells(line: str) -> list[str]:
    """Cells of a Markdown table line, split on unescaped pipes, pipes and breaks restored."""
    pieces = _UNESCAPED_PIPE.split(line)
    assert pieces[0] == ""
    assert pieces[-1] == ""
    inner = pieces[1:-1]
    assert all(piece.startswith(" ") and piece.endswith(" ") for piece in inner)
    return [piece[1:-1].replace("\\|", "|").replace("<br>", "\n") for piece in inner]


def as_table_cell(text: str | None) -> str:
    return "" if text is None else text.replace("\r\n", "\n").replace("\r", "\n")


def test_markdown_table_lines_all_split_into_the_same_cells() -> None:
    text = format_table(awkward_table(), "markdown-table")
    assert isinstance(text, str)
    header, separator, *rows = text.split("\n")
    width = len(AWKWARD_SCHEMA)
    assert table_cells(header) == AWKWARD_SCHEMA.names
    assert table_cells(separator) == ["---"] * width
    assert len(rows) == len(EXPECTED_TEXT_ROWS)
    for line, expected in zip(rows, EXPECTED_TEXT_ROWS, strict=True):
        assert table_cells(line) == [as_table_cell(cell) for cell in expected]


def test_markdown_table_escapes_pipes_and_turns_every_line_break_into_br() -> None:
    table = pa.table({"a|b": ["x|y", "1\r\n2\r3\n4", None, ""]})
    assert format_table(table, "markdown-table") == (
        "| a\\|b |\n| --- |\n| x\\|y |\n| 1<br>2<br>3<br>4 |\n|  |\n|  |"
    )


def test_markdown_table_keeps_a_value_ending_in_a_backslash_in_its_cell() -> None:
    table = pa.table({"a": ["ends\\", "\\|"], "b": [1, 2]})
    text = format_table(table, "markdown-table")
    assert isinstance(text, str)
    assert [table_cells(line) for line in text.split("\n")[2:]] == [["ends\\", "1"], ["\\|", "2"]]


def parse_kv(text: str) -> list[tuple[str, dict[str, str]]]:
    """(heading, {column: unescaped value}) for each record of markdown-kv text."""
    records = []
    for block in text.split("\n\n"):
        heading, *lines = block.split("\n")
        fields = {}
        for line in lines:
            name, separator, value = line.partition(": ")
            assert separator == ": "
            fields[name] = _KV_ESCAPE.sub(lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), value)
        records.append((heading, fields))
    return records


def test_markdown_kv_has_a_section_per_row_and_a_line_per_column() -> None:
    text = format_table(awkward_table(), "markdown-kv")
    assert isinstance(text, str)
    records = parse_kv(text)
    assert [heading for heading, _ in records] == [f"## Record {n}" for n in range(1, 11)]
    for row, (_, fields) in enumerate(records):
        assert list(fields) == AWKWARD_SCHEMA.names
        for name, cells in EXPECTED_CELL_TEXT.items():
            expected = cells[row]
            assert fields[name] == ("null" if expected is None else expected)


def test_markdown_kv_keeps_multi_line_values_on_one_escaped_line() -> None:
    table = pa.table({"Note": ["one\ntwo", "c:\\dir\r\n## Record 9", None, ""]})
    assert format_table(table, "markdown-kv") == (
        "## Record 1\nNote: one\\ntwo\n\n"
        "## Record 2\nNote: c:\\\\dir\\r\\n## Record 9\n\n"
        "## Record 3\nNote: null\n\n"
        "## Record 4\nNote: "
    )
