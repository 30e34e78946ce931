"""Fault isolation (issue 19, item 1): a fault affects what failed, and nothing else.

Only the controller or the auth server failing rebuilds a system's connection, and a rebuild
closes no worker session and deletes no query. A worker's failure concerns its own session,
which is never handed out again and is re-opened on next use. Connecting to a worker is
bounded by ``connection_timeout``. The first tests run the real coreplus client against the
wire harness; the last ones pin the rules on the in-process fake.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from pydeephaven import DHError, Session

from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.enterprise import EnterpriseSystem, SystemUnavailableError
from deephaven_mcp.enterprise.errors import controller_lost
from deephaven_mcp.errors import SessionUnavailableError
from tests.enterprise.conftest import make_config
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.enterprise.test_sessions import people_rows
from tests.enterprise.wire.harness import WireHarness

CONNECT_TIMEOUT = 2


async def read(session: Session) -> int:
    assert session.is_connected  # a closed session must never reach a read
    return await asyncio.to_thread(people_rows, session)


@asynccontextmanager
async def real_system(wire: WireHarness) -> AsyncIterator[EnterpriseSystem]:
    raw = wire.system_config(
        connection_timeout=CONNECT_TIMEOUT,
        session_creation={"max_concurrent_sessions": 4, "defaults": {"heap_size_gb": 1}},
    )
    system = EnterpriseSystem(
        "prod", EnterpriseSystemConfig.model_validate(raw), operation_timeout=30
    )
    try:
        yield system
    finally:
        await system.close()


def removed(wire: WireHarness) -> list[int]:
    return [call.request.serial for call in wire.controller.log.calls("removeQuery")]


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


# -- the real client against the wire harness -----------------------------------------------


async def test_a_rebuilt_connection_keeps_the_created_workers(wire: WireHarness) -> None:
    """Closing the old SessionManager closed every worker session and deleted the workers'
    queries (its controller client still worked: nothing stopped it)."""
    async with real_system(wire) as system:
        for name in ("w1", "w2"):
            await system.create_session(name)
        sessions = [await system.get_session(name) for name in ("w1", "w2")]
        connection = system._connection
        old = connection.handle
        connection.drop()  # what any controller failure leads to
        assert [query.name for query in await system.pq_list()] == ["w1", "w2"]
        assert connection.handle is not old
        for name, session in zip(("w1", "w2"), sessions, strict=True):
            assert await system.get_session(name) is session
            assert await read(session) == 5
        assert removed(wire) == []

        # Both servers restart and forget every login; the client notices when it tries to
        # re-subscribe, and the next call rebuilds.
        subscribes = len(wire.controller.log.calls("subscribe"))
        wire.restart_services()
        await eventually(lambda: len(wire.controller.log.calls("subscribe")) > subscribes)
        assert {query.name for query in await system.pq_list()} == {"w1", "w2"}
        for name, session in zip(("w1", "w2"), sessions, strict=True):
            assert await system.get_session(name) is session
            assert await read(session) == 5
        assert removed(wire) == []
        await system.delete_session("w1")  # deleting still works, through the new login
        assert len(removed(wire)) == 1


async def test_a_refusing_pq_worker_fails_within_the_connect_timeout_alone(
    wire: WireHarness,
) -> None:
    refusing = wire.add_worker_proxy()
    with wire.serving_from(refusing):
        wire.controller.add_query("svc", running=True)
    async with real_system(wire) as system:
        await system.create_session("w1")
        worker_session = await system.get_session("w1")
        handle = system._connection.handle
        refusing.die()
        started = time.monotonic()
        with pytest.raises(SessionUnavailableError, match="the worker is unreachable"):
            await system.get_session("svc")
        assert time.monotonic() - started < CONNECT_TIMEOUT + 2  # not the 30 s operation one
        assert system._connection.handle is handle  # the connection was not rebuilt
        assert await system.get_session("w1") is worker_session
        assert await read(worker_session) == 5
        refusing.revive()
        assert await read(await system.get_session("svc")) == 5
        assert removed(wire) == []


async def test_a_failed_worker_session_is_replaced_never_reused(wire: WireHarness) -> None:
    flaky = wire.add_worker_proxy()
    async with real_system(wire) as system:
        with wire.serving_from(flaky):
            await system.create_session("fragile")
        await system.create_session("steady")
        old = await system.get_session("fragile")
        steady = await system.get_session("steady")
        flaky.die()  # the worker process crashes
        with pytest.raises(DHError):
            await asyncio.to_thread(people_rows, old)
        # What a tool call does when its probe finds the session dead:
        system.release_session("fragile")
        started = time.monotonic()
        with pytest.raises(SessionUnavailableError, match="'fragile'"):
            await system.get_session("fragile")  # the worker is still down
        assert time.monotonic() - started < CONNECT_TIMEOUT + 2
        await eventually(lambda: not old.is_connected)  # closed, though the worker is gone
        flaky.revive()  # a new worker process, which does not know the old session
        fresh = await system.get_session("fragile")
        assert fresh is not old
        assert await read(fresh) == 5
        assert await system.get_session("steady") is steady
        assert await read(steady) == 5
        assert removed(wire) == []
        assert {query.name for query in await system.pq_list()} == {"fragile", "steady"}


# coreplus's controller client pings from a thread every 10 s and waits for an answer; one
# under way when the controller goes down fails once we close the old connection, and that
# thread raises what it cannot retry (a logged traceback in the server, nothing more).
@pytest.mark.filterwarnings(
    r"ignore:(?s)Exception in thread.*deephaven_enterprise/client/controller\.py"
    ":pytest.PytestUnhandledThreadExceptionWarning"
)
async def test_the_controller_down_then_back(wire: WireHarness) -> None:
    async with real_system(wire) as system:
        await system.create_session("w1")
        session = await system.get_session("w1")
        handle = system._connection.handle
        assert handle is not None
        wire.stop_controller()
        # The client notices the stream ending a moment later (the race of a call with that
        # moment is played on the fake below).
        await eventually(lambda: not system.backend.subscribed(handle))
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(SystemUnavailableError, match="OFFLINE"):
                await system.pq_list()
            assert time.monotonic() - started < CONNECT_TIMEOUT + 2
            # A created worker answers without the controller.
            assert (await system.session_info("w1")).session_name == "w1"
            assert await system.get_session("w1") is session
            assert await read(session) == 5
        wire.start_controller()
        assert [query.name for query in await system.pq_list()] == ["w1"]
        assert await read(await system.get_session("w1")) == 5
        assert removed(wire) == []


# -- the rules, on the in-process fake --------------------------------------------------------


class CodedRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(f"rpc failed with {code.name}")
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def _chain(*errors: BaseException) -> BaseException:
    """``errors[0]`` raised from ``errors[1]`` raised from ...; returns the first."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (CodedRpcError(grpc.StatusCode.UNAVAILABLE), True),
        (CodedRpcError(grpc.StatusCode.UNAUTHENTICATED), True),
        (RuntimeError("x"), False),
        (CodedRpcError(grpc.StatusCode.PERMISSION_DENIED), False),
        (_chain(DHError("failed"), CodedRpcError(grpc.StatusCode.UNAVAILABLE)), False),
        (
            _chain(
                RuntimeError("couldn't make a Deephaven Core Session"),
                DHError("failed to get the configuration constants."),
                CodedRpcError(grpc.StatusCode.UNAUTHENTICATED),
            ),
            False,
        ),
    ],
)
def test_only_the_controller_or_auth_server_loses_the_connection(
    error: BaseException, lost: bool
) -> None:
    assert controller_lost(error) is lost


def _opened(fake: FakeEnterpriseBackend) -> int:
    return [op for op, _ in fake.calls].count("open_manager")


async def test_a_subscription_lost_while_reading_the_map_is_rebuilt(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_existing_pq("svc")
    await system.pq_list()
    read = fake.pq_snapshot

    def subscription_ends(manager: Any) -> Any:
        # The map read waits for the re-subscription, then gives up (coreplus's message).
        fake.managers[-1].subscription_stuck = True
        monkeypatch.setattr(fake, "pq_snapshot", read)
        raise RuntimeError("Deadline exceeded waiting for subscription to finish")

    monkeypatch.setattr(fake, "pq_snapshot", subscription_ends)
    assert [query.name for query in await system.pq_list()] == ["svc"]
    assert _opened(fake) == 2


async def test_a_workers_error_keeps_the_connection(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("svc", running=True)
    await system.pq_list()
    fake.fail_next["connect_to_pq"] = _chain(
        RuntimeError("couldn't make a Deephaven Core Session"),
        DHError("failed to get the configuration constants."),
        CodedRpcError(grpc.StatusCode.UNAVAILABLE),
    )
    with pytest.raises(SessionUnavailableError, match="the worker is unreachable"):
        await system.get_session("svc")
    assert _opened(fake) == 1
    await system.get_session("svc")  # the next call connects, on the same connection
    assert _opened(fake) == 1


async def test_a_refused_token_is_tried_once_more_on_a_new_login(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("svc", running=True)
    await system.pq_list()
    fake.fail_next["connect_to_pq"] = CodedRpcError(grpc.StatusCode.UNAUTHENTICATED)
    session = await system.get_session("svc")
    assert session.is_connected
    assert _opened(fake) == 2


async def test_an_expired_login_is_replaced_before_use(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await system.create_session("w1")
    worker_session = await system.get_session("w1")
    fake.managers[-1].login_expired = True
    await system.pq_list()
    assert _opened(fake) == 2
    assert fake.managers[0].closed
    assert await system.get_session("w1") is worker_session  # not the manager's to close
    assert worker_session.is_connected


async def test_a_rebuild_deletes_nothing_and_closing_still_deletes_ours(
    fake: FakeEnterpriseBackend,
) -> None:
    system = EnterpriseSystem("prod", make_config(), fake)
    info = await system.create_session("w1")
    session = await system.get_session("w1")
    system._connection.drop()
    assert [query.name for query in await system.pq_list()] == ["w1"]
    assert ("delete_query", info.serial) not in fake.calls
    assert await system.get_session("w1") is session
    await system.close()
    assert ("delete_query", info.serial) in fake.calls
    assert not session.is_connected


async def test_a_released_worker_session_is_reopened_to_the_same_worker(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    info = await system.create_session("w1")
    old = await system.get_session("w1")
    system.release_session("w1")
    fresh = await system.get_session("w1")
    assert fresh is not old
    assert ("connect_to_pq", info.serial) in fake.calls
    await eventually(lambda: not old.is_connected)
    assert info.serial in fake._pqs  # the worker lives on
    assert await system.get_session("w1") is fresh
    await system.delete_session("w1")  # still ours to delete
    assert info.serial not in fake._pqs


async def test_a_worker_whose_query_is_gone_says_so(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    info = await system.create_session("w1")
    assert info.serial is not None
    fake.delete_query(None, info.serial)  # type: ignore[arg-type]  # auto-deleted, say
    system.release_session("w1")
    with pytest.raises(SessionUnavailableError, match="is gone"):
        await system.get_session("w1")
    assert [s.session_name for s in await system.list_sessions()] == []
