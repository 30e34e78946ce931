"""Never close a pydeephaven session while a thread is still using it.

Closing a session shuts its gRPC channel; a call still running on that channel (or one that
timed out on our side but keeps running in its thread) then crashes inside gRPC's C core and
takes the whole server down. Every blocking call holds a lease on its session for as long as
its thread runs, and closing waits until the session is idle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
C = TypeVar("C")

_log = logging.getLogger(__name__)
_cond = threading.Condition()
_active: dict[int, int] = {}


@contextmanager
def leased(client: object) -> Iterator[None]:
    """Mark ``client`` as in use by the current thread for the duration of the block."""
    key = id(client)
    with _cond:
        _active[key] = _active.get(key, 0) + 1
    try:
        yield
    finally:
        with _cond:
            remaining = _active[key] - 1
            if remaining:
                _active[key] = remaining
            else:
                del _active[key]
                _cond.notify_all()


def call_leased(fn: Callable[[C], T], client: C) -> T:
    """``fn(client)`` under a lease (run this in the worker thread)."""
    with leased(client):
        return fn(client)


def wait_until_idle(client: object, timeout: float) -> bool:
    """Block until no thread uses ``client``; False if it is still busy after ``timeout``."""
    key = id(client)
    with _cond:
        return _cond.wait_for(lambda: key not in _active, timeout)


def close_when_idle(client: C, close: Callable[[C], None], timeout: float, what: str) -> None:
    """Close ``client`` once idle; if it stays busy, leave it open (a leak beats a crash)."""
    if wait_until_idle(client, timeout):
        close(client)
    else:
        _log.warning("%s is still in use after %.0f s; leaving it open", what, timeout)
