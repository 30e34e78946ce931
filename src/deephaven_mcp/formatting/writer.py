"""Write a table window by window: the answer's data, and the exact JSON it will travel as.

Each window is encoded to JSON once, and the answer's JSON is spliced from those pieces, so the
size of the answer is known after every window without encoding anything a second time. A
reader can therefore stop fetching the moment an answer would go over its limit, and the
response's text copy reuses the same bytes.

A writer may also keep the Arrow windows it is given (``keep_arrow``), for the Python API's
``to_arrow()``; :data:`ARROW` writes no text at all and measures the rows by their Arrow
size (``DeephavenSystems.read_arrow``). The MCP server keeps nothing: it never holds a whole
answer as Arrow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import pyarrow as pa
import pydantic_core

from deephaven_mcp.formatting.csv_text import csv_layout, csv_rows
from deephaven_mcp.formatting.layout import TextLayout, join_rows
from deephaven_mcp.formatting.markdown import (
    markdown_kv_layout,
    markdown_kv_rows,
    markdown_table_layout,
    markdown_table_rows,
)
from deephaven_mcp.formatting.spec import FormattedData, JsonValue, resolve_format
from deephaven_mcp.formatting.values import column_values, rows_of
from deephaven_mcp.formatting.xml_text import xml_layout, xml_rows
from deephaven_mcp.formatting.yaml_text import yaml_layout, yaml_rows

RowTexts = Callable[[pa.Table, int], pa.Array | Sequence[str]]
"""The text of each row of a window, given the (1-based) number of its first row."""

_TEXT_FORMATS: Final[dict[str, tuple[Callable[[pa.Schema], TextLayout], RowTexts]]] = {
    "csv": (csv_layout, csv_rows),
    "markdown-table": (markdown_table_layout, markdown_table_rows),
    "markdown-kv": (markdown_kv_layout, markdown_kv_rows),
    "yaml": (yaml_layout, yaml_rows),
    "xml": (xml_layout, xml_rows),
}


ARROW: Final = "arrow"
"""Not a format a caller asks for: the rows kept as Arrow only, sized by their ``nbytes``."""


@dataclass(frozen=True)
class Formatted:
    """Rows written in one format: the value the answer holds and its JSON encoding, and
    the rows themselves when the writer kept them (``arrow``; for :data:`ARROW` ``data``
    is empty)."""

    data: FormattedData
    json: str
    row_count: int
    arrow: pa.Table | None = None

    @property
    def size(self) -> int:
        """UTF-8 bytes of :attr:`json`, as the response carries it (not the Arrow bytes of
        an :data:`ARROW` write: its writer's :attr:`TableWriter.size` measures those)."""
        return utf8_size(self.json)


def _json(value: object) -> str:
    return pydantic_core.to_json(value).decode()


def _inner(value: object) -> str:
    """The JSON of a string, list or object without its quotes or brackets."""
    return _json(value)[1:-1]


def _joined(open_: str, pieces: Sequence[str], sep: str, close: str) -> str:
    """``open_ + sep.join(pieces) + close`` with a single copy of the pieces."""
    items: list[str] = [open_]
    for index, piece in enumerate(pieces):
        if index:
            items.append(sep)
        items.append(piece)
    items.append(close)
    return "".join(items)


def utf8_size(text: str) -> int:
    """UTF-8 bytes of ``text`` without encoding it (JSON here is mostly ASCII)."""
    return len(text) if text.isascii() else len(text.encode())


class _Pieces:
    """JSON pieces of one array or string, and their UTF-8 bytes, counted once as they come
    (a running size that rescanned the answer after every window would cost O(n^2))."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.bytes = 0

    def append(self, piece: str) -> None:
        self.items.append(piece)
        self.bytes += utf8_size(piece)

    def joined_size(self, sep: int, frame: int) -> int:
        """Bytes of the pieces joined by ``sep`` bytes inside ``frame`` bytes of brackets."""
        return frame + self.bytes + sep * max(0, len(self.items) - 1)

    def joined(self, open_: str, sep: str, close: str) -> str:
        return _joined(open_, self.items, sep, close)


class TableWriter(ABC):
    """Accumulates windows of rows of one schema; :attr:`size` is exact after every window."""

    def __init__(self) -> None:
        self.row_count = 0

    @abstractmethod
    def add(self, window: pa.Table) -> None:
        """Append the rows of ``window`` (same schema, next rows in order)."""

    @property
    @abstractmethod
    def size(self) -> int:
        """UTF-8 bytes of the JSON of everything added so far, as :meth:`finish` will give it."""

    @abstractmethod
    def finish(self) -> Formatted:
        """The answer for every row added; the writer is spent afterwards."""


class _TextWriter(TableWriter):
    def __init__(self, layout: TextLayout, row_texts: RowTexts) -> None:
        super().__init__()
        self._layout = layout
        self._row_texts = row_texts
        self._chunks: list[str] = []
        self._pieces = _Pieces()
        self._separator = _inner(layout.separator)
        # The frame's own strings (header, <table>, []), encoded once.
        self._frame = {
            text: _inner(text)
            for text in (layout.lead, layout.trail, layout.fixed, layout.when_empty)
            if text is not None
        }

    def add(self, window: pa.Table) -> None:
        if window.num_rows and self._layout.fixed is None:
            chunk = join_rows(self._row_texts(window, self.row_count + 1), self._layout.separator)
            self._chunks.append(chunk)
            self._pieces.append(_inner(chunk))
        self.row_count += window.num_rows

    def _parts(self) -> list[str | int]:
        """The parts of the text: frame strings, and row windows by their index."""
        return self._layout.parts(range(len(self._pieces.items)))

    @property
    def size(self) -> int:
        parts = self._parts()
        frame = sum(utf8_size(self._frame[part]) for part in parts if isinstance(part, str))
        separators = utf8_size(self._separator) * max(0, len(parts) - 1)
        return 2 + frame + self._pieces.bytes + separators

    def finish(self) -> Formatted:
        # Each list is dropped as soon as its join exists, so at most three copies coexist.
        text = self._layout.text(self._chunks)
        self._chunks = []
        json_parts = [
            self._frame[part] if isinstance(part, str) else self._pieces.items[part]
            for part in self._parts()
        ]
        self._pieces = _Pieces()
        encoded = _joined('"', json_parts, self._separator, '"')
        return Formatted(text, encoded, self.row_count)


def _json_rows(table: pa.Table) -> list[dict[str, JsonValue]]:
    names = table.column_names
    columns = [
        column_values(table.column(index), field) for index, field in enumerate(table.schema)
    ]
    return [dict(zip(names, row, strict=True)) for row in rows_of(columns, table.num_rows)]


class _RowsWriter(TableWriter):
    """``json-row``: one object per row."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[dict[str, JsonValue]] = []
        self._pieces = _Pieces()

    def add(self, window: pa.Table) -> None:
        if window.num_rows:
            rows = _json_rows(window)
            self._rows.extend(rows)
            self._pieces.append(_inner(rows))
        self.row_count += window.num_rows

    @property
    def size(self) -> int:
        return self._pieces.joined_size(1, 2)

    def finish(self) -> Formatted:
        encoded = self._pieces.joined("[", ",", "]")
        rows, self._rows, self._pieces = self._rows, [], _Pieces()
        return Formatted(rows, encoded, self.row_count)


class _ColumnsWriter(TableWriter):
    """``json-column``: one list per column (a repeated name keeps its last column, in the
    place of its first, as a dict built column by column would)."""

    def __init__(self, schema: pa.Schema) -> None:
        super().__init__()
        self._winners = {name: index for index, name in enumerate(schema.names)}
        self._keys = {name: _json(name) for name in self._winners}
        self._columns: list[list[JsonValue]] = [[] for _ in schema.names]
        self._pieces = [_Pieces() for _ in schema.names]

    def add(self, window: pa.Table) -> None:
        if window.num_rows:
            for index in self._winners.values():
                values = column_values(window.column(index), window.schema.field(index))
                self._columns[index].extend(values)
                self._pieces[index].append(_inner(values))
        self.row_count += window.num_rows

    @property
    def size(self) -> int:
        columns = [
            utf8_size(self._keys[name]) + self._pieces[index].joined_size(1, 3)
            for name, index in self._winners.items()
        ]
        return 2 + sum(columns) + max(0, len(columns) - 1)

    def finish(self) -> Formatted:
        entries = [
            self._pieces[index].joined(self._keys[name] + ":[", ",", "]")
            for name, index in self._winners.items()
        ]
        encoded = _joined("{", entries, ",", "}")
        data = {name: self._columns[index] for name, index in self._winners.items()}
        self._columns, self._pieces = [], []
        return Formatted(data, encoded, self.row_count)


class _KeepingWriter(TableWriter):
    """Keeps the Arrow windows it is given, and writes them with ``text`` if any; without
    one, :attr:`size` is the Arrow bytes kept."""

    def __init__(self, schema: pa.Schema, text: TableWriter | None) -> None:
        super().__init__()
        self._schema = schema
        self._text = text
        self._windows: list[pa.Table] = []
        self._bytes = 0

    def add(self, window: pa.Table) -> None:
        if self._text is not None:
            self._text.add(window)
        self._windows.append(window)
        self._bytes += window.nbytes
        self.row_count += window.num_rows

    @property
    def size(self) -> int:
        return self._bytes if self._text is None else self._text.size

    def finish(self) -> Formatted:
        arrow = pa.concat_tables(self._windows) if self._windows else self._schema.empty_table()
        self._windows = []
        if self._text is None:
            return Formatted("", '""', self.row_count, arrow)
        return replace(self._text.finish(), arrow=arrow)


def table_writer(schema: pa.Schema, fmt: str, *, keep_arrow: bool = False) -> TableWriter:
    """A writer of rows of ``schema`` in ``fmt`` (a format, or a strategy resolved first),
    keeping the Arrow rows too if ``keep_arrow``; :data:`ARROW` keeps them and writes none."""
    if fmt == ARROW:
        return _KeepingWriter(schema, None)
    if keep_arrow:
        return _KeepingWriter(schema, _text_writer(schema, fmt))
    return _text_writer(schema, fmt)


def _text_writer(schema: pa.Schema, fmt: str) -> TableWriter:
    concrete = resolve_format(fmt)
    if concrete == "json-row":
        return _RowsWriter()
    if concrete == "json-column":
        return _ColumnsWriter(schema)
    layout, row_texts = _TEXT_FORMATS[concrete]
    return _TextWriter(layout(schema), row_texts)


def write_table(table: pa.Table, fmt: str, *, keep_arrow: bool = False) -> Formatted:
    """``table`` written in ``fmt`` in one window (keeping it as ``arrow`` if asked)."""
    writer = table_writer(table.schema, fmt, keep_arrow=keep_arrow)
    writer.add(table)
    return writer.finish()
