"""Blocking coreplus / pydeephaven calls for the enterprise package (see ``_blocking``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from deephaven_mcp._blocking import call_blocking_owned, run_in_background

T = TypeVar("T")


async def run_blocking(
    action: str,
    timeout: float,
    fn: Callable[[], T],
    cleanup: Callable[[T], None] | None = None,
) -> T:
    """``fn()`` in a thread; DeephavenTimeoutError after ``timeout`` seconds.

    ``cleanup`` releases a resource (a worker session) that ``fn`` returns after we gave up.
    """
    return await call_blocking_owned(action, timeout, fn, cleanup)


def submit(fn: Callable[[], object]) -> None:
    """Fire-and-forget cleanup (closing a session nobody waits for)."""
    run_in_background(fn, "Background enterprise cleanup")
