"""Keep pydeephaven's finalizers from making RPCs inside the garbage collector.

pydeephaven releases a ``Table`` (and closes a ``Session``) in ``__del__``. When the cyclic
garbage collector happens to run on one of gRPC's own threads, that RPC waits on the very
channel thread that is running it and the channel deadlocks; every later call on that
session hangs. Our code releases what it creates explicitly, but objects kept alive by an
exception's traceback still reach the collector. :func:`defer_pydeephaven_finalizers`
makes both finalizers hand their work to one daemon thread instead. It is called where
pydeephaven comes in (:mod:`deephaven_mcp.clients.community` and the enterprise adapter
when they load), so a server that never connects never imports pydeephaven.

This replaces methods of another package: ``tests/test_dependency_contracts.py`` fails
when an upgrade of pydeephaven moves them (to ``weakref.finalize``, say).
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Final

from pydeephaven import Session
from pydeephaven.table import Table

_log = logging.getLogger(__name__)

FINALIZED_CLASSES: Final[tuple[type, ...]] = (Table, Session)
"""The pydeephaven classes whose ``__del__`` :func:`defer_pydeephaven_finalizers` replaces."""

_work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
_thread: threading.Thread | None = None
_install_lock = threading.Lock()
_installed = False
_deferred: dict[type, Callable[[Any], None]] = {}


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
    @functools.wraps(original)  # ``__wrapped__`` keeps pydeephaven's own finalizer
    def deferred(self: Any) -> None:
        # Keeping ``self`` referenced from the job resurrects it until the job has run.
        _submit(lambda: original(self))

    return deferred


def _defer(cls: type) -> None:
    original = vars(cls).get("__del__")
    if original is None:  # pydeephaven changed how it finalizes: nothing to defer
        _log.warning(
            "pydeephaven's %s has no __del__ any more, so its cleanup is not kept out of the "
            "garbage collector; deephaven_mcp.clients.finalizers needs updating",
            cls.__name__,
        )
        return
    _deferred[cls] = _make_deferred(original)
    setattr(cls, "__del__", _deferred[cls])  # noqa: B010 (typed: cls is any class here)


def defer_pydeephaven_finalizers() -> None:
    """Install the deferred finalizers once per process (idempotent)."""
    global _installed, _thread
    with _install_lock:
        if _installed:
            return
        _thread = threading.Thread(target=_drain, name="dh-finalizers", daemon=True)
        _thread.start()
        for cls in FINALIZED_CLASSES:
            _defer(cls)
        _installed = True


def is_deferred(cls: type) -> bool:
    """Whether ``cls.__del__`` is now this module's deferred finalizer."""
    return cls in _deferred and vars(cls).get("__del__") is _deferred[cls]


def pending_finalizers() -> int:
    """How many deferred finalizers have not run yet (for tests and diagnostics)."""
    return _work.qsize()
