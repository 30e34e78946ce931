"""Keep pydeephaven's finalizers from making RPCs inside the garbage collector.

pydeephaven releases a ``Table`` (and closes a ``Session``) in ``__del__``. When the cyclic
garbage collector happens to run on one of gRPC's own threads, that RPC waits on the very
channel thread that is running it and the channel deadlocks; every later call on that
session hangs. Our code releases what it creates explicitly, but objects kept alive by an
exception's traceback still reach the collector. :func:`defer_pydeephaven_finalizers`
makes both finalizers hand their work to one daemon thread instead. It is called where
pydeephaven comes in (:mod:`deephaven_mcp.clients.community` and the enterprise adapter
when they load, the launch readiness probe), so a server that never connects never
imports pydeephaven.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from pydeephaven import Session
from pydeephaven.table import Table

_log = logging.getLogger(__name__)

_work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_install_lock = threading.Lock()
_installed = False


def _drain() -> None:
    while True:
        job = _work.get()
        try:
            job()
        except Exception as exc:  # a finalizer must never take the thread down
            _log.debug("deferred pydeephaven cleanup failed: %s", type(exc).__name__)


def _submit(job: Callable[[], None]) -> None:
    # Never start a thread here: a finalizer can run while the interpreter shuts down,
    # when starting a thread blocks forever. Queue the job; if the worker thread is gone
    # (process exiting), the job is simply dropped.
    _work.put(job)


def _make_deferred(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def deferred(self: Any) -> None:
        # Keeping ``self`` referenced from the job resurrects it until the job has run.
        _submit(lambda: original(self))

    return deferred


def defer_pydeephaven_finalizers() -> None:
    """Install the deferred finalizers once per process (idempotent)."""
    global _installed, _thread
    with _install_lock:
        if _installed:
            return
        _thread = threading.Thread(target=_drain, name="dh-finalizers", daemon=True)
        _thread.start()
        Table.__del__ = _make_deferred(Table.__del__)  # type: ignore[method-assign]
        Session.__del__ = _make_deferred(Session.__del__)  # type: ignore[method-assign]
        _installed = True


def pending_finalizers() -> int:
    """How many deferred finalizers have not run yet (for tests and diagnostics)."""
    return _work.qsize()
