r"""The two Markdown formats: ``markdown-table`` (renders well) and ``markdown-kv`` (reads well).

markdown-table (GitHub-flavoured): a header row and a ``---`` separator row, then one line per
row. ``|`` in a value is written ``\|`` and every line break (CR, LF, CRLF) ``<br>``, so each
line splits into the same number of cells. A null and the empty string are both an empty cell.
A table without columns cannot be drawn, so it is the empty string.

markdown-kv: a ``## Record N`` heading per row (N counts from 1), then a ``Column: value``
line per column, records separated by a blank line. Values stay on one line: ``\`` is written
``\\``, CR ``\r`` and LF ``\n`` (the escapes undo exactly). A null is written ``null``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.layout import TextLayout
from deephaven_mcp.formatting.text import table_text


def markdown_table_layout(schema: pa.Schema) -> TextLayout:
    """The header and ``---`` rows, then one line per row."""
    if len(schema) == 0:
        return TextLayout(separator="\n", fixed="")
    names = _table_cells(pa.array(schema.names, pa.string())).to_pylist()
    header = "| " + " | ".join(names) + " |"
    rule = "|" + "|".join([" --- "] * len(schema)) + "|"
    return TextLayout(separator="\n", lead=f"{header}\n{rule}")


def markdown_table_rows(table: pa.Table, first_row: int = 1) -> pa.Array:
    """One ``| a | b |`` line per row of ``table``."""
    cells = [_table_cells(text) for text in table_text(table)]
    return pc.binary_join_element_wise("| ", pc.binary_join_element_wise(*cells, " | "), " |", "")


def markdown_kv_layout(schema: pa.Schema) -> TextLayout:
    """Records separated by a blank line, nothing around them."""
    return TextLayout(separator="\n\n")


def markdown_kv_rows(table: pa.Table, first_row: int = 1) -> pa.Array:
    """One ``## Record N`` section per row, numbered from ``first_row``."""
    ones = pa.repeat(pa.scalar(1, pa.int64()), table.num_rows)
    numbers = pc.cast(pc.cumulative_sum(ones, start=first_row - 1), pa.string())
    headings = pc.binary_join_element_wise("## Record ", numbers, "")
    names = _kv_escape(pa.array(table.column_names, pa.string())).to_pylist()
    lines = [
        pc.binary_join_element_wise(f"{name}: ", pc.fill_null(_kv_escape(text), "null"), "")
        for name, text in zip(names, table_text(table), strict=True)
    ]
    return pc.binary_join_element_wise(headings, *lines, "\n")


def _table_cells(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "|", "\\|")
    text = pc.replace_substring_regex(text, "\r\n|\r|\n", "<br>")
    return pc.fill_null(text, "")


def _kv_escape(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, "\r", "\\r")
    return pc.replace_substring(text, "\n", "\\n")
