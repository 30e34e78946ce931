"""What each :class:`~deephaven_mcp.DeephavenSystems` method returns (public API).

One model per tool answer. ``result.envelope_fields()`` is exactly what the MCP tool of
the same name puts beside ``"success": true``; optional fields (``note``, ``pid``, ...)
appear only when they were set. Nested records (sessions, schema entries, persistent
queries) are plain JSON-ready dicts, documented by the tools' output schemas.
"""

from __future__ import annotations

from typing import Any, Literal

from deephaven_mcp.formatting import FormattedData
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.table import ShapedSlice, TableSlice

__all__ = [
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
    "TableNames",
    "TableSchemas",
    "TableSlice",
    "TableSummary",
    "ToolOutput",
]

Record = dict[str, Any]


class Done(ToolOutput):
    """Success with nothing more to say (``session_script_run``, ``mcp_reload``)."""


class ScriptRun(ToolOutput):
    """What a script printed and which global tables it changed (``session_script_run``).

    ``stdout``/``stderr`` hold at most 64 KB of UTF-8 each (the start of the output); they
    are None where the session cannot capture output (Groovy). ``tables`` lists at most 100
    changes: ``name``, ``change`` (created, replaced, removed) and, unless removed,
    ``row_count``, ``columns`` (name, Deephaven type) and ``is_refreshing``.
    """

    stdout: str | None
    stdout_truncated: bool
    stdout_dropped_bytes: int
    stderr: str | None
    stderr_truncated: bool
    stderr_dropped_bytes: int
    tables: list[Record]
    tables_truncated: bool


class SessionList(ToolOutput):
    sessions: list[Record]


class SessionDetails(ToolOutput):
    session: Record


class TableNames(ToolOutput):
    session_id: str
    table_names: list[str]
    count: int
    is_complete: bool = False  # present only when the list was cut short


class TableSchemas(ToolOutput):
    count: int
    schemas: list[Record]
    is_complete: bool


class PipPackages(ToolOutput):
    result: list[dict[str, str]]


class CommunitySessionCreated(ToolOutput):
    session_id: str
    session_name: str
    connection_url: str
    auth_type: str
    launch_method: str
    port: int
    container_id: str | None = None
    pid: int | None = None
    auth_token: str | None = None
    connection_url_with_auth: str | None = None
    note: str | None = None


class CommunitySessionDeleted(ToolOutput):
    session_id: str
    session_name: str


class CommunityCredentials(ToolOutput):
    session_id: str
    auth_type: str
    auth_token: str | None
    connection_url: str
    browser_url: str


class EnterpriseSystemsStatus(ToolOutput):
    systems: list[Record]


class EnterpriseSessionCreated(ToolOutput):
    session_id: str
    system_name: str
    session_name: str
    programming_language: str | None


class EnterpriseSessionDeleted(ToolOutput):
    system_name: str
    session_name: str
    message: str


class CatalogListing(ToolOutput):
    """Rows of a catalog listing (tables or namespaces), formatted."""

    session_id: str
    format: str
    row_count: int
    is_complete: bool
    columns: list[dict[str, str]]
    data: FormattedData


class CatalogSchemas(ToolOutput):
    schemas: list[Record]
    count: int
    is_complete: bool


class CatalogSample(TableSlice):
    """A table slice of a catalog table, with where it came from."""

    namespace: str
    source: Literal["historical", "live"]

    def envelope_fields(self) -> dict[str, Any]:
        return {**super().envelope_fields(), "namespace": self.namespace, "source": self.source}


class PqList(ToolOutput):
    system_name: str
    pqs: list[Record]


class PqDetails(ToolOutput):
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
    serial: int
    pq_name: str
    state: str
    configuration_type: str
    enabled: bool
    schedule: Record
    starts_now: bool
    message: str


class PqDeleted(ToolOutput):
    serial: int
    message: str


class PqModified(ToolOutput):
    pq_id: str
    serial: int
    name: str
    restarted: bool
    message: str


class PqStarted(ToolOutput):
    serial: int
    state: str
    session_id: str | None
    message: str


class PqStopped(ToolOutput):
    serial: int
    state: str
    message: str


class PqRestarted(ToolOutput):
    serial: int
    state: str
    session_id: str | None
    message: str


class PqBatch(ToolOutput):
    """``pq_start``, ``pq_stop``, ``pq_restart`` or ``pq_delete`` given a list: one entry per
    query, in the order given, and how many succeeded and failed.

    Every entry has ``pq`` (the identifier as given) and ``success``. A success has
    ``serial``, ``name``, ``message`` and, except for a delete, ``state`` (start and
    restart add ``session_id``, null unless RUNNING). A failure has ``error`` (the message
    a single-query call would have failed with) and, when the identifier named a query,
    its ``serial`` and ``name``. ``max_concurrent`` is how many ran at once at most.
    """

    results: list[Record]
    succeeded: int
    failed: int
    max_concurrent: int


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
    row_count: int
    column_count: int
    is_complete: bool
    top_k: int
    skip_nan: bool
    is_refreshing: bool
    snapshot_time: str
    columns: list[Record]


class TableAggregate(ShapedSlice):
    """A page of a grouped aggregation (``session_table_aggregate``), like a table read;
    ``source_rows`` counts the (filtered) rows that were aggregated, ``skip_nan`` echoes the
    NaN rule used, and ``notes`` names each output with groups whose value the engine
    overflowed (shown as null), e.g. ``"AvgX: 1 group overflowed double arithmetic in the
    engine; shown as null"``; empty when there are none."""

    source_rows: int
    skip_nan: bool
    notes: list[str]

    def envelope_fields(self) -> dict[str, Any]:
        return {
            **super().envelope_fields(),
            "source_rows": self.source_rows,
            "skip_nan": self.skip_nan,
            "notes": self.notes,
        }
