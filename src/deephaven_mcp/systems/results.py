"""What each :class:`~deephaven_mcp.DeephavenSystems` method returns (public API).

One model per tool answer. ``result.envelope_fields()`` is exactly what the MCP tool of
the same name puts beside ``"success": true``; optional fields (``note``, ``pid``, ...)
appear only when they were set. Nested records (sessions, schema entries, persistent
queries) are plain JSON-ready dicts; the record models below (:class:`SessionSummary`, ...)
say what they hold. These models are also where the tools' output schemas come from: a
field without a default is one every answer has.

Every answer with table rows (:class:`TableSlice` and its subclasses, :class:`CatalogListing`)
is an :class:`ArrowRows`: ``to_arrow()`` gives the rows as a ``pyarrow.Table`` and
``to_pandas()`` as a ``pandas.DataFrame`` (from a ``DeephavenSystems`` made with
``keep_arrow=True``, the default).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from deephaven_mcp.model.analysis import MAX_DISTINCT, MAX_SUMMARY_COLUMNS
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.records import Columns, Record, Shape, TableData, optional
from deephaven_mcp.model.table import ArrowRows, ShapedSlice, TableSlice

__all__ = [
    "ArrowRows",
    "CatalogListing",
    "CatalogSample",
    "CatalogSchemas",
    "CommunityCredentials",
    "CommunitySessionCreated",
    "CommunitySessionDeleted",
    "Done",
    "EnterpriseSessionCreated",
    "EnterpriseSessionDeleted",
    "EnterpriseSystemsStatus",
    "PipPackages",
    "PqBatch",
    "PqCreated",
    "PqDeleted",
    "PqDetails",
    "PqList",
    "PqModified",
    "PqRestarted",
    "PqStarted",
    "PqStopped",
    "ScriptRun",
    "SessionDetails",
    "SessionList",
    "ShapedSlice",
    "TableAggregate",
    "TableChart",
    "TableNames",
    "TableSchemas",
    "TableSlice",
    "TableSummary",
    "ToolOutput",
]


class Done(ToolOutput):
    """Success with nothing more to say (``mcp_reload``)."""


class ScriptTableChange(BaseModel):
    """A global table the script created, replaced or removed; only name and change if removed."""

    name: str
    change: Literal["created", "replaced", "removed"]
    row_count: int = optional()
    columns: Columns = optional()
    is_refreshing: bool = optional()


_CAPTURED = "The start of the output (at most 64 KB of UTF-8); null in Groovy sessions."


class ScriptRun(ToolOutput):
    """What a script printed and which global tables it changed (``session_script_run``).

    ``stdout``/``stderr`` are None where the session cannot capture output (Groovy);
    ``tables`` lists at most 100 changes (:class:`ScriptTableChange`).
    """

    stdout: Annotated[str | None, Field(description=_CAPTURED)]
    stdout_truncated: bool
    stdout_dropped_bytes: int
    stderr: Annotated[str | None, Field(description=_CAPTURED)]
    stderr_truncated: bool
    stderr_dropped_bytes: int
    tables: Annotated[list[Record], Shape(list[ScriptTableChange])]
    tables_truncated: bool


class SessionSummary(BaseModel):
    """A session, as known without connecting."""

    session_id: str
    type: Literal["community", "enterprise"]
    source: str
    session_name: str


class SessionInfo(SessionSummary):
    """A session's details; a version is null when unknown (not connected, not enterprise)."""

    available: bool
    programming_language: str | None
    deephaven_core_version: str | None = None
    deephaven_enterprise_version: str | None = None


class SessionList(ToolOutput):
    """Every known session (``sessions_list``)."""

    sessions: Annotated[list[Record], Shape(list[SessionSummary])]


class SessionDetails(ToolOutput):
    """One session's details (``session_details``)."""

    session: Annotated[Record, Shape(SessionInfo)]


class TableNames(ToolOutput):
    """The names of a session's tables (``session_tables_list``)."""

    session_id: str
    table_names: list[str]
    count: int
    is_complete: bool = False  # present only when the list was cut short


class TableSchemaEntry(BaseModel):
    """One table's column metadata (one row per column), or the error reading it."""

    success: bool
    table: str
    format: Literal["json-row"] = optional()
    data: list[Record] = optional()
    meta_columns: Columns = optional()
    row_count: int = optional()
    error: str = optional()
    isError: bool = optional()  # the answer's key


class TableSchemas(ToolOutput):
    """Column metadata of a session's tables (``session_tables_schema``), one entry each."""

    count: int
    schemas: Annotated[list[Record], Shape(list[TableSchemaEntry])]
    is_complete: bool


class PipPackage(BaseModel):
    """An installed Python package."""

    package: str
    version: str


class PipPackages(ToolOutput):
    """The Python packages of a session's worker (``session_pip_list``)."""

    result: Annotated[list[dict[str, str]], Shape(list[PipPackage])]


class CommunitySessionCreated(ToolOutput):
    """A launched community worker (``session_community_create``); ``auth_token`` and
    ``connection_url_with_auth`` only for PSK, ``container_id`` or ``pid`` by launch method,
    ``note`` when something needs saying."""

    session_id: str
    session_name: str
    connection_url: str
    auth_type: Annotated[str, Field(json_schema_extra={"enum": ["PSK", "Anonymous"]})]
    launch_method: Annotated[str, Field(json_schema_extra={"enum": ["python", "docker"]})]
    port: int
    container_id: str | None = None
    pid: int | None = None
    auth_token: str | None = None
    connection_url_with_auth: str | None = None
    note: str | None = None


class CommunitySessionDeleted(ToolOutput):
    """A stopped and forgotten community worker (``session_community_delete``)."""

    session_id: str
    session_name: str


class CommunityCredentials(ToolOutput):
    """How to open a community session in a browser (``session_community_credentials``)."""

    session_id: str
    auth_type: str
    auth_token: str | None
    connection_url: str
    browser_url: str


class SystemStatus(BaseModel):
    """A configured enterprise system and whether it can be reached."""

    name: str
    status: Literal["ONLINE", "OFFLINE", "UNAUTHORIZED", "MISCONFIGURED", "UNKNOWN"]
    detail: str = optional()
    is_alive: bool = optional()
    config: Record = optional()


class EnterpriseSystemsStatus(ToolOutput):
    """Every configured enterprise system, config redacted (``enterprise_systems_status``)."""

    systems: Annotated[list[Record], Shape(list[SystemStatus])]


class EnterpriseSessionCreated(ToolOutput):
    """A started enterprise worker (``session_enterprise_create``)."""

    session_id: str
    system_name: str
    session_name: str
    programming_language: str | None


class EnterpriseSessionDeleted(ToolOutput):
    """A terminated enterprise worker (``session_enterprise_delete``)."""

    system_name: str
    session_name: str
    message: str


class CatalogListing(ArrowRows):
    """Rows of a catalog listing (``catalog_tables_list``, ``catalog_namespaces_list``),
    formatted (and, in the Python API, as Arrow: ``to_arrow()``)."""

    session_id: str
    format: str
    row_count: int
    is_complete: bool
    columns: Columns
    data: TableData


class CatalogSchemaEntry(TableSchemaEntry):
    """One catalog table's column metadata, or the error reading it."""

    namespace: str = optional()


class CatalogSchemas(ToolOutput):
    """Column metadata of catalog tables (``catalog_tables_schema``), one entry each."""

    schemas: Annotated[list[Record], Shape(list[CatalogSchemaEntry])]
    count: int
    is_complete: bool


class CatalogSample(TableSlice):
    """A table slice of a catalog table, with where it came from (``catalog_table_sample``)."""

    namespace: str
    source: Literal["historical", "live"]


class PqList(ToolOutput):
    """A system's persistent queries with their states (``pq_list``)."""

    system_name: str
    pqs: list[Record]


class PqDetails(ToolOutput):
    """One persistent query's configuration, state and worker (``pq_details``)."""

    serial: int
    name: str
    state: str
    session_id: str | None
    worker_host: str | None
    worker_port: int | None
    engine_version: str | None
    status_details: str | None
    exception_message: str | None
    num_failures: int | None
    config: Record


class PqCreated(ToolOutput):
    """A created persistent query (``pq_create``); ``starts_now`` when the controller
    starts it at once."""

    serial: int
    pq_name: str
    state: str
    configuration_type: str
    enabled: bool
    schedule: Record
    starts_now: bool
    message: str


class PqDeleted(ToolOutput):
    """A deleted persistent query (``pq_delete`` given one)."""

    serial: int
    message: str


class PqModified(ToolOutput):
    """A changed persistent query (``pq_modify``); ``restarted`` if it was restarted."""

    pq_id: str
    serial: int
    name: str
    restarted: bool
    message: str


class PqStarted(ToolOutput):
    """A started persistent query (``pq_start`` given one); ``session_id`` once RUNNING."""

    serial: int
    state: str
    session_id: str | None
    message: str


class PqStopped(ToolOutput):
    """A stopped persistent query (``pq_stop`` given one)."""

    serial: int
    state: str
    message: str


class PqRestarted(ToolOutput):
    """A restarted persistent query (``pq_restart`` given one); ``session_id`` once RUNNING."""

    serial: int
    state: str
    session_id: str | None
    message: str


class PqBatchEntry(BaseModel):
    """One query's outcome: its fields as a single call answers them, or its error."""

    pq: str | int
    success: bool
    serial: int = optional()
    name: str = optional()
    state: str = optional()
    session_id: str | None = optional()
    message: str = optional()
    error: str = optional()


class PqBatch(ToolOutput):
    """``pq_start``, ``pq_stop``, ``pq_restart`` or ``pq_delete`` given a list: one entry per
    query, in the order given, and how many succeeded and failed.

    Every entry has ``pq`` (the identifier as given) and ``success``. A success has
    ``serial``, ``name``, ``message`` and, except for a delete, ``state`` (start and
    restart add ``session_id``, null unless RUNNING). A failure has ``error`` (the message
    a single-query call would have failed with) and, when the identifier named a query,
    its ``serial`` and ``name``. ``max_concurrent`` is how many ran at once at most.
    """

    results: Annotated[list[Record], Shape(list[PqBatchEntry])]
    succeeded: int
    failed: int
    max_concurrent: int


Scalar = float | str | bool | None
"""A value as a summary shows it."""
Statistic = Annotated[
    float | str | None,
    Field(description='A number; "NaN", "Infinity" or "-Infinity" as text; null without values.'),
]


class TopValue(BaseModel):
    """One of a column's most frequent values and how often it occurs."""

    value: Scalar
    count: int


class ColumnSummary(BaseModel):
    """One column's statistics; which ones depends on its kind."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: Annotated[str, Field(description="Deephaven type, e.g. double, java.lang.String.")]
    kind: Literal["numeric", "string", "boolean", "temporal", "other"]
    null_count: int
    nan_count: int = optional("float/double only; NaN is not null.")
    min: Scalar = optional("Timestamps and dates as ISO-8601 text.")
    max: Scalar = optional()
    mean: Statistic = optional()
    std: Statistic = optional("Sample standard deviation (n - 1).")
    notes: list[str] = optional("Statistics shown as null because the engine overflowed them.")
    distinct_count: int = optional(f"Distinct non-null values, at most {MAX_DISTINCT:,}.")
    distinct_count_capped: bool = optional(
        f"True when there are more than {MAX_DISTINCT:,} distinct values."
    )
    top_values: list[TopValue] = optional()


class TableSummary(ToolOutput):
    """Per-column statistics computed by the worker (``session_table_summary``).

    ``columns`` has one entry per summarized column: ``name``, ``type`` (Deephaven type),
    ``kind`` and ``null_count``; ``min``/``max`` unless the kind is ``other``; ``mean``,
    ``std`` for numeric columns and ``nan_count`` for floating ones; ``distinct_count``,
    ``distinct_count_capped`` and ``top_values`` for string and boolean columns; ``notes``
    when a statistic is shown as null because the engine overflowed computing it. NaN is a
    value (min, max, mean and std of a column holding one are NaN) unless ``skip_nan``.
    """

    table_name: str
    row_count: Annotated[int, Field(description="Rows after filtering.")]
    column_count: Annotated[int, Field(description="Columns in the table.")]
    is_complete: Annotated[
        bool,
        Field(
            description=f"False when only the first {MAX_SUMMARY_COLUMNS} columns were summarized."
        ),
    ]
    top_k: int
    skip_nan: Annotated[bool, Field(description="True when NaN was treated like null.")]
    is_refreshing: Annotated[bool, Field(description="True for a ticking (live) table.")]
    snapshot_time: Annotated[
        str, Field(description="When the statistics were taken, ISO-8601 UTC.")
    ]
    columns: Annotated[list[Record], Shape(list[ColumnSummary])]


class TableAggregate(ShapedSlice):
    """A page of a grouped aggregation (``session_table_aggregate``), like a table read;
    ``source_rows`` counts the (filtered) rows that were aggregated, ``skip_nan`` echoes the
    NaN rule used, and ``notes`` names each output with groups whose value the engine
    overflowed (shown as null), e.g. ``"AvgX: 1 group overflowed double arithmetic in the
    engine; shown as null"``; empty when there are none."""

    total_rows: Annotated[int, Field(description="Aggregated rows (groups) before paging.")]
    is_refreshing: Annotated[bool, Field(description="True when the source table ticks.")]
    snapshot_time: Annotated[str, Field(description="When the rows were computed, ISO-8601 UTC.")]
    source_rows: Annotated[int, Field(description="Source rows aggregated (after filtering).")]
    skip_nan: Annotated[bool, Field(description="True when NaN was treated like null.")]
    notes: Annotated[
        list[str],
        Field(
            description="One per output column with groups the engine overflowed (shown as "
            "null), e.g. 'AvgX: 1 group overflowed double arithmetic in the engine; shown as "
            "null'."
        ),
    ]


class TableChart(ToolOutput):
    """A chart of a table drawn by the server (``session_table_chart``).

    The fields say what was drawn; the picture itself is :attr:`png` (a PNG of exactly
    ``width`` x ``height`` pixels), kept out of the fields: the MCP tool sends it as an
    image beside them, with ``description`` as text.
    """

    table_name: str
    kind: str
    x: str
    y: Annotated[list[str], Field(description="The y columns (empty for a histogram).")]
    by: Annotated[
        str | None, Field(description="The column splitting rows into series, when given.")
    ] = None
    series: Annotated[list[str], Field(description="The names of the series drawn.")]
    points: Annotated[int, Field(description="Rows drawn (histogram: bins).")]
    total_rows: Annotated[int, Field(description="Rows of the table after filtering.")]
    sampled: Annotated[
        bool, Field(description="True when only every k-th row was drawn (max_points).")
    ]
    width: int
    height: int
    description: Annotated[str, Field(description="What the chart shows, in one paragraph.")]
    _png: bytes = PrivateAttr(default=b"")

    @classmethod
    def drawn(cls, png: bytes, **fields: object) -> TableChart:
        """The answer for ``fields`` holding the picture ``png``."""
        chart = cls.model_validate(fields)
        chart._png = png
        return chart

    @property
    def png(self) -> bytes:
        """The chart as PNG bytes (write them to a ``.png`` file to look at it)."""
        return self._png

    def image_content(self) -> tuple[bytes, str, str]:
        """The picture the MCP answer carries beside the fields: (data, MIME type, caption)."""
        return self._png, "image/png", self.description
