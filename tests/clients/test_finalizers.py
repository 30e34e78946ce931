"""pydeephaven finalizers run on our own thread, never inside a garbage-collecting gRPC thread.

The tests with a worker are integration tests (the ``dh_worker`` fixture marks them).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydeephaven import Session

from deephaven_mcp.clients import finalizers
from deephaven_mcp.clients.finalizers import defer_pydeephaven_finalizers, pending_finalizers
from tests._workers import RunningWorker


def _wait_for(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while (pending_finalizers() or not done()) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_table_release_is_deferred_to_the_finalizer_thread(
    dh_worker: RunningWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    defer_pydeephaven_finalizers()
    session = Session(host=dh_worker.host, port=dh_worker.port)
    released_on: list[str] = []
    original = Session.release

    def recording_release(self: Session, ticket: Any) -> None:
        released_on.append(threading.current_thread().name)
        original(self, ticket)

    monkeypatch.setattr(Session, "release", recording_release)
    try:
        table = session.open_table("portfolio")
        assert table.schema  # only tables with a schema are released by pydeephaven
        cycle: dict[str, Any] = {"table": table}
        cycle["self"] = cycle  # only the cyclic collector can free it
        del table, cycle
        gc.collect()
        _wait_for(lambda: bool(released_on))
        assert released_on == ["dh-finalizers"]
        # The session still works afterwards.
        assert session.empty_table(2).to_arrow().num_rows == 2
    finally:
        session.close()


def test_session_close_is_deferred_to_the_finalizer_thread(
    dh_worker: RunningWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session's finalizer closes it on our thread, and really closes it.

    ``__del__`` is called here as the collector would call it: with pydeephaven 42.x the
    collector never reaches a connected session (its Arrow Flight client holds the session
    from C++, where the collector cannot see the cycle), but a release that breaks that
    cycle would bring the close RPC into the collector.
    """
    defer_pydeephaven_finalizers()
    closed: list[tuple[str, bool]] = []
    original = Session.close
    session = Session(host=dh_worker.host, port=dh_worker.port)

    def recording_close(self: Session) -> None:
        original(self)
        if self is session:
            closed.append((threading.current_thread().name, self.is_connected))

    monkeypatch.setattr(Session, "close", recording_close)
    assert session.is_connected
    try:
        session.__del__()
        _wait_for(lambda: bool(closed))
        assert closed == [("dh-finalizers", False)]
    finally:
        original(session)


def test_a_class_without_del_is_left_alone_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """If pydeephaven stops using ``__del__``, connecting still works (the contract test fails)."""

    class Finalized:  # stands for a pydeephaven class that moved to weakref.finalize
        pass

    with caplog.at_level(logging.WARNING, logger=finalizers.__name__):
        finalizers._defer(Finalized)
    assert not finalizers.is_deferred(Finalized)
    assert "__del__" not in vars(Finalized)
    assert "Finalized has no __del__" in caplog.text
