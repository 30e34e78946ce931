"""What starting, stopping and restarting a persistent query waits for, and how it ends.

After the controller accepts a request, :mod:`._pq` waits on the subscription map. The wait
ends in one of three outcomes, each told apart in the answer:

* the query reached the wanted state (RUNNING, or COMPLETED for a run-once query; a
  stopped state for a stop): the answer is that state;
* it reached a terminal state that is a failure: an error carrying the state and the
  controller's exception text;
* the wait timed out with the state unchanged or still moving: a timeout error naming the
  state the controller last reported and when (its ``lastUpdateNanos``).

Batches (one identifier or a list) run each query on its own, at most ``max_concurrent`` at
once, and answer per query: one failure does not stop the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from deephaven_mcp.clients.errors import clip, first_line
from deephaven_mcp.enterprise.backend import PqInfo
from deephaven_mcp.enterprise.errors import EnterpriseOperationError
from deephaven_mcp.enterprise.status import MAX_DETAIL
from deephaven_mcp.errors import DeephavenMcpError, DeephavenTimeoutError

_log = logging.getLogger(__name__)

NEVER_STARTED: Final = frozenset({"UNINITIALIZED", "UNSPECIFIED"})
CLEAN_ENDS: Final = frozenset({"STOPPED", "COMPLETED"})

BatchVerb = Literal["start", "stop", "restart", "delete"]


def is_down(info: PqInfo) -> bool:
    """Not running: terminal, or back to never-started (UNINITIALIZED / UNSPECIFIED)."""
    return info.is_terminal or info.state in NEVER_STARTED


def _ended_badly(info: PqInfo) -> bool:
    """A terminal state that is a failure (FAILED, ERROR, DISCONNECTED, ...)."""
    return info.is_terminal and info.state not in CLEAN_ENDS


def _running_or_done(info: PqInfo) -> bool:
    return info.is_running or info.state == "COMPLETED"


def _terminal_not_done(info: PqInfo) -> bool:
    """For a start: any terminal state but COMPLETED (a stop by someone else counts too)."""
    return info.is_terminal and info.state != "COMPLETED"


def _stopped_cleanly(info: PqInfo) -> bool:
    return is_down(info) and not _ended_badly(info)


@dataclass(frozen=True)
class Goal:
    """What one kind of request waits for."""

    verb: str  # "start", "stop", "restart": for messages
    action: str  # "Starting", ...: names the controller call in errors
    wanted: str  # the state named in a timeout message
    reached: Callable[[PqInfo], bool]
    failed: Callable[[PqInfo], bool]
    failure: str  # "did not start", ...
    new_run: bool  # a running query must have been through a new run (start, restart)


START: Final = Goal(
    "start", "Starting", "RUNNING", _running_or_done, _terminal_not_done, "did not start", True
)
RESTART: Final = Goal(
    "restart",
    "Restarting",
    "RUNNING",
    _running_or_done,
    _terminal_not_done,
    "did not restart",
    True,
)
STOP: Final = Goal(
    "stop", "Stopping", "STOPPED", _stopped_cleanly, _ended_badly, "did not stop cleanly", False
)


def reported_at(nanos: int) -> str:
    """A ``lastUpdateNanos`` as UTC ISO-8601 to the second, e.g. 2026-12-07T13:05:01Z."""
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Watch:
    """One query after the controller accepted a request: has it got where it was sent?

    ``before`` is the query as the map showed it just before the request. A state counts
    only once it is newer than that one (another ``lastUpdateNanos``). A query that was
    RUNNING has restarted only once it has left RUNNING or runs another worker process, so
    an update of the old run is not taken for the new one.
    """

    def __init__(self, goal: Goal, before: PqInfo) -> None:
        self.goal = goal
        self.before = before
        self._left_running = not before.is_running

    def moved(self, info: PqInfo) -> bool:
        """The controller published a state newer than the one before the request."""
        return info.last_update_nanos != self.before.last_update_nanos

    def _new_run(self, info: PqInfo) -> bool:
        if not self.goal.new_run or self._left_running:
            return True
        old, new = self.before.process_info_id, info.process_info_id
        return old is None or new is None or old != new

    def settled(self, info: PqInfo) -> bool:
        """Reached the wanted state or failed: the wait is over."""
        if not self.moved(info):
            return False
        if not info.is_running:
            self._left_running = True
        goal = self.goal
        return goal.failed(info) or (goal.reached(info) and self._new_run(info))

    def outcome(self, latest: PqInfo, timeout_seconds: float) -> PqInfo:
        """``latest`` when the wanted state was reached; otherwise raise the failure (a
        terminal failure state) or the timeout (unchanged, or still on its way)."""
        goal = self.goal
        name = self.before.name
        if self.settled(latest):
            if not goal.failed(latest):
                return latest
            reason = f": {latest.exception_message}" if latest.exception_message else ""
            raise EnterpriseOperationError(
                f"Persistent query '{name}' {goal.failure}: it ended {latest.state}{reason}"
            )
        if latest.last_update_nanos:
            last = f"{latest.state} at {reported_at(latest.last_update_nanos)}"
        else:
            last = f"{latest.state} (with no time)"
        unchanged = "" if self.moved(latest) else ", unchanged since the request"
        raise DeephavenTimeoutError(
            f"Persistent query '{name}' did not reach {goal.wanted} within "
            f"{timeout_seconds:g} s; the controller last reported {last}{unchanged}."
        )


def refused(goal: Goal, name: str, reason: str) -> EnterpriseOperationError:
    """The controller's per-query refusal (``errorSerials``), naming the query."""
    text = clip(first_line(reason), MAX_DETAIL) or "no reason given"
    return EnterpriseOperationError(
        f"The controller refused to {goal.verb} persistent query '{name}': {text}"
    )


# -- batches -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    """One entry of a batch: the query's answer, or the error that ended its operation.

    ``query`` is the answer on success; on failure, the query the identifier named (None
    when it named none).
    """

    identifier: str | int
    query: PqInfo | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def run_batch(
    identifiers: Sequence[str | int],
    resolve: Callable[[str | int], PqInfo],
    operation: Callable[[int], Awaitable[PqInfo]],
    max_concurrent: int,
) -> list[BatchOutcome]:
    """``operation`` on the serial of each identifier, at most ``max_concurrent`` at once.

    Identifiers are resolved first (``resolve`` raises for an unknown one); two naming the
    same query run it once. Every outcome is reported in the order given.
    """
    if max_concurrent < 1:
        raise ValueError("max_concurrent must be at least 1")
    outcomes: list[BatchOutcome | None] = []
    pending: list[tuple[int, str | int, PqInfo]] = []
    first: dict[int, str | int] = {}
    for identifier in identifiers:
        try:
            query = resolve(identifier)
        except DeephavenMcpError as exc:
            outcomes.append(BatchOutcome(identifier, None, str(exc)))
            continue
        if query.serial in first:
            outcomes.append(
                BatchOutcome(
                    identifier,
                    query,
                    f"Persistent query '{query.name}' is already in this request "
                    f"(as {first[query.serial]!r}).",
                )
            )
            continue
        first[query.serial] = identifier
        pending.append((len(outcomes), identifier, query))
        outcomes.append(None)
    slots = asyncio.Semaphore(max_concurrent)

    async def run(identifier: str | int, query: PqInfo) -> BatchOutcome:
        async with slots:
            try:
                return BatchOutcome(identifier, await operation(query.serial))
            except DeephavenMcpError as exc:
                return BatchOutcome(identifier, query, str(exc))
            except Exception as exc:  # one query's bug must not lose the others' answers
                _log.warning(
                    "persistent query '%s' failed: %s", query.name, type(exc).__name__, exc_info=exc
                )
                return BatchOutcome(
                    identifier,
                    query,
                    f"Persistent query '{query.name}' failed unexpectedly "
                    f"({type(exc).__name__}); see the server log.",
                )

    done = await asyncio.gather(*(run(identifier, query) for _, identifier, query in pending))
    for (index, _, _), outcome in zip(pending, done, strict=True):
        outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]
