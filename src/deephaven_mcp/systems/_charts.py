"""The body of ``session_table_chart``: rows cut on the worker, then drawn in a thread.

Both steps block (the worker's round trips, matplotlib's drawing), so each runs through
the blocking-call helpers with the data timeout, never on the event loop; the clients and
matplotlib are imported only when a chart is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deephaven_mcp.model.requests import ChartRead
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.runtime.blocking import WORK_LANE, call_blocking_owned
from deephaven_mcp.systems.results import TableChart

if TYPE_CHECKING:
    from deephaven_mcp.clients.charts import ChartRows
    from deephaven_mcp.formatting.charts import Drawn, Series


def _groups(rows: Any, by: str | None) -> list[tuple[str | None, Any]]:
    """``rows`` split by the values of ``by`` (in sorted order), or whole."""
    if by is None:
        return [(None, rows)]
    import pyarrow.compute as pc

    keys = rows.column(by)
    distinct = pc.unique(keys).to_pylist()
    shown = sorted(distinct, key=lambda v: (v is None, str(v)))
    groups: list[tuple[str | None, Any]] = []
    for value in shown:
        mask = pc.is_null(keys) if value is None else pc.equal(keys, value)
        groups.append(("(null)" if value is None else str(value), rows.filter(mask)))
    return groups


def _series(read: ChartRead, data: ChartRows) -> list[Series]:
    import numpy as np

    from deephaven_mcp.clients.charts import BIN_HELPER, COUNT_COLUMN
    from deephaven_mcp.formatting.charts import Series, values

    found = []
    for value, rows in _groups(data.rows, read.by):
        if read.kind == "histogram":
            counts = np.zeros(data.bins)
            if data.bins:
                numbers = values(rows.column(BIN_HELPER)).astype(int)
                counts[numbers] = values(rows.column(COUNT_COLUMN))
            starts = data.bin_start + data.bin_width * np.arange(data.bins)
            found.append(Series(value if value is not None else read.x, starts, counts))
            continue
        x = values(rows.column(read.x))
        if not read.sort and read.kind in ("line", "area") and x.dtype != object:
            order = np.argsort(x, kind="stable")
        else:
            order = np.arange(len(x))
        for column in read.y:
            name = column if value is None else value
            if value is not None and len(read.y) > 1:
                name = f"{column} ({value})"
            found.append(Series(name, x[order], values(rows.column(column))[order]))
    return found


def _draw(read: ChartRead, data: ChartRows) -> Drawn:
    from deephaven_mcp.formatting.charts import render_chart

    return render_chart(
        read.kind,
        _series(read, data),
        x_label=read.x,
        y_label="count" if read.kind == "histogram" else ", ".join(read.y),
        title=read.title,
        width=read.width,
        height=read.height,
        histogram_edges=(data.bin_start, data.bin_width) if read.kind == "histogram" else None,
    )


def _description(read: ChartRead, data: ChartRows, drawn: Drawn, points: int) -> str:
    where = f"table '{read.table_name}'"
    split = f", one series per value of '{read.by}'" if read.by else ""
    if read.kind == "histogram":
        text = (
            f"Histogram of '{read.x}' from {where}{split}: {data.total_rows:,} rows with a "
            f"finite value counted in {data.bins} bins of width {data.bin_width:.6g}."
        )
    else:
        text = (
            f"{read.kind.capitalize()} chart of {', '.join(repr(c) for c in read.y)} against "
            f"'{read.x}' from {where}{split}: {points:,} points drawn out of "
            f"{data.total_rows:,} rows"
        )
        text += f" (every {data.step:,}th row)." if data.step > 1 else " (all rows)."
    if drawn.x_range:
        text += f" x runs from {drawn.x_range[0]} to {drawn.x_range[1]}."
    if drawn.y_range:
        label = "counts" if read.kind == "histogram" else "y"
        text += f" {label} from {drawn.y_range[0]} to {drawn.y_range[1]}."
    if not data.total_rows:
        text += " The table has no rows to draw (after filtering)."
    if len(drawn.series) > 1:
        text += f" Series ({len(drawn.series)}): {', '.join(drawn.series)}."
    return text


async def table_chart(session: ManagedSession, timeouts: Timeouts, read: ChartRead) -> TableChart:
    """The chart ``read`` asks for: rows sampled on the worker, drawn here."""
    from deephaven_mcp.clients.charts import chart_rows

    data = await session.run(
        f"Charting table {read.table_name}",
        lambda client: chart_rows(client, read),
        timeouts.data,
        retry=True,
    )
    drawn = await call_blocking_owned(
        "Drawing the chart", timeouts.data, lambda: _draw(read, data), lane=WORK_LANE
    )
    points = data.bins if read.kind == "histogram" else data.rows.num_rows
    extra = {"by": read.by} if read.by is not None else {}
    return TableChart.drawn(
        drawn.png,
        table_name=read.table_name,
        kind=read.kind,
        x=read.x,
        y=list(read.y),
        series=drawn.series,
        points=points,
        total_rows=data.total_rows,
        sampled=data.step > 1,
        width=read.width,
        height=read.height,
        description=_description(read, data, drawn, points),
        **extra,
    )
