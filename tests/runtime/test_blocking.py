"""Blocking calls run in daemon threads with timeouts and never leak what they return late."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from deephaven_mcp.errors import DeephavenTimeoutError
from deephaven_mcp.runtime.blocking import _abandon, call_blocking, call_blocking_owned


async def test_result_and_exception_pass_through() -> None:
    assert await call_blocking("adding", 5, lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        await call_blocking("dividing", 5, lambda: 1 / 0)


async def test_timeout_is_a_clear_error_and_the_loop_stays_free() -> None:
    started = time.monotonic()
    with pytest.raises(DeephavenTimeoutError, match=r"Sleeping timed out after 0\.2 s"):
        await call_blocking("Sleeping", 0.2, time.sleep, 2)
    assert time.monotonic() - started < 1.5


async def test_a_late_result_is_cleaned_up() -> None:
    released = threading.Event()

    def slow_open() -> str:
        time.sleep(0.4)
        return "resource"

    with pytest.raises(DeephavenTimeoutError):
        await call_blocking_owned("Opening", 0.1, slow_open, lambda _r: released.set())
    assert await asyncio.to_thread(released.wait, 5)


async def test_a_result_that_arrived_but_was_never_taken_is_released() -> None:
    """The caller was cancelled after the result landed but before it resumed."""
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_result("resource")
    released = threading.Event()
    _abandon(future, threading.Event(), lambda _r: released.set())
    assert await asyncio.to_thread(released.wait, 5)


def test_a_stuck_call_does_not_keep_the_process_alive() -> None:
    code = (
        "import asyncio, time\n"
        "from deephaven_mcp.runtime.blocking import call_blocking\n"
        "async def main():\n"
        "    try:\n"
        "        await call_blocking('hang', 0.2, time.sleep, 600)\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__)\n"
        "asyncio.run(main())\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "DeephavenTimeoutError"
    assert time.monotonic() - started < 30
