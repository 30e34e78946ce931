"""One persistent query or a list of them for ``pq_start`` / ``pq_stop`` / ``pq_restart`` /
``pq_delete``: checking the list and the concurrency, and the per-query answer.

A single identifier answers as it always has (one query's fields, or a failure); a list
answers with one entry per query (:class:`~deephaven_mcp.systems.results.PqBatch`), so one
query's error does not hide the others' outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from deephaven_mcp.config.models import DEFAULT_MAX_PQ_BATCH_CONCURRENCY
from deephaven_mcp.enterprise import PqInfo
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.model.output import ToolOutput
from deephaven_mcp.model.requests import MAX_PQ_BATCH
from deephaven_mcp.runtime.logging import redact
from deephaven_mcp.systems._queries import session_id_of
from deephaven_mcp.systems.results import PqBatch, PqDeleted, PqRestarted, PqStarted, PqStopped

if TYPE_CHECKING:
    from deephaven_mcp.enterprise import BatchOutcome, BatchVerb, EnterpriseSystem

MAX_ENTRY_ERROR: Final = 500  # characters of one query's error, as in a failure envelope

PqIdentifiers = str | int | Sequence[str | int]
"""One PQ name or serial, or a list of them."""
_Single = TypeVar("_Single", PqStarted, PqStopped, PqRestarted, PqDeleted)
_VERBS: Final[Mapping[type[ToolOutput], BatchVerb]] = {
    PqStarted: "start",
    PqStopped: "stop",
    PqRestarted: "restart",
    PqDeleted: "delete",
}


def is_batch(pq_identifier: object) -> bool:
    """A list (or another sequence) of identifiers rather than one name or serial."""
    return not isinstance(pq_identifier, str | int)


def identifiers(pq_identifier: object) -> list[str | int]:
    """The identifiers of a batch, checked before anything is sent: a list of 1 to
    :data:`MAX_PQ_BATCH` names or serials, none given twice."""
    if isinstance(pq_identifier, bytes | Mapping) or not isinstance(pq_identifier, Sequence):
        raise InvalidArgumentError("pq_identifier must be a PQ name or serial, or a list of them")
    items = list(pq_identifier)
    if not items:
        raise InvalidArgumentError("pq_identifier: the list is empty; give at least one PQ")
    if len(items) > MAX_PQ_BATCH:
        raise InvalidArgumentError(
            f"pq_identifier: at most {MAX_PQ_BATCH} persistent queries per call (got {len(items)})"
        )
    seen: set[str | int] = set()
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise InvalidArgumentError(
                f"pq_identifier: each entry is a PQ name or serial (got {item!r})"
            )
        key = item.strip() if isinstance(item, str) else item
        if key in seen:
            raise InvalidArgumentError(f"pq_identifier lists {item!r} more than once")
        seen.add(key)
    return items


def concurrency(max_concurrent: int, cap: int = DEFAULT_MAX_PQ_BATCH_CONCURRENCY) -> int:
    """How many queries of a batch run at once: ``max_concurrent``, at most ``cap`` (the
    system's ``agent_limits.max_pq_batch_concurrency``)."""
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
        raise InvalidArgumentError("max_concurrent must be a whole number")
    if max_concurrent < 1:
        raise InvalidArgumentError(f"max_concurrent must be at least 1 (got {max_concurrent})")
    return min(max_concurrent, cap)


def _is_down(query: PqInfo) -> bool:
    return query.is_terminal or query.state in ("UNINITIALIZED", "UNSPECIFIED")


def message(verb: BatchVerb, query: PqInfo) -> str:
    """What a successful start, stop, restart or delete says about ``query``."""
    if verb == "delete":
        return "PQ deleted successfully"
    if verb == "stop":
        return "PQ stopped successfully" if _is_down(query) else "PQ stop requested"
    if query.state == "COMPLETED":
        return "PQ ran to completion"
    if verb == "start":
        return "PQ started successfully" if query.is_running else "PQ start requested"
    return "PQ restarted successfully" if query.is_running else "PQ restart initiated"


def _error_text(error: str) -> str:
    text = redact(error.strip())
    if len(text) > MAX_ENTRY_ERROR:
        text = text[: MAX_ENTRY_ERROR - 1] + "…"
    return text


def _outcome(system_name: str, verb: BatchVerb, query: PqInfo) -> dict[str, Any]:
    """What a success says about ``query`` beyond its serial, alone or in a batch."""
    fields: dict[str, Any] = {}
    if verb != "delete":
        fields["state"] = query.state
    if verb in ("start", "restart"):
        fields["session_id"] = session_id_of(system_name, query)
    fields["message"] = message(verb, query)
    return fields


def _entry(system_name: str, verb: BatchVerb, outcome: BatchOutcome) -> dict[str, Any]:
    entry: dict[str, Any] = {"pq": outcome.identifier, "success": outcome.ok}
    query = outcome.query
    if query is not None:
        entry.update(serial=query.serial, name=query.name)
    if outcome.error is not None:
        entry["error"] = _error_text(outcome.error)
        return entry
    assert query is not None  # a success carries its query
    entry.update(_outcome(system_name, verb, query))
    return entry


def answer(
    system_name: str, verb: BatchVerb, outcomes: Sequence[BatchOutcome], max_concurrent: int
) -> PqBatch:
    """The per-query answer of a batch, in the order the identifiers were given."""
    entries = [_entry(system_name, verb, outcome) for outcome in outcomes]
    succeeded = sum(1 for outcome in outcomes if outcome.ok)
    return PqBatch(
        results=entries,
        succeeded=succeeded,
        failed=len(entries) - succeeded,
        max_concurrent=max_concurrent,
    )


async def run(
    system: EnterpriseSystem,
    verb: BatchVerb,
    pq_identifier: object,
    max_concurrent: int,
    wait: bool = True,
    timeout_seconds: int = 120,
) -> PqBatch:
    """``verb`` on each query of the list ``pq_identifier``; the list and
    ``max_concurrent`` are checked first, so a bad list sends nothing."""
    items = identifiers(pq_identifier)
    limit = concurrency(max_concurrent, system.config.agent_limits.max_pq_batch_concurrency)
    outcomes = await system.pq_batch(verb, items, limit, wait, timeout_seconds)
    return answer(system.name, verb, outcomes, limit)


async def act(
    system: EnterpriseSystem,
    single: type[_Single],
    pq_identifier: PqIdentifiers,
    max_concurrent: int,
    wait: bool = True,
    timeout_seconds: int = 120,
) -> _Single | PqBatch:
    """The body of ``pq_start`` / ``pq_stop`` / ``pq_restart`` / ``pq_delete``, named by
    the answer type ``single``: one query answers with it, a list with :class:`PqBatch`."""
    verb = _VERBS[single]
    if is_batch(pq_identifier):
        return await run(system, verb, pq_identifier, max_concurrent, wait, timeout_seconds)
    concurrency(max_concurrent)
    assert isinstance(pq_identifier, str | int)
    query = await system.pq_act(verb, pq_identifier, wait, timeout_seconds)
    return single(serial=query.serial, **_outcome(system.name, verb, query))
