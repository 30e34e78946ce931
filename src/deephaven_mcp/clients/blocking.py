"""Run blocking client calls in a dedicated thread pool, each with a timeout.

pydeephaven and the Enterprise client are synchronous and gRPC calls can hang on a dead
worker. Running them here keeps the event loop free, and a timeout turns a hang into a
clear error. A timed-out call keeps its thread until gRPC gives up; the pool is sized so a
few stuck calls cannot starve the others, and it is separate from asyncio's default pool.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, ParamSpec, TypeVar

from deephaven_mcp._errors import DeephavenTimeoutError

P = ParamSpec("P")
T = TypeVar("T")

MAX_BLOCKING_THREADS: Final = 32

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=MAX_BLOCKING_THREADS, thread_name_prefix="dh-blocking"
        )
    return _executor


async def call_blocking(
    action: str, timeout: float, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``fn(*args, **kwargs)`` in the pool; raise DeephavenTimeoutError after ``timeout``."""
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(_pool(), functools.partial(fn, *args, **kwargs))
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise DeephavenTimeoutError(f"{action} timed out after {timeout:g} s") from None
