"""Run blocking coreplus / pydeephaven calls in threads, each bounded by a timeout.

A thread cannot be killed, so a call that times out keeps running; when it finally returns
a resource (a worker session), ``cleanup`` releases it so nothing leaks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final, TypeVar

from deephaven_mcp._errors import DeephavenTimeoutError

T = TypeVar("T")

_log = logging.getLogger(__name__)

MAX_THREADS: Final = 16

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="dh-enterprise")
    return _executor


def _release_late(future: Future[T], cleanup: Callable[[T], None]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    result = future.result()

    def run() -> None:
        try:
            cleanup(result)
        except Exception:
            _log.warning("Releasing the result of a timed-out call failed", exc_info=True)

    _pool().submit(run)


async def run_blocking(
    action: str,
    timeout: float,
    fn: Callable[[], T],
    cleanup: Callable[[T], None] | None = None,
) -> T:
    """``fn()`` in the pool; DeephavenTimeoutError after ``timeout`` seconds."""
    future: Future[T] = _pool().submit(fn)
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
    except TimeoutError:
        if cleanup is not None:
            future.add_done_callback(lambda done: _release_late(done, cleanup))
        raise DeephavenTimeoutError(f"{action} timed out after {timeout:g} s") from None
    except asyncio.CancelledError:
        if cleanup is not None:
            future.add_done_callback(lambda done: _release_late(done, cleanup))
        raise


def submit(fn: Callable[[], object]) -> None:
    """Fire-and-forget cleanup (closing a session nobody waits for); failures are logged."""

    def run() -> None:
        try:
            fn()
        except Exception:
            _log.debug("Background cleanup failed", exc_info=True)

    _pool().submit(run)
