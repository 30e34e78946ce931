"""Call policy of a session: code never re-runs after a reconnect, and calls are rationed.

These tests use the smallest seam ``ManagedSession`` has: a subclass whose ``_open`` hands
out opaque client tokens and whose liveness probe says what the test wants. The calls
themselves are plain functions that count how often they run; pydeephaven is not involved.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from pydeephaven import Session

from deephaven_mcp.clients.scripts import ScriptOutcome
from deephaven_mcp.errors import (
    DeephavenTimeoutError,
    LimitExceededError,
    SessionUnavailableError,
)
from deephaven_mcp.model.requests import TableRead
from deephaven_mcp.model.timeouts import Timeouts
from deephaven_mcp.resource_manager import ManagedSession, SessionId
from deephaven_mcp.resource_manager.session_calls import SessionCalls
from deephaven_mcp.runtime.blocking import (
    MAX_WORK_THREADS,
    WORK_LANE,
    Lane,
    call_blocking,
    call_blocking_owned,
)
from deephaven_mcp.systems import _tables

LOST = "cannot run: connection reset by peer"


class TokenSession(ManagedSession):
    """Clients are numbered tokens; ``worker_alive`` is what the liveness probe reports."""

    def __init__(self, timeouts: Timeouts | None = None, language: str = "python") -> None:
        super().__init__(SessionId.community("config", "seam"), language, timeouts or Timeouts())
        self.opened = 0
        self.closed = 0
        self.worker_alive = False

    async def _open(self) -> Session:
        self.opened += 1
        return cast(Session, f"client-{self.opened}")  # an opaque token, never used as a Session

    async def _alive(self, client: Session) -> bool:
        return self.worker_alive

    async def _close_client(self, client: Session) -> None:
        self.closed += 1


class FailsOnce:
    """A call that loses the connection the first time and succeeds afterwards."""

    def __init__(self) -> None:
        self.clients: list[object] = []

    def __call__(self, client: Session) -> str:
        self.clients.append(client)
        if len(self.clients) == 1:
            raise SessionUnavailableError(LOST)
        return f"done on {client}"


async def test_code_is_never_run_again_after_a_lost_connection() -> None:
    session = TokenSession()
    script = FailsOnce()
    with pytest.raises(SessionUnavailableError) as caught:
        await session.run("Running the script", script, 5, retry=False)
    assert script.clients == ["client-1"]
    message = str(caught.value)
    assert message.startswith(LOST)
    assert "'Running the script', which was not retried because it may already have run" in message
    # The broken client was dropped; the next call reconnects instead of failing again.
    assert session.closed == 1
    assert await session.run("Running the script", script, 5, retry=False) == "done on client-2"
    assert script.clients == ["client-1", "client-2"]


async def test_a_read_is_retried_once_on_a_new_connection() -> None:
    session = TokenSession()
    read = FailsOnce()
    assert await session.run("Listing tables", read, 5, retry=True) == "done on client-2"
    assert read.clients == ["client-1", "client-2"]
    assert (session.opened, session.closed) == (2, 1)


async def test_a_read_that_fails_twice_is_not_retried_a_second_time() -> None:
    session = TokenSession()
    clients: list[object] = []

    def always_lost(client: Session) -> None:
        clients.append(client)
        raise SessionUnavailableError(LOST)

    with pytest.raises(SessionUnavailableError, match=LOST):
        await session.run("Listing tables", always_lost, 5, retry=True)
    assert clients == ["client-1", "client-2"]


async def test_an_error_on_a_live_worker_is_not_retried_even_for_reads() -> None:
    session = TokenSession()
    session.worker_alive = True
    read = FailsOnce()
    with pytest.raises(SessionUnavailableError, match=f"^{LOST}$"):
        await session.run("Listing tables", read, 5, retry=True)
    assert read.clients == ["client-1"]
    assert session.closed == 0


def test_every_caller_must_choose_whether_a_call_may_be_retried() -> None:
    parameter = inspect.signature(ManagedSession.run).parameters["retry"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is inspect.Parameter.empty


class RecordingSession(TokenSession):
    """Records the policy each call asks for, then runs nothing."""

    def __init__(self, language: str = "python") -> None:
        super().__init__(language=language)
        self.policies: list[tuple[str, bool, bool]] = []

    async def run(
        self, action: str, fn: Any, timeout: float, *, retry: bool, control: bool = False
    ) -> Any:
        self.policies.append((action, retry, control))
        if action == "Running the script":
            return ScriptOutcome(stdout=None, stderr=None, tables=[], tables_truncated=False)
        return []


async def test_scripts_and_pip_list_run_code_so_they_are_never_retried() -> None:
    session = RecordingSession()
    await _tables.run_script(session, Timeouts(), "x = 1")
    await _tables.pip_packages(session, "community:config:seam", Timeouts())
    assert session.policies == [
        ("Running the script", False, False),
        ("Listing pip packages", False, False),
    ]


async def test_reads_are_retried() -> None:
    session = RecordingSession()
    timeouts = Timeouts()
    await _tables.table_names(session, "community:config:seam", timeouts)
    await _tables.table_slice(
        session, timeouts, TableRead("t", max_rows=10, fmt="csv", max_bytes=1 << 20)
    )
    assert [(retry, control) for _action, retry, control in session.policies] == [
        (True, False),
        (True, False),
    ]


# -- per-session call limit ---------------------------------------------------------------


def _blocker(gate: threading.Event, started: threading.Semaphore) -> Callable[[Session], str]:
    def hold(client: Session) -> str:
        started.release()
        gate.wait(30)
        return "released"

    return hold


async def _wait_started(started: threading.Semaphore, count: int) -> None:
    for _ in range(count):
        assert await asyncio.to_thread(started.acquire, True, 10)


async def test_a_busy_session_refuses_after_a_bounded_wait_and_control_calls_still_run() -> None:
    limit = 2
    session = TokenSession(Timeouts(session_busy=0.3, max_calls_per_session=limit))
    gate, started = threading.Event(), threading.Semaphore(0)
    hold = _blocker(gate, started)
    holders = [
        asyncio.create_task(session.run("Running the script", hold, 30, retry=False))
        for _ in range(limit)
    ]
    try:
        await _wait_started(started, limit)
        began = time.monotonic()
        with pytest.raises(LimitExceededError) as caught:
            await session.run("Listing tables", lambda _c: "never", 30, retry=True)
        assert 0.25 <= time.monotonic() - began < 3
        message = str(caught.value)
        assert "session 'community:config:seam' is busy: 2 calls are running on it" in message
        assert "at most 2 at once per session" in message
        assert "DH_MCP_MAX_CALLS_PER_SESSION" in message
        # A control call takes no session slot.
        answer = await session.run("Reading worker information", str, 5, retry=True, control=True)
        assert answer == "client-1"
    finally:
        gate.set()
    assert await asyncio.gather(*holders) == ["released", "released"]
    assert session.calls.running == 0
    assert (
        await session.run("Listing tables", lambda _c: "free again", 5, retry=True) == "free again"
    )


async def test_a_call_that_timed_out_keeps_its_slot_until_its_thread_ends() -> None:
    session = TokenSession(Timeouts(session_busy=0.2, max_calls_per_session=1))
    gate, started = threading.Event(), threading.Semaphore(0)
    try:
        with pytest.raises(DeephavenTimeoutError, match=r"timed out after 0\.2 s"):
            await session.run("Running the script", _blocker(gate, started), 0.2, retry=False)
        # The worker is still running it, so the session is still busy.
        assert session.calls.running == 1
        with pytest.raises(LimitExceededError, match="1 calls are running"):
            await session.run("Listing tables", lambda _c: "never", 5, retry=True)
    finally:
        gate.set()
    await _until(lambda: session.calls.running == 0)
    assert await session.run("Listing tables", lambda _c: "ok", 5, retry=True) == "ok"


async def test_a_cancelled_wait_gives_nothing_back_twice() -> None:
    calls = SessionCalls()
    assert calls.try_take(1)
    waiter = asyncio.create_task(calls.take("s", 1, 30))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert calls.running == 1
    calls.give_back()
    with pytest.raises(RuntimeError, match="given back twice"):
        calls.give_back()


async def test_sessions_are_counted_separately() -> None:
    timeouts = Timeouts(session_busy=0.1, max_calls_per_session=1)
    first, second = TokenSession(timeouts), TokenSession(timeouts)
    gate, started = threading.Event(), threading.Semaphore(0)
    holder = asyncio.create_task(first.run("Running", _blocker(gate, started), 30, retry=False))
    try:
        await _wait_started(started, 1)
        assert await second.run("Listing tables", lambda _c: "ok", 5, retry=True) == "ok"
    finally:
        gate.set()
    assert await holder == "released"


# -- thread lanes ---------------------------------------------------------------------------


async def test_on_exit_runs_once_when_no_thread_could_start() -> None:
    lane = Lane("test", 1)
    assert lane.try_take()
    exits: list[int] = []
    with pytest.raises(DeephavenTimeoutError, match="waiting for a free worker thread"):
        await call_blocking_owned(
            "Waiting", 0.1, lambda: None, lane=lane, on_exit=lambda: exits.append(1)
        )
    assert exits == [1]
    lane.give_back()


async def test_control_calls_answer_while_every_work_thread_is_stuck() -> None:
    gate = threading.Event()
    started = threading.Semaphore(0)
    stuck = [
        asyncio.create_task(
            call_blocking_owned("Stuck", 30, _wait_then_count(gate, started), lane=WORK_LANE)
        )
        for _ in range(MAX_WORK_THREADS)
    ]
    try:
        await _wait_started(started, MAX_WORK_THREADS)
        with pytest.raises(DeephavenTimeoutError, match="waiting for a free worker thread"):
            await call_blocking_owned("One more", 0.2, lambda: None, lane=WORK_LANE)
        began = time.monotonic()
        assert await call_blocking("Listing sessions", 5, lambda: "answered") == "answered"
        assert time.monotonic() - began < 1
    finally:
        gate.set()
    assert await asyncio.gather(*stuck) == [1] * MAX_WORK_THREADS
    await _until(_no_work_threads)


def _wait_then_count(gate: threading.Event, started: threading.Semaphore) -> Callable[[], int]:
    def run() -> int:
        started.release()
        gate.wait(30)
        return 1

    return run


def _no_work_threads() -> bool:
    return not any(thread.name == "dh-work" for thread in threading.enumerate())


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _no_thread_outlives_a_test() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 10
    while not _no_work_threads():
        assert time.monotonic() < deadline, "a work thread outlived its test"
        time.sleep(0.02)
