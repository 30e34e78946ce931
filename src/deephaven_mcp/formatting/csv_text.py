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

import pyarrow as pa
import pyarrow.compute as pc

from deephaven_mcp.formatting.text import table_text

_NEEDS_QUOTES = r'^$|[",\r\n]'


def write_csv(table: pa.Table) -> str:
    """``table`` as CSV text."""
    if table.num_columns == 0:
        return ""
    null_field = '""' if table.num_columns == 1 else ""
    header = ",".join(_fields(pa.array(table.column_names, pa.string()), "").to_pylist())
    fields = [_fields(text, null_field) for text in table_text(table)]
    records = pc.binary_join_element_wise(*fields, ",")
    return "\n".join([header, *records.to_pylist()])


def _fields(text: pa.Array, null_field: str) -> pa.Array:
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    needs_quotes = pc.match_substring_regex(text, _NEEDS_QUOTES)
    return pc.fill_null(pc.if_else(needs_quotes, quoted, text), null_field)
