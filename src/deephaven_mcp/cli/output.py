"""How ``dh-mcp`` prints: rich tables and panels on a terminal, plain text when piped.

A terminal is what rich detects on stdout (``TTY_COMPATIBLE=1``/``0`` overrides the
detection, as rich documents). Piped, rows print in the API's own text (CSV unless
``--format`` says otherwise) and every other answer as one line of JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.status import Status

RowFormat = Literal["csv", "json", "markdown"]
# --format words as the API names them.
API_FORMATS: Final[dict[str, str]] = {
    "csv": "csv",
    "json": "json-row",
    "markdown": "markdown-table",
}
# A read that takes longer than this shows a spinner on a terminal.
SPINNER_DELAY: Final = 1.0


def _cell(value: object) -> Text:
    """One value as a table cell: text as is, nulls dim, anything nested as compact JSON."""
    if value is None:
        return Text("null", style="dim")
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, bool | int | float):
        return Text(json.dumps(value))
    return Text(json.dumps(value, separators=(",", ":"), default=str))


def _is_records(value: object) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


class Output:
    """stdout and stderr of one command, and whether stdout is a terminal."""

    def __init__(self) -> None:
        # The streams as they are now: a command may redirect sys.stderr for a while.
        self.out = Console(file=sys.stdout, highlight=False)
        self.err = Console(file=sys.stderr, stderr=True, highlight=False)
        self.terminal = self.out.is_terminal

    # -- rows ----------------------------------------------------------------------------

    def api_format(self, format: RowFormat | None) -> str:
        """The API format to ask for: json-row to draw a table on a terminal, else the one
        ``--format`` names (CSV by default)."""
        if format is None:
            return "json-row" if self.terminal else "csv"
        return API_FORMATS[format]

    def rows(self, result: Any, format: RowFormat | None, *, caption: str = "") -> None:
        """A table read's rows: a rich table on a terminal unless ``--format`` was given,
        else the API's ``data`` as it is."""
        if format is None and self.terminal:
            table = Table()
            for column in result.schema:
                table.add_column(escape(column["name"]), overflow="fold")
            for row in result.data:
                table.add_row(*(_cell(row.get(column["name"])) for column in result.schema))
            self.out.print(table)
            if caption:
                self.note(caption)
            return
        self.text(result.data)

    def text(self, data: object) -> None:
        """``data`` as plain text: a string as it is (with a final newline), else JSON."""
        text = data if isinstance(data, str) else json.dumps(data, default=str)
        self.out.file.write(text if text.endswith("\n") else text + "\n")
        self.out.file.flush()

    # -- other answers -------------------------------------------------------------------

    def answer(self, data: Mapping[str, Any], *, title: str = "") -> None:
        """A non-row answer: panels and tables on a terminal, one JSON line when piped."""
        if not self.terminal:
            self.text(json.dumps(data, default=str))
            return
        self.record(data, title=title)

    def record(self, data: Mapping[str, Any], *, title: str = "") -> None:
        """Scalars as a key-value panel, then each list of records as a table."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        nested: list[tuple[str, Any]] = []
        for key, value in data.items():
            if _is_records(value) or isinstance(value, Mapping):
                nested.append((key, value))
            elif isinstance(value, list):
                grid.add_row(escape(key), Text(", ".join(str(item) for item in value)))
            else:
                grid.add_row(escape(key), _cell(value))
        if grid.row_count:
            self.out.print(Panel(grid, title=escape(title) if title else None, expand=False))
        for key, value in nested:
            if isinstance(value, Mapping):
                self.record(value, title=key)
            else:
                self.records(value, title=key)

    def records(self, items: Sequence[Mapping[str, Any]], *, title: str = "") -> None:
        """A list of records as one table whose columns are every key, in first-seen order."""
        if not items:
            self.note(f"{title}: none" if title else "none")
            return
        columns: dict[str, None] = {}
        for item in items:
            columns.update(dict.fromkeys(item))
        table = Table(title=escape(title) if title else None, title_justify="left")
        for column in columns:
            table.add_column(escape(column), overflow="fold")
        for item in items:
            table.add_row(
                *(_cell(item.get(column)) if column in item else Text("") for column in columns)
            )
        self.out.print(table)

    def transposed(self, items: Sequence[Mapping[str, Any]], *, key: str, title: str = "") -> None:
        """Records side by side, one column each (headed by ``key``), one row per field:
        statistics of many columns stay readable on a narrow terminal."""
        fields: dict[str, None] = {}
        for item in items:
            fields.update(dict.fromkeys(name for name in item if name != key))
        table = Table(title=escape(title) if title else None, title_justify="left")
        table.add_column("", style="bold")
        for item in items:
            table.add_column(escape(str(item.get(key, ""))), overflow="fold")
        for field in fields:
            table.add_row(
                escape(field),
                *(_cell(item[field]) if field in item else Text("") for item in items),
            )
        self.out.print(table)

    def note(self, message: str) -> None:
        """A line for a person on stderr (never on stdout, which may be parsed)."""
        self.err.print(Text(message))

    # -- waiting -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def busy(
        self, message: str, delay: float = SPINNER_DELAY
    ) -> AsyncIterator[Status | None]:
        """A spinner on stderr after ``delay`` seconds, if stderr is a terminal."""
        if not self.err.is_terminal:
            yield None
            return
        status = self.err.status(Text(message))

        async def show() -> None:
            await asyncio.sleep(delay)
            status.start()

        task = asyncio.create_task(show())
        try:
            yield status
        finally:
            task.cancel()
            status.stop()

    def progress(self, status: Status | None) -> Callable[[str, float], Awaitable[None]]:
        """A launch ``progress`` callback that shows the step in the spinner."""

        async def report(message: str, fraction: float) -> None:
            if status is not None:
                status.update(Text(f"{message} ({fraction:.0%})"))

        return report
