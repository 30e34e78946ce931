"""``DeephavenSystems.session_table_chart`` on a real worker: every kind, time axes, series,
sampling on the worker, and the refusals.

Every PNG a test draws is saved under ``$DH_MCP_TEST_ARTIFACTS/charts/<name>.png`` when that
variable is set (CI keeps the directory), else under the test's ``tmp_path``, so a person
can look at what was drawn.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from pydeephaven import Session

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config import McpConfig
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.formatting.charts import axes_box
from deephaven_mcp.systems.results import TableChart
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config

SESSION = "community:config:anon"
RISE = "chart_rise"
BIG = "chart_big"
TICKING = "chart_ticking"
SETUP_TABLES = (RISE, BIG, TICKING)
SETUP = f"""
from deephaven import empty_table, time_table
{TICKING} = time_table("PT0.001S").update(["V = ii"])
{RISE} = empty_table(1000).update([
    "X = i",
    "Y = i * 2.0",
    "Down = 2000.0 - i",
    "T = '2024-01-01T00:00:00 UTC' + i * MINUTE",
    "Z = T.atZone(java.time.ZoneId.of(`America/New_York`))",
    "D = java.time.LocalDate.of(2024, 1, 1).plusDays(i)",
    "S = `c` + (i % 5)",
    "G = `g` + (i % 3)",
    "Label = `row` + i",
])
{BIG} = empty_table(1_000_000).update(["X = ii", "Y = (double) ii"])
"""


def artifacts(tmp_path: Path) -> Path:
    root = os.environ.get("DH_MCP_TEST_ARTIFACTS")
    folder = (Path(root) if root else tmp_path) / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def picture(chart: TableChart, name: str, tmp_path: Path) -> Image.Image:
    """The chart's PNG, saved as an artifact and decoded; its size is the one asked for."""
    (artifacts(tmp_path) / f"{name}.png").write_bytes(chart.png)
    image = Image.open(io.BytesIO(chart.png)).convert("RGB")
    assert image.size == (chart.width, chart.height)
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 1  # not blank
    return image


def data_pixels(image: Image.Image, box: tuple[float, float, float, float]) -> int:
    """Pixels of the first series' colour (matplotlib's blue) in a part of the axes given as
    fractions of the axes (left, bottom, right, top)."""
    width, height = image.size
    left, bottom, axes_w, axes_h = axes_box(width, height)
    x0 = int((left + box[0] * axes_w) * width)
    x1 = int((left + box[2] * axes_w) * width)
    y0 = int((1 - bottom - box[3] * axes_h) * height)
    y1 = int((1 - bottom - box[1] * axes_h) * height)
    region = image.crop((x0, y0, x1, y1))
    colours: list[tuple[int, tuple[int, int, int]]] = region.getcolors(1 << 20) or []  # type: ignore[assignment]
    return sum(count for count, (r, _, b) in colours if b > 120 and r < 120 and b - r > 60)


LOWER_LEFT = (0.0, 0.0, 0.4, 0.4)
UPPER_RIGHT = (0.6, 0.6, 1.0, 1.0)
UPPER_LEFT = (0.0, 0.6, 0.4, 1.0)


@pytest.fixture(scope="module")
async def systems(pydh: Session, dh_worker: RunningWorker) -> AsyncIterator[DeephavenSystems]:
    config = McpConfig.model_validate(
        {"community": {"sessions": {"anon": session_config(dh_worker)}}}
    )
    async with DeephavenSystems(config=config) as found:
        yield found


@pytest.mark.parametrize("kind", ["line", "scatter", "area"])
async def test_a_rising_series_is_drawn_from_lower_left_to_upper_right(
    systems: DeephavenSystems, kind: str, tmp_path: Path
) -> None:
    chart = await systems.session_table_chart(SESSION, RISE, kind, "X", "Y", width=640, height=400)
    image = picture(chart, kind, tmp_path)
    assert (chart.points, chart.total_rows, chart.sampled) == (1000, 1000, False)
    assert chart.series == ["Y"] and chart.y == ["Y"] and chart.kind == kind
    assert data_pixels(image, LOWER_LEFT) > 20
    assert data_pixels(image, UPPER_RIGHT) > 20
    assert data_pixels(image, UPPER_LEFT) == 0
    assert "1,000 points drawn out of 1,000 rows" in chart.description
    assert "x runs from 0 to 999" in chart.description
    assert "y from 0 to 1998" in chart.description


@pytest.mark.parametrize("column", ["T", "Z", "D"])
async def test_time_x_is_drawn_on_a_date_axis(
    systems: DeephavenSystems, column: str, tmp_path: Path
) -> None:
    chart = await systems.session_table_chart(SESSION, RISE, "line", column, ["Y", "Down"])
    image = picture(chart, f"line-time-{column}", tmp_path)
    assert chart.series == ["Y", "Down"]
    assert data_pixels(image, LOWER_LEFT) > 20 and data_pixels(image, UPPER_RIGHT) > 20
    first = "2024-01-01T00:00:00Z" if column == "T" else "2024-01-01"
    assert f"x runs from {first}" in chart.description


async def test_bar_takes_a_string_x(systems: DeephavenSystems, tmp_path: Path) -> None:
    chart = await systems.session_table_chart(
        SESSION,
        RISE,
        "bar",
        "Label",
        "Y",
        filters=[{"column": "X", "op": "lt", "value": 10}],
        title="First ten rows",
    )
    image = picture(chart, "bar", tmp_path)
    assert (chart.points, chart.total_rows) == (10, 10)
    # Bars rise left to right: the tallest reach the upper right, none the upper left.
    assert data_pixels(image, UPPER_RIGHT) > 100 and data_pixels(image, UPPER_LEFT) == 0


async def test_by_splits_the_rows_into_series(systems: DeephavenSystems, tmp_path: Path) -> None:
    chart = await systems.session_table_chart(SESSION, RISE, "scatter", "X", "Y", by="G")
    picture(chart, "scatter-by", tmp_path)
    assert chart.series == ["g0", "g1", "g2"] and chart.by == "G"
    both = await systems.session_table_chart(SESSION, RISE, "line", "X", ["Y", "Down"], by="G")
    picture(both, "line-by-two-y", tmp_path)
    assert both.series == [f"{y} ({g})" for g in ("g0", "g1", "g2") for y in ("Y", "Down")]


async def test_histogram_counts_bins_on_the_worker(
    systems: DeephavenSystems, tmp_path: Path
) -> None:
    chart = await systems.session_table_chart(SESSION, RISE, "histogram", "Y")
    image = picture(chart, "histogram", tmp_path)
    # 1000 evenly spread values: sqrt(1000) rounds up to 32 bins of 31 or 32 rows each.
    assert (chart.points, chart.total_rows, chart.sampled, chart.y) == (32, 1000, False, [])
    assert "32 bins" in chart.description and "counts from 31 to 32" in chart.description
    assert data_pixels(image, LOWER_LEFT) > 100 and data_pixels(image, UPPER_RIGHT) > 100
    split = await systems.session_table_chart(SESSION, RISE, "histogram", "X", by="S")
    picture(split, "histogram-by", tmp_path)
    assert split.series == ["c0", "c1", "c2", "c3", "c4"]


async def test_a_million_rows_are_sampled_on_the_worker(
    systems: DeephavenSystems, tmp_path: Path
) -> None:
    chart = await systems.session_table_chart(SESSION, BIG, "line", "X", "Y", max_points=1000)
    picture(chart, "line-sampled", tmp_path)
    assert chart.points <= 1000 and chart.total_rows == 1_000_000 and chart.sampled
    assert "1,000 points drawn out of 1,000,000 rows (every 1,000th row)" in chart.description
    assert chart.envelope_fields()["sampled"] is True
    assert "png" not in chart.model_dump()


async def test_sampling_with_by_keeps_every_series(
    systems: DeephavenSystems, tmp_path: Path
) -> None:
    # S cycles through 5 values row by row: a global stride of 5 would keep only c0.
    chart = await systems.session_table_chart(
        SESSION, RISE, "line", "X", "Y", by="S", max_points=205
    )
    picture(chart, "line-sampled-by", tmp_path)
    assert chart.series == ["c0", "c1", "c2", "c3", "c4"]
    assert (chart.points, chart.total_rows, chart.sampled) == (200, 1000, True)


async def test_a_ticking_table_is_charted_from_one_snapshot(
    systems: DeephavenSystems, tmp_path: Path
) -> None:
    chart = await systems.session_table_chart(
        SESSION, TICKING, "line", "Timestamp", "V", max_points=50
    )
    picture(chart, "line-ticking", tmp_path)
    assert chart.total_rows > 0 and 0 < chart.points <= 50


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"kind": "pie", "x": "X", "y": "Y"}, "kind must be one of line, bar, scatter, area"),
        (
            {"kind": "line", "x": "Nope", "y": "Y"},
            "column 'Nope' is not in table 'chart_rise'; "
            "its columns are: X, Y, Down, T, Z, D, S, G, Label",
        ),
        ({"kind": "line", "x": "X", "y": "S"}, "y column 'S' is string, not numeric"),
        ({"kind": "line", "x": "S", "y": "Y"}, "use kind 'bar' for categories"),
        ({"kind": "line", "x": "X", "y": "Y", "by": "X"}, "a chart holds at most 20"),
        ({"kind": "line", "x": "X", "y": "Y", "width": 99}, "width"),
        ({"kind": "line", "x": "X", "y": "Y", "height": 2001}, "height"),
        ({"kind": "line", "x": "X", "y": "Y", "max_points": 100_001}, "max_points"),
        ({"kind": "histogram", "x": "X", "y": "Y"}, "takes no y"),
        ({"kind": "line", "x": "X"}, "a line chart needs y"),
        ({"kind": "histogram", "x": "S"}, "a histogram bins numbers"),
    ],
)
async def test_refusals_say_what_is_wrong(
    systems: DeephavenSystems, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await systems.session_table_chart(SESSION, RISE, **arguments)  # type: ignore[arg-type]
    assert message in str(caught.value)
