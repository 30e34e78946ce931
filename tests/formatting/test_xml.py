"""xml: well-formed, null apart from the empty string, any column name, any character."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pyarrow as pa

from deephaven_mcp.formatting import format_table
from tests.formatting.awkward import AWKWARD_SCHEMA, EXPECTED_TEXT_ROWS, awkward_table


def parse_text(text: object) -> ET.Element:
    """Parse our own output; ElementTree is the parser the format promises to satisfy."""
    assert isinstance(text, str)
    return ET.fromstring(text)  # trusted text produced by the test itself


def parse(table: pa.Table) -> ET.Element:
    return parse_text(format_table(table, "xml"))


def cells(root: ET.Element) -> list[list[tuple[str | None, str | None]]]:
    """(column name, text or None when the cell is null) per cell, row by row."""
    assert root.tag == "table"
    rows = []
    for row in root:
        assert row.tag == "row"
        found: list[tuple[str | None, str | None]] = []
        for col in row:
            assert col.tag == "col"
            if col.get("null") == "true":
                assert col.text is None
                found.append((col.get("name"), None))
            else:
                found.append((col.get("name"), col.text or ""))
        rows.append(found)
    return rows


def test_xml_parses_back_to_the_same_cells() -> None:
    rows = cells(parse(awkward_table()))
    expected = [list(zip(AWKWARD_SCHEMA.names, row, strict=True)) for row in EXPECTED_TEXT_ROWS]
    assert rows == expected


def test_null_and_empty_string_stay_distinct() -> None:
    table = pa.table({"s": pa.array([None, ""], pa.string())})
    assert format_table(table, "xml") == (
        '<table>\n<row><col name="s" null="true"/></row>\n<row><col name="s"></col></row>\n</table>'
    )


def test_markup_characters_are_escaped() -> None:
    table = pa.table({"s": ["<&>", "]]>", "a\"b'c"]})
    text = format_table(table, "xml")
    assert isinstance(text, str)
    assert "&lt;&amp;&gt;" in text
    assert [row[0][1] for row in cells(parse_text(text))] == ["<&>", "]]>", "a\"b'c"]


def test_column_names_that_are_not_xml_names_still_work() -> None:
    names = ["Price ($)", "1st", 'quote"d', "<tag>", "a&b", "tab\tnew\nline", "", "xmlns"]
    table = pa.table({name: [index] for index, name in enumerate(names)})
    assert cells(parse(table)) == [[(name, str(index)) for index, name in enumerate(names)]]


def test_carriage_returns_and_tabs_survive_parsing() -> None:
    values = ["a\r\nb", "c\rd", "\tindented\t", "  spaced  "]
    assert [row[0][1] for row in cells(parse(pa.table({"s": values})))] == values


def test_characters_xml_forbids_become_the_replacement_character() -> None:
    table = pa.table({"bad\x01name": ["nul\x00", "bell\x07", "esc\x1b", "\ufffe\uffff", "ok\x85"]})
    assert cells(parse(table)) == [
        [("bad\ufffdname", "nul\ufffd")],
        [("bad\ufffdname", "bell\ufffd")],
        [("bad\ufffdname", "esc\ufffd")],
        [("bad\ufffdname", "\ufffd\ufffd")],
        [("bad\ufffdname", "ok\x85")],
    ]


def test_unicode_is_written_as_is() -> None:
    table = pa.table({"名前": ["Zoë", "李雷", "😀"]})
    text = format_table(table, "xml")
    assert isinstance(text, str)
    assert "李雷" in text
    assert [row[0] for row in cells(parse_text(text))] == [
        ("名前", "Zoë"),
        ("名前", "李雷"),
        ("名前", "😀"),
    ]
