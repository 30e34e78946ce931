"""The chart tool: a table drawn by the server, answered as an image."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import (
    FiltersArg,
    SessionIdArg,
    Systems,
    TableNameArg,
    systems_tool,
)
from deephaven_mcp.model.requests import (
    DEFAULT_CHART_HEIGHT,
    DEFAULT_CHART_POINTS,
    DEFAULT_CHART_WIDTH,
    MAX_CHART_PIXELS,
    MAX_CHART_POINTS,
    MAX_CHART_SERIES,
    MIN_CHART_PIXELS,
    ChartPixels,
    ChartPoints,
    ChartTitle,
)
from deephaven_mcp.model.shaping import MAX_SORT_KEYS, Sort
from deephaven_mcp.systems.results import TableChart

__all__ = ["session_table_chart"]

_PIXELS = f"{MIN_CHART_PIXELS}..{MAX_CHART_PIXELS}"


@systems_tool("Drawing a chart")
async def session_table_chart(
    systems: Systems,
    session_id: SessionIdArg,
    table_name: TableNameArg,
    kind: Annotated[
        Literal["line", "bar", "scatter", "area", "histogram"],
        Field(
            description="line, scatter, area (numeric or time x), bar (x may be text: one bar "
            "per row, so aggregate first for totals), histogram (counts of the numeric x in "
            "up to 50 bins computed on the worker; no y)."
        ),
    ],
    x: Annotated[str, Field(description="Column on the x axis (time columns draw as dates).")],
    y: Annotated[
        str | list[str] | None,
        Field(
            description="Numeric column, or a list of them (one series each); null for a histogram."
        ),
    ] = None,
    by: Annotated[
        str | None,
        Field(
            description="Column whose values split the rows into series (at most "
            f"{MAX_CHART_SERIES} series in all, counting each y)."
        ),
    ] = None,
    filters: FiltersArg = None,
    sort: Annotated[
        Sort,
        Field(
            description="Sort keys applied on the worker before sampling (order of bars and "
            f"lines; line/area are drawn in x order when absent); at most {MAX_SORT_KEYS}."
        ),
    ] = None,
    max_points: Annotated[
        ChartPoints,
        Field(
            description=f"Rows drawn at most (1..{MAX_CHART_POINTS}); a larger table is "
            "sampled on the worker, every k-th row."
        ),
    ] = DEFAULT_CHART_POINTS,
    title: Annotated[ChartTitle, Field(description="Title drawn above the chart.")] = None,
    width: Annotated[ChartPixels, Field(description=f"Pixels, {_PIXELS}.")] = DEFAULT_CHART_WIDTH,
    height: Annotated[ChartPixels, Field(description=f"Pixels, {_PIXELS}.")] = DEFAULT_CHART_HEIGHT,
) -> TableChart:
    """Draw a chart of a table: the answer holds a PNG image, a text description of what
    is drawn (ranges, points, series), and the fields below.

    Filters and sort run on the worker; more than max_points rows are sampled there, so a
    chart of a billion rows fetches at most max_points. Use it to look at a table's shape;
    read the rows with session_table_data for exact values.
    """
