"""``dh-mcp chart``: a table drawn by the server as a PNG file (or piped to stdout)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Final

from cyclopts import Parameter

from deephaven_mcp.cli.app import NO_OPTIONS, Common, Sort, Where, call_api
from deephaven_mcp.cli.output import Output

WRITE_TIMEOUT: Final = 60.0


def _write(path: Path, png: bytes) -> None:
    """Blocking: the PNG at ``path``, or on stdout for ``-``."""
    if str(path) == "-":
        sys.stdout.buffer.write(png)
        sys.stdout.buffer.flush()
        return
    path.write_bytes(png)


async def chart(
    session_id: str,
    table: str,
    *,
    kind: Annotated[str, Parameter(help="line, bar, scatter, area or histogram (bins x; no --y).")],
    x: Annotated[str, Parameter(help="Column on the x axis (time columns draw as dates).")],
    y: Annotated[
        list[str] | None,
        Parameter(help="Numeric column(s) on the y axis; repeat or comma-separate.", negative=""),
    ] = None,
    by: Annotated[
        str | None, Parameter(help="Column whose values split the rows into series.")
    ] = None,
    where: Where = None,
    sort: Sort = None,
    max_points: Annotated[
        int | None,
        Parameter(help="Draw at most this many rows, sampled on the worker (default 5000)."),
    ] = None,
    title: Annotated[str | None, Parameter(help="Title drawn above the chart.")] = None,
    width: Annotated[int | None, Parameter(help="Pixels, 100..2000 (default 800).")] = None,
    height: Annotated[int | None, Parameter(help="Pixels, 100..2000 (default 500).")] = None,
    output: Annotated[
        Path,
        Parameter(
            name=["--output", "-o"],
            allow_leading_hyphen=True,
            help="PNG file to write; - writes the PNG to stdout (only when it is piped).",
        ),
    ],
    common: Common = NO_OPTIONS,
) -> int:
    """Draw a chart of a table as a PNG, rendered by the server from rows sampled on the worker.

    Prints what the chart shows (on stderr when the PNG goes to stdout).

    Examples: dh-mcp chart community:config:local trades --kind line --x Timestamp --y Price
    --by Sym -o prices.png; dh-mcp chart community:config:local trades --kind histogram
    --x Size -o - | display
    """
    from deephaven_mcp.cli import arguments
    from deephaven_mcp.errors import InvalidArgumentError
    from deephaven_mcp.model.requests import (
        DEFAULT_CHART_HEIGHT,
        DEFAULT_CHART_POINTS,
        DEFAULT_CHART_WIDTH,
    )
    from deephaven_mcp.runtime.blocking import call_blocking

    out = Output()
    to_stdout = str(output) == "-"
    if to_stdout and out.terminal:
        raise InvalidArgumentError("-o - writes PNG bytes: pipe stdout, or give a file name")
    filters = arguments.parse_where(where)
    keys = arguments.parse_sort(sort)
    result = await call_api(
        common,
        lambda s: s.session_table_chart(
            session_id,
            table,
            kind,
            x,
            arguments.split_names(y),
            by=by,
            filters=filters,
            sort=keys,
            max_points=DEFAULT_CHART_POINTS if max_points is None else max_points,
            title=title,
            width=DEFAULT_CHART_WIDTH if width is None else width,
            height=DEFAULT_CHART_HEIGHT if height is None else height,
        ),
        out,
        f"drawing {table}",
    )
    try:
        await call_blocking("Writing the chart", WRITE_TIMEOUT, _write, output, result.png)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot write {output}: {exc.strerror or exc}") from None
    if to_stdout:
        out.note(result.description)
    else:
        out.text(result.description)
    return 0
