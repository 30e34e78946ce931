"""The ``xml`` format: a ``<table>`` of ``<row>`` elements with one ``<col>`` per cell.

    <table>
    <row><col name="Sym">AAPL</col><col name="Note" null="true"/></row>
    </table>

- The column name is the ``name`` attribute, so names that are not XML names still work.
- A null is ``<col name="..." null="true"/>``; the empty string is ``<col name="..."></col>``.
- ``&``, ``<`` and ``>`` are escaped, and CR is written ``&#13;`` because parsers turn a raw CR
  into LF. Characters XML 1.0 forbids outright (controls other than tab, LF and CR; U+FFFE;
  U+FFFF) have no legal spelling, not even as references, so they become U+FFFD.
- Cell text follows :mod:`.text` (nested values are their JSON text).
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.layout import TextLayout
from deephaven_mcp.formatting.text import table_text

_REPLACEMENT: Final = "\ufffd"
_FORBIDDEN_PATTERN: Final = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_FORBIDDEN_CODES: Final = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]
_ATTRIBUTE_ESCAPES: Final = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
        **{chr(code): _REPLACEMENT for code in _FORBIDDEN_CODES},
    }
)


def xml_layout(schema: pa.Schema) -> TextLayout:
    """``<table>`` and ``</table>`` lines around one line per row (no XML declaration, so the
    document parses from a ``str``)."""
    return TextLayout(separator="\n", lead="<table>", trail="</table>")


def xml_rows(table: pa.Table, first_row: int = 1) -> pa.Array:
    """One ``<row>`` element per row of ``table``."""
    if table.num_columns == 0:
        return pa.array(["<row></row>"] * table.num_rows, pa.string())
    cells = [
        _cells(name, text) for name, text in zip(table.column_names, table_text(table), strict=True)
    ]
    return pc.binary_join_element_wise("<row>", *cells, "</row>", "")


def _cells(name: str, text: pa.Array) -> pa.Array:
    quoted_name = name.translate(_ATTRIBUTE_ESCAPES)
    elements = pc.binary_join_element_wise(
        f'<col name="{quoted_name}">', _escape_text(text), "</col>", ""
    )
    return pc.fill_null(elements, f'<col name="{quoted_name}" null="true"/>')


def _escape_text(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "&", "&amp;")
    text = pc.replace_substring(text, "<", "&lt;")
    text = pc.replace_substring(text, ">", "&gt;")
    text = pc.replace_substring(text, "\r", "&#13;")
    return pc.replace_substring_regex(text, _FORBIDDEN_PATTERN, _REPLACEMENT)
