"""Process identity checks that survive PID reuse, and safe termination (blocking helpers).

A process is "the same" as a recorded one only if its PID exists, its start time matches
the recorded start time, and (for workers) its command line carries the recorded marker.
Nothing here ever signals a process that fails those checks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import psutil

from deephaven_mcp.errors import DeephavenTimeoutError

T = TypeVar("T")

# Start times come from /proc (10 ms ticks); both recordings use the same clock.
CREATE_TIME_TOLERANCE: Final = 0.05
_POLL_SECONDS: Final = 0.05


def process_create_time(pid: int) -> float | None:
    """Start time (seconds since the epoch) of a live, non-zombie process, else None."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError):
        return None


def is_alive(pid: int, create_time: float) -> bool:
    """True when ``pid`` is running and is the process that started at ``create_time``."""
    actual = process_create_time(pid)
    return actual is not None and abs(actual - create_time) <= CREATE_TIME_TOLERANCE


def cmdline_has_marker(pid: int, marker: Sequence[str]) -> bool:
    """True when every marker string is one of the process's command-line arguments."""
    if not marker:
        return False
    try:
        cmdline = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return all(item in cmdline for item in marker)


def is_same_process(pid: int, create_time: float, marker: Sequence[str]) -> bool:
    """Whether ``pid`` is still the process we started: same start time and marker."""
    return is_alive(pid, create_time) and cmdline_has_marker(pid, marker)


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal the process group when ``pid`` leads one (our workers do), else the process."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, create_time: float, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if not is_alive(pid, create_time):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate_verified(pid: int, create_time: float, marker: Sequence[str], timeout: float) -> bool:
    """SIGTERM the verified process (group), SIGKILL after ``timeout``; blocking.

    Returns True if the process was ours and is now gone, False if it did not match the
    recorded identity (it was left alone) or was already gone.
    """
    if not is_same_process(pid, create_time, marker):
        return False
    if timeout > 0:
        _signal(pid, signal.SIGTERM)
        if _wait_gone(pid, create_time, timeout):
            return True
    # Re-check right before the hard kill: the PID must still be the same process.
    if is_alive(pid, create_time):
        _signal(pid, signal.SIGKILL)
    _wait_gone(pid, create_time, 10.0)
    return True


# -- starting processes ------------------------------------------------------------------

_Job = tuple[Callable[[], object], "concurrent.futures.Future[object]"]
_jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_spawner: threading.Thread | None = None
_spawner_lock = threading.Lock()


def _serve_jobs() -> None:
    while True:
        job, future = _jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(job())
        except BaseException as exc:  # handed to the waiting caller
            future.set_exception(exc)


def _submit(job: Callable[[], T]) -> concurrent.futures.Future[T]:
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():
            _spawner = threading.Thread(target=_serve_jobs, name="dh-mcp-spawner", daemon=True)
            _spawner.start()
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    _jobs.put((job, future))  # type: ignore[arg-type]
    return future


async def spawn_on_lasting_thread(
    action: str,
    timeout: float,
    start: Callable[[], T],
    *,
    on_abandoned: Callable[[T], None],
) -> T:
    """Run ``start`` (which starts a child process) on one thread that lives as long as the
    server, and wait at most ``timeout`` seconds.

    The kernel's parent-death signal (``PR_SET_PDEATHSIG``, which bwrap's
    ``--die-with-parent`` and the bootstrap use) fires when the *thread* that forked the
    child ends, not the process: a worker started from a short-lived thread (as
    ``call_blocking`` uses) would be killed as soon as that thread finished. If the caller
    stops waiting (timeout, cancellation) after ``start`` succeeded, ``on_abandoned``
    receives its result, so a process nobody will track is not left running.
    """
    future = _submit(start)

    def abandon(done: concurrent.futures.Future[T]) -> None:
        if not done.cancelled() and done.exception() is None:
            on_abandoned(done.result())

    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
    except TimeoutError:
        future.add_done_callback(abandon)
        raise DeephavenTimeoutError(f"{action} took longer than {timeout:g} s") from None
    except asyncio.CancelledError:
        future.add_done_callback(abandon)
        raise
