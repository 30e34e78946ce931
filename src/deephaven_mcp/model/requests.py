"""Requests that cross layers as one value: built once from a call's arguments, passed down.

``DeephavenSystems`` checks a call's arguments and builds its request; the systems layer
hands it unchanged to the client that does the engine work: :class:`TableRead` (a page of
a table) to :func:`deephaven_mcp.clients.table_data.read_shaped_slice`,
:class:`SummaryRead` to :func:`deephaven_mcp.clients.table_summary.summarize_table`,
:class:`AggregateRead` to :func:`deephaven_mcp.clients.analysis.aggregate_table`. The
launch requests live with the code that enforces their policy: ``CreateArguments`` in
:mod:`deephaven_mcp.systems._community`, ``WorkerRequest`` and ``QueryRequest`` in
:mod:`deephaven_mcp.enterprise._params`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Annotated, Final, TypeAlias

from pydantic import Field, StrictInt

from deephaven_mcp.config.models import DEFAULT_MAX_RESPONSE_BYTES
from deephaven_mcp.model.analysis import DEFAULT_TOP_K, Aggregation, GroupByItem
from deephaven_mcp.model.shaping import FilterItem, SortKey

MAX_PQ_BATCH: Final = 100
"""At most this many persistent queries in one pq_delete/pq_start/pq_stop/pq_restart call."""
DEFAULT_PQ_CONCURRENCY: Final = 4
"""How many queries of one batch are worked on at once unless the call says otherwise."""
DEFAULT_TABLE_ROWS: Final = 1000
"""Rows a table read or aggregation answers unless the call or ``limits.default_max_rows``
says otherwise."""
DEFAULT_CATALOG_ROWS: Final = 10_000
"""Catalog entries a catalog listing answers unless the call says otherwise."""
DEFAULT_NAMESPACE_ROWS: Final = 1_000
"""Namespaces a namespace listing answers unless the call says otherwise."""
DEFAULT_SCHEMA_TABLES: Final = 100
"""Catalog tables whose schemas one call reads unless it says otherwise."""
DEFAULT_SAMPLE_ROWS: Final = 100
"""Rows of a catalog sample unless the call or ``limits.default_max_rows`` says otherwise."""


@dataclass(frozen=True)
class TableRead:
    """One page of the global table ``table_name``, shaped on the worker and formatted.

    Values are already checked and parsed: ``fmt`` is a resolved format name (see
    :func:`deephaven_mcp.formatting.resolve_format`), ``filters`` and ``sort`` are the
    parsed models. ``max_rows`` None reads every row (bounded by ``max_bytes``, the size
    of the formatted answer). ``head`` False counts ``offset`` from the end of the table.
    ``keep_arrow`` keeps the rows as Arrow in the answer too (the Python API's
    ``to_arrow()``; never in the MCP server, which streams answers).
    """

    table_name: str
    _: KW_ONLY
    max_rows: int | None
    fmt: str
    head: bool = True
    offset: int = 0
    columns: Sequence[str] | None = None
    filters: Sequence[FilterItem] | None = None
    sort: Sequence[SortKey] | None = None
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    keep_arrow: bool = False


@dataclass(frozen=True)
class SummaryRead:
    """Per-column statistics of the global table ``table_name`` (``session_table_summary``).

    Values are already checked and parsed. ``columns`` None summarizes the first
    :data:`~deephaven_mcp.model.analysis.MAX_SUMMARY_COLUMNS` columns; ``skip_nan`` reads
    NaN as null.
    """

    table_name: str
    _: KW_ONLY
    columns: Sequence[str] | None = None
    filters: Sequence[FilterItem] = ()
    top_k: int = DEFAULT_TOP_K
    skip_nan: bool = False


@dataclass(frozen=True)
class AggregateRead:
    """One page of a grouped aggregation of the global table ``table_name``
    (``session_table_aggregate``).

    Values are already checked and parsed as for :class:`TableRead`; ``group_by`` and
    ``aggregations`` as far as they can be without the table's schema (the client checks
    them, and that ``sort`` names output columns, against it before any work).
    ``keep_arrow`` as for :class:`TableRead`.
    """

    table_name: str
    _: KW_ONLY
    aggregations: Sequence[Aggregation]
    max_rows: int | None
    fmt: str
    group_by: Sequence[GroupByItem] = ()
    filters: Sequence[FilterItem] = ()
    sort: Sequence[SortKey] = ()
    offset: int = 0
    skip_nan: bool = False
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    keep_arrow: bool = False


CHART_KINDS: Final = ("line", "bar", "scatter", "area", "histogram")
"""What ``session_table_chart`` draws; a histogram bins ``x`` and takes no ``y``."""
DEFAULT_CHART_POINTS: Final = 5_000
MAX_CHART_POINTS: Final = 100_000
"""Rows a chart draws at most: more are sampled on the worker (every k-th row), never fetched."""
MAX_CHART_SERIES: Final = 20
"""Lines (y columns times ``by`` values) one chart may hold: more is unreadable."""
MIN_CHART_PIXELS: Final = 100
MAX_CHART_PIXELS: Final = 2_000
DEFAULT_CHART_WIDTH: Final = 800
DEFAULT_CHART_HEIGHT: Final = 500
MAX_CHART_TITLE: Final = 200

ChartPoints: TypeAlias = Annotated[StrictInt, Field(ge=1, le=MAX_CHART_POINTS)]
ChartPixels: TypeAlias = Annotated[StrictInt, Field(ge=MIN_CHART_PIXELS, le=MAX_CHART_PIXELS)]
ChartTitle: TypeAlias = Annotated[str, Field(max_length=MAX_CHART_TITLE)] | None


@dataclass(frozen=True)
class ChartRead:
    """A chart of the global table ``table_name`` (``session_table_chart``).

    Values are already checked as far as they can be without the table's schema: ``kind``
    is one of :data:`CHART_KINDS`, ``y`` is empty exactly for a histogram, sizes and
    ``max_points`` are in bounds. The client checks the columns and their types.
    """

    table_name: str
    _: KW_ONLY
    kind: str
    x: str
    y: tuple[str, ...] = ()
    by: str | None = None
    filters: Sequence[FilterItem] = ()
    sort: Sequence[SortKey] = ()
    max_points: int = DEFAULT_CHART_POINTS
    title: str | None = None
    width: int = DEFAULT_CHART_WIDTH
    height: int = DEFAULT_CHART_HEIGHT
