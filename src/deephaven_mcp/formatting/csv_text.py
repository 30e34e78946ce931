"""The ``csv`` format: RFC 4180 fields under a header row.

- A field is quoted when it holds ``"``, ``,``, CR or LF, or is the empty string; inner quotes
  are doubled. Quoting the empty string keeps it apart from a null, which is an empty field.
  In a one-column table a null is written ``""`` as well, because an empty line would read as
  no record at all.
- Records end with LF rather than RFC 4180's CRLF: every CSV reader accepts it, and a CR costs
  two more bytes per row once the text is JSON-escaped into the MCP response.
- A table without columns has nothing to write, so its CSV is the empty string.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.layout import TextLayout
from deephaven_mcp.formatting.temporal import is_temporal
from deephaven_mcp.formatting.text import table_text
from deephaven_mcp.formatting.values import holds_chars

# With the empty string, what makes a field need quotes.
_SPECIAL: Final = ('"', ",", "\r", "\n")


def csv_layout(schema: pa.Schema) -> TextLayout:
    """The header line, then one record per line."""
    if len(schema) == 0:
        return TextLayout(separator="\n", fixed="")
    header = ",".join(_fields(pa.array(schema.names, pa.string()), "").to_pylist())
    return TextLayout(separator="\n", lead=header)


def csv_rows(table: pa.Table, first_row: int = 1) -> pa.Array:
    """One record per row of ``table``, without line ends (``first_row`` is not needed)."""
    null_field = '""' if table.num_columns == 1 else ""
    fields = [
        _fields(text, null_field) if _may_need_quotes(field) else pc.fill_null(text, null_field)
        for field, text in zip(table.schema, table_text(table), strict=True)
    ]
    return pc.binary_join_element_wise(*fields, ",")


def _may_need_quotes(field: pa.Field) -> bool:
    """Numbers, booleans and times are never empty and never hold a quote, comma or newline."""
    arrow_type = field.type
    if holds_chars(field):
        return True
    return not (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or is_temporal(arrow_type)
    )


def _fields(text: pa.Array, null_field: str) -> pa.Array:
    needs_quotes = pc.equal(pc.binary_length(text), 0)
    for special in _SPECIAL:
        needs_quotes = pc.or_(needs_quotes, pc.match_substring(text, special))
    if pc.any(needs_quotes).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(needs_quotes, quoted, text)
    return pc.fill_null(text, null_field)
