"""``dh-mcp pq``: the persistent queries of an Enterprise system, one API call a command."""

from __future__ import annotations

from typing import Annotated, Any

from cyclopts import App, Parameter

from deephaven_mcp.cli.app import NO_OPTIONS, Common, call_api, tool_fields
from deephaven_mcp.cli.output import Output

pq_app = App(name="pq", help="Persistent queries of an Enterprise system.")

PqIds = Annotated[tuple[str, ...], Parameter(help="Query names or serials (one or more).")]
NoWait = Annotated[
    bool, Parameter(negative="", help="Return once asked, without waiting for the new state.")
]
Timeout = Annotated[int, Parameter(help="Seconds to wait for the new state.")]


@pq_app.command(name="list")
async def pq_list(system: str, *, common: Common = NO_OPTIONS) -> int:
    """List the persistent queries of a system.

    Example: dh-mcp pq list prod
    """
    out = Output()
    result = await call_api(common, lambda s: s.pq_list(system), out)
    if out.terminal:
        out.records(result.pqs, title=system)
    else:
        out.answer(tool_fields(result))
    return 0


@pq_app.command(name="details")
async def pq_details(system: str, query: str, *, common: Common = NO_OPTIONS) -> int:
    """Show one persistent query's configuration, state and worker.

    Example: dh-mcp pq details prod my_query
    """
    out = Output()
    result = await call_api(common, lambda s: s.pq_details(system, query), out)
    out.answer(tool_fields(result), title=f"{system}:{query}")
    return 0


def _pq_outcome(out: Output, result: Any) -> int:
    """A single answer, or a batch's; exit 1 if any query failed."""
    dumped = tool_fields(result)
    if out.terminal and "results" in dumped:
        out.records(
            dumped["results"], title=f"{dumped['succeeded']} succeeded, {dumped['failed']} failed"
        )
    else:
        out.answer(dumped)
    return 1 if dumped.get("failed") else 0


def _one_or_many(queries: tuple[str, ...]) -> str | list[str]:
    if not queries:
        from deephaven_mcp.errors import InvalidArgumentError

        raise InvalidArgumentError("name at least one persistent query")
    return queries[0] if len(queries) == 1 else list(queries)


@pq_app.command(name="start")
async def pq_start(
    system: str,
    *query: Annotated[str, Parameter(help="Query names or serials (one or more).")],
    no_wait: NoWait = False,
    timeout: Timeout = 120,
    common: Common = NO_OPTIONS,
) -> int:
    """Start persistent queries (waits until RUNNING unless --no-wait).

    Example: dh-mcp pq start prod my_query
    """
    out = Output()
    ids = _one_or_many(query)
    result = await call_api(
        common, lambda s: s.pq_start(system, ids, not no_wait, timeout), out, "starting"
    )
    return _pq_outcome(out, result)


@pq_app.command(name="stop")
async def pq_stop(
    system: str,
    *query: Annotated[str, Parameter(help="Query names or serials (one or more).")],
    no_wait: NoWait = False,
    timeout: Timeout = 120,
    common: Common = NO_OPTIONS,
) -> int:
    """Stop persistent queries; their definitions stay.

    Example: dh-mcp pq stop prod my_query
    """
    out = Output()
    ids = _one_or_many(query)
    result = await call_api(
        common, lambda s: s.pq_stop(system, ids, not no_wait, timeout), out, "stopping"
    )
    return _pq_outcome(out, result)


@pq_app.command(name="restart")
async def pq_restart(
    system: str,
    *query: Annotated[str, Parameter(help="Query names or serials (one or more).")],
    no_wait: NoWait = False,
    timeout: Timeout = 120,
    common: Common = NO_OPTIONS,
) -> int:
    """Restart persistent queries (waits until RUNNING unless --no-wait).

    Example: dh-mcp pq restart prod my_query
    """
    out = Output()
    ids = _one_or_many(query)
    result = await call_api(
        common, lambda s: s.pq_restart(system, ids, not no_wait, timeout), out, "restarting"
    )
    return _pq_outcome(out, result)


@pq_app.command(name="delete")
async def pq_delete(
    system: str,
    *query: Annotated[str, Parameter(help="Query names or serials (one or more).")],
    common: Common = NO_OPTIONS,
) -> int:
    """Delete persistent queries permanently (stopped first if running).

    Example: dh-mcp pq delete prod old_query
    """
    out = Output()
    ids = _one_or_many(query)
    result = await call_api(common, lambda s: s.pq_delete(system, ids), out, "deleting")
    return _pq_outcome(out, result)
