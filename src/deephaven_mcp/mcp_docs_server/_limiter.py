"""A bounded, fail-fast admission gate for ``docs_chat`` calls.

Every answer costs a provider request, so the number in flight is capped. Callers over
the cap wait in FIFO order, but only briefly and only in a bounded waiting room: a
caller that cannot get a slot in time (or finds the waiting room full) gets a
:class:`ChatBusyError` at once, so a burst turns into clear "retry" answers instead of an
unbounded queue of stalled requests and open connections.

A released slot is handed directly to the oldest waiter, so a newcomer can never jump
the queue. The gate holds no event-loop-bound state between calls (each waiter owns its
future), so one instance can serve callers of successive event loops.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Final

from deephaven_mcp.errors import LimitExceededError

# The waiting room holds this many callers per slot: enough for a burst of a few times
# the cap to drain in turn, small enough that memory and open connections stay bounded.
WAITERS_PER_SLOT: Final = 4


class ChatBusyError(LimitExceededError):
    """No slot became free in time; the caller should retry shortly."""


class ChatLimiter:
    """At most ``limit`` holders at once; up to ``max_waiting`` wait ``timeout`` seconds."""

    def __init__(self, limit: int, timeout: float, max_waiting: int | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.timeout = timeout
        self.max_waiting = limit * WAITERS_PER_SLOT if max_waiting is None else max_waiting
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def active(self) -> int:
        """Slots currently held."""
        return self._active

    @property
    def waiting(self) -> int:
        """Callers currently waiting for a slot."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the body; raises :class:`ChatBusyError` if none comes in time."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    async def acquire(self) -> None:
        """Take a slot, waiting up to ``timeout`` seconds; raise ChatBusyError otherwise."""
        if self._active < self.limit and not self._waiters:
            self._active += 1
            return
        if self.timeout <= 0 or len(self._waiters) >= self.max_waiting:
            raise self._busy()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            # asyncio.wait neither cancels ``waiter`` on timeout nor raises TimeoutError,
            # so whether the slot was handed over is read from ``waiter`` alone.
            await asyncio.wait((waiter,), timeout=self.timeout)
        except BaseException:
            # Cancelled while waiting. A slot handed over meanwhile is ours: pass it on.
            # Otherwise leave the queue and give back nothing, since nothing was taken.
            if waiter.done():
                self.release()
            else:
                self._abandon(waiter)
            raise
        if not waiter.done():
            self._abandon(waiter)
            raise self._busy()
        # Handed a slot (release() kept ``_active`` unchanged on our behalf).

    def release(self) -> None:
        """Give a slot back: to the oldest waiter if there is one, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves over; ``_active`` is unchanged
                return
        if self._active <= 0:
            raise RuntimeError("ChatLimiter.release() called without a held slot")
        self._active -= 1

    def _abandon(self, waiter: asyncio.Future[None]) -> None:
        waiter.cancel()
        with suppress(ValueError):  # cleanup must never fail
            self._waiters.remove(waiter)

    def _busy(self) -> ChatBusyError:
        count = f"{self._active} request{'' if self._active == 1 else 's'}"
        return ChatBusyError(
            f"The documentation assistant is busy ({count} in progress); retry in a few seconds."
        )
