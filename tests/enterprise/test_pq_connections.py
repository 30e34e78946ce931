"""A cached persistent-query session is checked off the event loop, within a deadline, and
never through the system's connection (a worker's answer must not drop it)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, cast

import pytest

from deephaven_mcp.enterprise import _sessions
from deephaven_mcp.enterprise._connection import EnterpriseConnection
from deephaven_mcp.enterprise.backend import WorkerSession


class _Connection:
    """No EnterpriseConnection: checking a session must not touch it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the connection was used ({name})")


class _HangingSession:
    """``is_alive`` that blocks like an RPC to a wedged worker (no deadline)."""

    is_connected = True

    def __init__(self) -> None:
        self.release = threading.Event()

    @property
    def is_alive(self) -> bool:
        self.release.wait(30)
        return True


def _worker(session: object) -> WorkerSession:
    return WorkerSession(
        session=cast(Any, session),
        serial=7,
        name="q",
        programming_language="Python",
        owns_query=False,
        process_info_id="p1",
    )


async def test_a_wedged_session_is_judged_dead_without_blocking_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sessions, "ALIVE_CHECK_SECONDS", 0.2)
    connections = _sessions.PqConnections(cast(EnterpriseConnection, _Connection()))
    hanging = _HangingSession()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        alive = await connections._alive(_worker(hanging))
    finally:
        ticker.cancel()
        hanging.release.set()
    assert alive is False
    assert time.monotonic() - started < 2
    assert ticks > 5  # the loop kept running while the check was stuck


class _Answering:
    is_connected = True
    is_alive = True


class _Closed:
    is_connected = False

    @property
    def is_alive(self) -> bool:
        raise AssertionError("a closed session is not asked")


async def test_a_live_session_is_reused_and_a_closed_one_is_not() -> None:
    connections = _sessions.PqConnections(cast(EnterpriseConnection, _Connection()))
    assert await connections._alive(_worker(_Answering())) is True
    assert await connections._alive(_worker(_Closed())) is False
