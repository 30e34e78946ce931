"""Run one blocking call (subprocess wait, docker SDK, pydeephaven, file I/O) off the event loop.

Every blocking operation in the launchers goes through :func:`run_blocking`, so a hung
daemon or worker turns into a :class:`DeephavenTimeoutError` instead of a frozen server.
A call that times out keeps its thread until the underlying library gives up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from deephaven_mcp._errors import DeephavenTimeoutError

P = ParamSpec("P")
T = TypeVar("T")


async def run_blocking(
    what: str, timeout: float, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``fn(*args, **kwargs)`` in a thread; raise DeephavenTimeoutError after ``timeout``."""
    call = functools.partial(fn, *args, **kwargs)
    try:
        return await asyncio.wait_for(asyncio.to_thread(call), timeout)
    except TimeoutError:
        raise DeephavenTimeoutError(f"{what} timed out after {timeout:g} s") from None
