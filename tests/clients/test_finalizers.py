"""pydeephaven finalizers run on our own thread, never inside a garbage-collecting gRPC thread."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import pytest
from pydeephaven import Session

from deephaven_mcp.clients.finalizers import defer_pydeephaven_finalizers, pending_finalizers
from tests._workers import RunningWorker

pytestmark = pytest.mark.integration


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
        deadline = time.monotonic() + 10
        while (pending_finalizers() or not released_on) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert released_on == ["dh-finalizers"]
        # The session still works afterwards.
        assert session.empty_table(2).to_arrow().num_rows == 2
    finally:
        session.close()
