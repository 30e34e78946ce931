"""Closing a session whose worker is gone leaves nothing running behind it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pydeephaven import Session

from deephaven_mcp.clients.community import close_session
from tests._workers import start_worker

pytestmark = pytest.mark.integration


def test_closing_a_session_of_a_killed_worker_stops_its_keep_alive(tmp_path: Path) -> None:
    """pydeephaven's close fails at its first step when the worker is dead; the session used
    to stay "connected" and its keep-alive timer raised in a thread minutes later."""
    worker = start_worker(tmp_path / "w", table_group=None)
    try:
        session = Session(host=worker.host, port=worker.port)
        timer = session._keep_alive_timer
        assert timer is not None and timer.is_alive()
        worker.kill()
        with pytest.raises(Exception):  # noqa: B017, PT011 - the library's own failure
            session.close()
        assert session.is_connected  # what pydeephaven leaves behind
        close_session(session)
        assert not session.is_connected
        timer.join(5)
        assert not timer.is_alive()
        assert not any(
            t is session._keep_alive_timer and t.is_alive() for t in threading.enumerate()
        )
    finally:
        worker.stop()
