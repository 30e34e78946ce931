"""Fair use of one session: a bounded number of data and script calls run on it at once.

Without a per-session bound, one agent's stuck scripts would take every work thread and
every other session would wait. A slot is taken on the event loop before the call starts
and given back by the call's thread when it really ends: a call that timed out is still
running on the worker, so it keeps counting against the session until the worker is done.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Final

from deephaven_mcp.errors import LimitExceededError
from deephaven_mcp.runtime.blocking import POLL_INTERVAL

LIMIT_VARIABLE: Final = "DH_MCP_MAX_CALLS_PER_SESSION"


class SessionCalls:
    """How many calls run on one session; thread-safe, since threads give slots back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    @property
    def running(self) -> int:
        """Calls holding a slot now, timed-out ones still running included."""
        with self._lock:
            return self._running

    def try_take(self, limit: int) -> bool:
        """Take a slot if fewer than ``limit`` are taken; never waits."""
        with self._lock:
            if self._running >= limit:
                return False
            self._running += 1
            return True

    def give_back(self) -> None:
        """Free a slot when a call really ends; giving back more than was taken is a bug."""
        with self._lock:
            if self._running <= 0:
                raise RuntimeError("a session call slot was given back twice")
            self._running -= 1

    async def take(self, session: str, limit: int, wait: float) -> None:
        """Take a slot, waiting at most ``wait`` seconds; then refuse with a busy error."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not self.try_take(limit):
            if loop.time() >= deadline:
                raise LimitExceededError(busy_message(session, self.running, limit, wait))
            await asyncio.sleep(POLL_INTERVAL)


def busy_message(session: str, running: int, limit: int, waited: float) -> str:
    """Says what to do now (retry later, another session) and what an operator can change."""
    return (
        f"session '{session}' is busy: {running} calls are running on it (at most {limit} "
        f"at once per session; no slot freed within {waited:g} s). Calls that timed out "
        "keep counting until the worker finishes them. Retry later or use another session; "
        f"the operator can raise the limit with {LIMIT_VARIABLE}"
    )
