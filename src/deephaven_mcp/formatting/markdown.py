"""The two Markdown formats: ``markdown-table`` (renders well) and ``markdown-kv`` (reads well).

markdown-table (GitHub-flavoured): a header row and a ``---`` separator row, then one line per
row. ``|`` in a value is written ``\\|`` and every line break (CR, LF, CRLF) ``<br>``, so each
line splits into the same number of cells. A null and the empty string are both an empty cell.
A table without columns cannot be drawn, so it is the empty string.

markdown-kv: a ``## Record N`` heading per row (N counts from 1), then a ``Column: value``
line per column, records separated by a blank line. Values stay on one line: ``\\`` is written
``\\\\``, CR ``\\r`` and LF ``\\n`` (the escapes undo exactly). A null is written ``null``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.text import table_text


def write_markdown_table(table: pa.Table) -> str:
    """``table`` as a GitHub-flavoured Markdown table."""
    if table.num_columns == 0:
        return ""
    names = _table_cells(pa.array(table.column_names, pa.string())).to_pylist()
    header = "| " + " | ".join(names) + " |"
    separator = "|" + "|".join([" --- "] * table.num_columns) + "|"
    cells = [_table_cells(text) for text in table_text(table)]
    rows = pc.binary_join_element_wise("| ", pc.binary_join_element_wise(*cells, " | "), " |", "")
    return "\n".join([header, separator, *rows.to_pylist()])


def write_markdown_kv(table: pa.Table) -> str:
    """``table`` as one Markdown section of ``Column: value`` lines per row."""
    numbers = pc.cast(pa.array(range(1, table.num_rows + 1), pa.int64()), pa.string())
    headings = pc.binary_join_element_wise("## Record ", numbers, "")
    names = _kv_escape(pa.array(table.column_names, pa.string())).to_pylist()
    lines = [
        pc.binary_join_element_wise(f"{name}: ", pc.fill_null(_kv_escape(text), "null"), "")
        for name, text in zip(names, table_text(table), strict=True)
    ]
    records = pc.binary_join_element_wise(headings, *lines, "\n")
    return "\n\n".join(records.to_pylist())


def _table_cells(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "|", "\\|")
    text = pc.replace_substring_regex(text, "\r\n|\r|\n", "<br>")
    return pc.fill_null(text, "")


def _kv_escape(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, "\r", "\\r")
    return pc.replace_substring(text, "\n", "\\n")
