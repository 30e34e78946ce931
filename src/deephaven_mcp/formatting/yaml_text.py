r"""The ``yaml`` format: a block sequence holding one mapping per row.

    - Sym: AAPL
      Price: 101.5
      Note: null

``yaml.safe_load`` returns exactly the ``json-row`` records, so:

- null, booleans, ints and floats are plain scalars. A float always has a ``.`` (``1.0e+20``)
  because YAML 1.1 reads ``1e+20`` as a string.
- A string is left plain only when no reader could take it for something else: it starts with an
  ASCII letter, holds only letters, digits, ``_ . / -`` and inner spaces, and is not a YAML 1.1
  boolean or null word (``yes``, ``off``, ``y``, ``null``...). Any other string is double-quoted
  with JSON escapes, plus ``\uXXXX`` for characters YAML refuses raw or treats as line breaks
  (DEL, C1 controls, U+2028, U+2029, BOM, U+FFFE, U+FFFF).
- NaN and the infinities are their text (``NaN``, ``Infinity``, ``"-Infinity"``): strings, exactly
  as in the JSON formats.
- Lists and objects are flow collections: ``[1, null]``, ``{a: 1}``.

An empty table is ``[]``; a row of a table without columns is ``- {}``.
"""

from __future__ import annotations

import json
import re
from typing import Final

import pyarrow as pa

from deephaven_mcp.formatting.layout import TextLayout
from deephaven_mcp.formatting.spec import JsonValue
from deephaven_mcp.formatting.values import column_values, rows_of

_PLAIN: Final = re.compile(r"[A-Za-z](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?")
_RESERVED_WORDS: Final = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
_UNSAFE_IN_QUOTES: Final = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def yaml_layout(schema: pa.Schema) -> TextLayout:
    """One sequence entry per row; ``[]`` when there are none."""
    return TextLayout(separator="\n", when_empty="[]")


def yaml_rows(table: pa.Table, first_row: int = 1) -> list[str]:
    """One ``- key: value`` mapping per row of ``table``."""
    if table.num_columns == 0:
        return ["- {}"] * table.num_rows
    entries = [
        _entries(_yaml_string(field.name), column_values(table.column(index), field))
        for index, field in enumerate(table.schema)
    ]
    return ["- " + "\n  ".join(row) for row in rows_of(entries, table.num_rows)]


def _entries(key: str, values: list[JsonValue]) -> list[str]:
    prefix = f"{key}: "
    return [prefix + text for text in map(_yaml_value, values)]


def _yaml_value(value: JsonValue) -> str:
    if isinstance(value, str):
        return _yaml_string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text.replace("e", ".0e") if "e" in text and "." not in text else text
    if isinstance(value, list):
        return "[" + ", ".join(map(_yaml_value, value)) + "]"
    return "{" + ", ".join(f"{_yaml_string(k)}: {_yaml_value(v)}" for k, v in value.items()) + "}"


def _yaml_string(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED_WORDS:
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE_IN_QUOTES.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)
