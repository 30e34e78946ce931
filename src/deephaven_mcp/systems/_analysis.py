"""The bodies of ``session_table_summary`` and ``session_table_aggregate``.

``DeephavenSystems`` checks the arguments before any round trip, with the same types as
the MCP tools' signatures (:mod:`deephaven_mcp.model.analysis`,
:func:`~deephaven_mcp.model.arguments.check_argument`), so a bad argument gets the same
message on both paths, and builds the request (:mod:`deephaven_mcp.model.requests`). Here
it goes whole to :mod:`deephaven_mcp.clients.table_summary` or
:mod:`deephaven_mcp.clients.analysis`, inside one ``ManagedSession.run`` per call (reads,
so a lost connection is retried once). Those two load in the functions that call them:
they bring pydeephaven and pyarrow, which a server that has not read a table yet does
without.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from deephaven_mcp.model import analysis as spec
from deephaven_mcp.model.requests import AggregateRead, SummaryRead
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession
from deephaven_mcp.systems._tables import run_read
from deephaven_mcp.systems.results import TableAggregate, TableSummary


async def table_summary(
    session: ManagedSession, timeouts: Timeouts, read: SummaryRead
) -> TableSummary:
    """The statistics ``read`` asks for, as the ``session_table_summary`` answer."""
    from deephaven_mcp.clients import table_summary as summary

    stats = await run_read(session, timeouts, "Summarizing", summary.summarize_table, read)
    return TableSummary(
        table_name=read.table_name, top_k=read.top_k, skip_nan=read.skip_nan, **asdict(stats)
    )


async def table_aggregate(
    session: ManagedSession, timeouts: Timeouts, read: AggregateRead
) -> TableAggregate:
    """The page ``read`` asks for, as the ``session_table_aggregate`` answer."""
    from deephaven_mcp.clients import analysis

    found = await run_read(session, timeouts, "Aggregating", analysis.aggregate_table, read)
    return found.page.extended(
        TableAggregate, source_rows=found.source_rows, skip_nan=read.skip_nan, notes=found.notes
    )


def parse_group_by_and_aggregations(
    group_by: Sequence[spec.GroupByItem | dict[str, Any]] | None,
    aggregations: Sequence[spec.Aggregation | dict[str, Any]] | None,
) -> tuple[list[spec.GroupByItem], list[spec.Aggregation]]:
    """The request's keys and aggregations, checked as far as possible without the schema."""
    wanted = spec.parse_aggregations(aggregations)
    keys = spec.parse_group_by(group_by)
    spec.check_output_names(keys, wanted)
    return keys, wanted
