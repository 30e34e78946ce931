"""Draw a chart of Arrow columns as a PNG with matplotlib's Agg backend (blocking, CPU-bound).

matplotlib is imported here, inside :func:`render_chart`, so only a process that draws a
chart loads it. The figure is built without pyplot (no global state, safe in threads) and
saved at its own size: the PNG has exactly ``width`` x ``height`` pixels. The axes sit at a
fixed place in the figure (:func:`axes_box`), so a caller knows where the data is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DPI: Final = 100
MARGIN_LEFT: Final = 70
MARGIN_RIGHT: Final = 20
MARGIN_BOTTOM: Final = 45
MARGIN_TOP: Final = 35
MAX_CATEGORIES: Final = 200
"""Bar categories labelled one by one; more are drawn without tick labels."""


@dataclass(frozen=True)
class Series:
    """One line, set of points or bars: its name, x values and y values."""

    name: str
    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]


@dataclass(frozen=True)
class Drawn:
    """The PNG and what it shows, for the answer's description."""

    png: bytes
    series: list[str]
    x_range: tuple[str, str] | None
    y_range: tuple[str, str] | None


def axes_box(width: int, height: int) -> tuple[float, float, float, float]:
    """Where the axes sit, as fractions of the figure: (left, bottom, width, height).

    Fixed margins in pixels (room for tick labels and the title), scaled down for small
    figures so the plot keeps at least half of each side.
    """
    left = min(MARGIN_LEFT, width * 0.25) / width
    right = min(MARGIN_RIGHT, width * 0.1) / width
    bottom = min(MARGIN_BOTTOM, height * 0.25) / height
    top = min(MARGIN_TOP, height * 0.15) / height
    return left, bottom, 1 - left - right, 1 - bottom - top


def values(column: pa.ChunkedArray | pa.Array) -> np.ndarray[Any, Any]:
    """A column as numpy: numbers as float64 (null as NaN), times as naive UTC datetime64,
    anything else as strings."""
    type_ = column.type
    if pa.types.is_timestamp(type_):
        column = pc.cast(column, pa.timestamp(type_.unit))
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    if pa.types.is_date(type_):
        return np.asarray(
            pc.cast(column, pa.date32()).to_numpy(zero_copy_only=False), dtype="datetime64[D]"
        )
    if pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return np.asarray(
            pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
    return np.array(["(null)" if v is None else str(v) for v in column.to_pylist()], dtype=object)


def _shown(value: Any) -> str:
    if isinstance(value, np.datetime64):
        text = str(np.datetime_as_string(value, unit="s"))
        return text + "Z" if "T" in text else text
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def value_range(arrays: Sequence[np.ndarray[Any, Any]]) -> tuple[str, str] | None:
    """The smallest and largest value over ``arrays`` as text (NaN and NaT left out)."""
    kept = []
    for array in arrays:
        if array.dtype == object:
            continue
        if np.issubdtype(array.dtype, np.datetime64):
            kept.append(array[~np.isnat(array)])
        else:
            kept.append(array[np.isfinite(array)])
    kept = [k for k in kept if k.size]
    if not kept:
        return None
    low = min(k.min() for k in kept)
    high = max(k.max() for k in kept)
    return _shown(low), _shown(high)


def _bar_width(x: np.ndarray[Any, Any]) -> float:
    """0.8 of the smallest gap between distinct x values (in axis units: days for times)."""
    distinct = np.unique(x[np.isfinite(x)])
    if distinct.size < 2:
        return 0.8
    return float(np.diff(distinct).min()) * 0.8


def _as_axis_numbers(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if np.issubdtype(x.dtype, np.datetime64):
        from matplotlib import dates

        out = np.full(x.shape, np.nan)
        good = ~np.isnat(x)
        out[good] = dates.date2num(x[good].astype("datetime64[us]"))  # type: ignore[no-untyped-call]
        return out
    return x


def _draw_bars(ax: Axes, series: list[Series], time_x: bool) -> None:
    if series and series[0].x.dtype == object:
        categories = list(dict.fromkeys(v for s in series for v in s.x))
        where = {name: i for i, name in enumerate(categories)}
        width = 0.8 / len(series)
        for n, one in enumerate(series):
            positions = np.array([where[v] for v in one.x], dtype=float)
            offset = (n - (len(series) - 1) / 2) * width
            ax.bar(positions + offset, np.nan_to_num(one.y), width=width, label=one.name)
        if len(categories) <= MAX_CATEGORIES:
            ax.set_xticks(range(len(categories)))
            ax.set_xticklabels(categories, rotation=45 if len(categories) > 8 else 0, ha="right")
        return
    for one in series:
        x = _as_axis_numbers(one.x)
        ax.bar(
            x,
            np.nan_to_num(one.y),
            width=_bar_width(x),
            label=one.name,
            alpha=0.7 if len(series) > 1 else 1.0,
        )
    if time_x:
        ax.xaxis_date()


def render_chart(
    kind: str,
    series: list[Series],
    *,
    x_label: str,
    y_label: str,
    title: str | None,
    width: int,
    height: int,
    histogram_edges: tuple[float, float] | None = None,
) -> Drawn:
    """``series`` drawn as a ``kind`` chart into a ``width`` x ``height`` PNG.

    For a histogram each series' x holds bin starts, y their counts, and
    ``histogram_edges`` (first edge, bin width) places the bars.
    """
    from matplotlib import dates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_axes(axes_box(width, height))
    small = 7 if min(width, height) < 300 else 9
    ax.tick_params(labelsize=small)
    time_x = any(np.issubdtype(s.x.dtype, np.datetime64) for s in series)
    many = len(series) > 1
    if kind == "histogram" and histogram_edges is not None:
        bin_width = histogram_edges[1]
        for one in series:
            if many:  # outlines, so overlapping series stay readable
                edges = np.append(one.x, one.x[-1] + bin_width) if one.x.size else one.x
                ax.stairs(one.y, edges, label=one.name, linewidth=1.3)
            else:
                ax.bar(
                    one.x, one.y, width=bin_width, align="edge", edgecolor="white", linewidth=0.3
                )
    elif kind == "bar":
        _draw_bars(ax, series, time_x)
    else:
        for one in series:
            if kind == "scatter":
                ax.scatter(one.x, one.y, s=6, label=one.name)
            elif kind == "area":
                (line,) = ax.plot(one.x, one.y, linewidth=1.0, label=one.name)
                ax.fill_between(one.x, one.y, alpha=0.3, color=line.get_color())
            else:
                ax.plot(one.x, one.y, linewidth=1.2, label=one.name)
    if time_x and kind != "bar":
        locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        formatter = dates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(x_label, fontsize=small)
    ax.set_ylabel(y_label, fontsize=small)
    if title:
        ax.set_title(title, fontsize=small + 2)
    if many:
        ax.legend(fontsize=small - 1, loc="best")
    ax.grid(True, alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    if kind == "histogram" and histogram_edges is not None:
        ends = [s.x for s in series] + [s.x + histogram_edges[1] for s in series]
        x_range = value_range(ends)
    else:
        x_range = value_range([s.x for s in series])
    return Drawn(
        png=buffer.getvalue(),
        series=[s.name for s in series],
        x_range=x_range,
        y_range=value_range([s.y for s in series]),
    )


__all__ = [
    "DPI",
    "Drawn",
    "Series",
    "axes_box",
    "render_chart",
    "value_range",
    "values",
]
