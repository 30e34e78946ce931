"""Reserve a slot under a limit before a slow creation starts, so concurrent ones cannot overshoot.

A creation (a community worker launch, an enterprise worker start) takes seconds and awaits
all the way; counting only what already exists would let every concurrent call pass the
check. Each call therefore reserves its name first and holds it until it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError


class Reservations:
    """The names whose creation is under way; they count against the limit like existing ones.

    The check and the reservation are one synchronous step, so on the event loop no other task
    can run between them: no lock is needed, and none can be left waited on when a creation is
    cancelled. The caller evaluates ``exists`` and ``active`` in that same step.
    """

    def __init__(self) -> None:
        self._pending: set[str] = set()

    @contextmanager
    def reserve(
        self,
        name: str,
        limit: int,
        *,
        exists: bool,
        active: int,
        taken: str,
        full: Callable[[int], str],
    ) -> Iterator[None]:
        """Hold a slot for ``name`` while the body runs; it is freed however the body ends.

        ``exists`` says whether ``name`` is in use already and ``active`` how many existing
        things count against ``limit`` (reservations are added here). Refuses with
        ``InvalidArgumentError(taken)`` when the name is in use or reserved, and with
        ``LimitExceededError(full(count))`` when ``count`` (existing + reserved) is at the limit.
        """
        if exists or name in self._pending:
            raise InvalidArgumentError(taken)
        count = active + len(self._pending)
        if count >= limit:
            raise LimitExceededError(full(count))
        self._pending.add(name)
        try:
            yield
        finally:
            self._pending.discard(name)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Hold ``name`` like :meth:`reserve` but under no limit: for what the operator
        started (the demo worker), which must count against the limit without being
        refused by it."""
        self._pending.add(name)
        try:
            yield
        finally:
            self._pending.discard(name)
