"""The one way this package runs blocking calls: in a daemon thread, with a timeout.

pydeephaven, the Enterprise client, the docker SDK and subprocess waits are synchronous and
can hang on a dead peer. Each call runs in its own daemon thread so the event loop stays
free and a timeout becomes a clear error. A thread cannot be killed, so a timed-out call
keeps running until its library gives up; because the threads are daemons, such a call
never keeps the process alive after the server has shut down (a thread pool would be
joined at exit).

Threads come from two separate lanes, each with a fixed number of slots; a call that finds
its lane full waits for a slot, within its own timeout. ``WORK_LANE`` (``MAX_WORK_THREADS``)
carries the data reads and scripts sessions run for agents; ``CONTROL_LANE``
(``MAX_THREADS``) carries everything else: listing and describing sessions, liveness
probes, connects and closes, Enterprise controller calls, launchers, background cleanup.
A thread holds its slot until it really ends (a timed-out call keeps its slot), so stuck
scripts can fill the work lane but never delay a control call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from deephaven_mcp.errors import DeephavenTimeoutError

P = ParamSpec("P")
T = TypeVar("T")

MAX_THREADS: Final = 32
"""Threads for control calls (see the module docstring)."""
MAX_WORK_THREADS: Final = 32
"""Threads for session data reads and scripts."""
POLL_INTERVAL: Final = 0.01

_log = logging.getLogger(__name__)


class Lane:
    """A fixed number of threads that one kind of call may occupy at once."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._slots = threading.BoundedSemaphore(size)

    def try_take(self) -> bool:
        """Claim a thread without waiting; False when the lane is full."""
        return self._slots.acquire(blocking=False)

    def give_back(self) -> None:
        """Release a thread claimed by :meth:`try_take`."""
        self._slots.release()


CONTROL_LANE: Final = Lane("control", MAX_THREADS)
WORK_LANE: Final = Lane("work", MAX_WORK_THREADS)


def _start(
    fn: Callable[[], T],
    on_done: Callable[[T | None, BaseException | None], None],
    name: str,
    lane: Lane,
    on_exit: Callable[[], None] | None,
) -> None:
    def run() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            try:
                result = fn()
            except BaseException as exc:
                error = exc
            finally:
                # Before the result is delivered, so a caller's next call finds the slot free.
                _exit(on_exit)
            on_done(result, error)
        finally:
            lane.give_back()

    threading.Thread(target=run, name=name, daemon=True).start()


def _exit(on_exit: Callable[[], None] | None) -> None:
    if on_exit is not None:
        try:
            on_exit()
        except Exception:
            _log.warning("releasing a call's reservation failed", exc_info=True)


async def _acquire_slot(
    lane: Lane, loop: asyncio.AbstractEventLoop, deadline: float, action: str
) -> None:
    while not lane.try_take():
        if loop.time() >= deadline:
            raise DeephavenTimeoutError(f"{action} timed out waiting for a free worker thread")
        await asyncio.sleep(POLL_INTERVAL)


async def call_blocking_owned(
    action: str,
    timeout: float,
    fn: Callable[[], T],
    cleanup: Callable[[T], None] | None = None,
    *,
    lane: Lane = CONTROL_LANE,
    on_exit: Callable[[], None] | None = None,
) -> T:
    """Run ``fn()`` in a thread of ``lane``; raise DeephavenTimeoutError after ``timeout`` s.

    If the caller gave up (timeout or cancellation) and ``fn`` later returns a resource,
    ``cleanup(result)`` releases it in that thread, so nothing leaks. ``on_exit()`` runs
    exactly once, when the thread ends (not when the caller stops waiting) or at once if no
    thread was started: callers use it to free a slot they reserved for the call.
    """
    loop = asyncio.get_running_loop()
    try:
        await _acquire_slot(lane, loop, loop.time() + timeout, action)
    except BaseException:
        _exit(on_exit)
        raise
    future: asyncio.Future[T] = loop.create_future()
    abandoned = threading.Event()

    def deliver(result: T | None, error: BaseException | None) -> None:
        if abandoned.is_set():
            if error is None and cleanup is not None:
                _release(cleanup, result)  # type: ignore[arg-type]
            return

        def settle() -> None:
            if abandoned.is_set():  # the caller gave up while this was on its way
                if error is None and cleanup is not None:
                    _release_later(cleanup, result)  # type: ignore[arg-type]
                return
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        # RuntimeError: the loop is gone, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle)

    _start(fn, deliver, f"dh-{lane.name}", lane, on_exit)
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        _abandon(future, abandoned, cleanup)
        raise DeephavenTimeoutError(f"{action} timed out after {timeout:g} s") from None
    except asyncio.CancelledError:
        _abandon(future, abandoned, cleanup)
        raise


def _abandon(
    future: asyncio.Future[T], abandoned: threading.Event, cleanup: Callable[[T], None] | None
) -> None:
    """Stop waiting; a result that already arrived is released, since nobody will take it."""
    abandoned.set()
    if (
        cleanup is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        _release_later(cleanup, future.result())


def _release_later(cleanup: Callable[[T], None], result: T) -> None:
    # On the event loop: the release may block (closing a remote session), so not here.
    run_in_background(functools.partial(_release, cleanup, result), "Releasing a result")


def _release(cleanup: Callable[[T], None], result: T) -> None:
    try:
        cleanup(result)
    except Exception:
        _log.warning("releasing the result of an abandoned call failed", exc_info=True)


async def call_blocking(
    action: str, timeout: float, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``fn(*args, **kwargs)`` in a control-lane thread; raise DeephavenTimeoutError
    after ``timeout``."""
    return await call_blocking_owned(action, timeout, functools.partial(fn, *args, **kwargs))


def run_in_background(fn: Callable[[], object], action: str) -> None:
    """Fire-and-forget cleanup nobody waits for (e.g. closing a stale session); failures are
    logged at DEBUG."""

    def done(_result: object, error: BaseException | None) -> None:
        if error is not None:
            _log.debug("%s failed", action, exc_info=error)

    if not CONTROL_LANE.try_take():
        _log.warning("%s skipped: every worker thread is busy", action)
        return
    _start(fn, done, "dh-background", CONTROL_LANE, None)
