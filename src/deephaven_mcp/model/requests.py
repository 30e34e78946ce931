"""Requests that cross layers as one value: built once from a call's arguments, passed down.

:class:`TableRead` is a page of a table: ``DeephavenSystems.session_table_data`` checks and
builds it, and :mod:`deephaven_mcp.systems._tables` hands it unchanged to
:func:`deephaven_mcp.clients.table_data.read_shaped_slice`. The launch requests live
with the code that enforces their policy: ``CreateArguments`` in
:mod:`deephaven_mcp.systems._community`, ``WorkerRequest`` and ``QueryRequest`` in
:mod:`deephaven_mcp.enterprise._params`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Final

from deephaven_mcp.config.models import DEFAULT_MAX_RESPONSE_BYTES
from deephaven_mcp.model.shaping import FilterItem, SortKey

MAX_PQ_BATCH: Final = 100
"""At most this many persistent queries in one pq_delete/pq_start/pq_stop/pq_restart call."""
DEFAULT_PQ_CONCURRENCY: Final = 4
"""How many queries of one batch are worked on at once unless the call says otherwise."""


@dataclass(frozen=True)
class TableRead:
    """One page of the global table ``table_name``, shaped on the worker and formatted.

    Values are already checked and parsed: ``fmt`` is a resolved format name (see
    :func:`deephaven_mcp.formatting.resolve_format`), ``filters`` and ``sort`` are the
    parsed models. ``max_rows`` None reads every row (bounded by ``max_bytes``, the size
    of the formatted answer). ``head`` False counts ``offset`` from the end of the table.
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
