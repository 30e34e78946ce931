"""Enterprise worker sessions: creation limits, parameter resolution, PQs as sessions.

Sessions handed out are real pydeephaven sessions to the test worker, so reading data
through them is a real round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydeephaven import Session

from deephaven_mcp.config.models import EnterpriseCreationDefaults
from deephaven_mcp.enterprise import (
    FALLBACK_HEAP_SIZE_GB,
    EnterpriseOperationError,
    EnterpriseSystem,
    PqSpec,
    WorkerRequest,
)
from deephaven_mcp.enterprise._params import resolve_worker
from deephaven_mcp.errors import (
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    SessionUnavailableError,
)
from tests.enterprise.conftest import make_config, open_system
from tests.enterprise.fake_backend import FakeEnterpriseBackend


def created_specs(fake: FakeEnterpriseBackend) -> list[PqSpec]:
    specs = []
    for op, detail in fake.calls:
        if op == "create_worker":
            assert isinstance(detail, tuple)
            specs.append(detail[0])
    return specs


def people_rows(session: Session) -> int:
    """A real read through the session; the server table is released right away."""
    table = session.open_table("simple_people")
    try:
        return int(table.to_arrow().num_rows)
    finally:
        table.close()


async def test_create_use_and_delete_a_worker(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    info = await system.create_session("analysis")
    assert info.session_id == "enterprise:prod:analysis"
    assert (info.kind, info.programming_language) == ("worker", "Python")
    session = await system.get_session("analysis")
    assert await asyncio.to_thread(people_rows, session) == 5  # real data from the worker
    queries = {query.name: query for query in await system.pq_list()}
    assert queries["analysis"].is_running  # a worker is a temporary PQ
    assert [s.session_id for s in await system.list_sessions()] == ["enterprise:prod:analysis"]
    await system.delete_session("analysis")
    assert "analysis" not in {query.name for query in await system.pq_list()}
    assert not session.is_alive
    with pytest.raises(NotFoundError):
        await system.delete_session("analysis")


@pytest.fixture
async def allowing(fake: FakeEnterpriseBackend) -> AsyncIterator[EnterpriseSystem]:
    """A system whose operator lets callers set auto_delete_timeout and extra_jvm_args."""
    allowed = {"agent_may_set": ["auto_delete_timeout", "extra_jvm_args"]}
    async with open_system(fake, agent_limits=allowed) as system:
        yield system


async def test_generated_name_and_parameter_resolution(
    allowing: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    system = allowing
    info = await system.create_session(
        request=WorkerRequest(auto_delete_timeout=900, extra_jvm_args=["-XX:+UseG1GC"])
    )
    assert info.session_name.startswith("mcp-")
    spec = created_specs(fake)[-1]
    assert spec.name == info.session_name
    assert spec.heap_size_gb == 2  # config default
    assert spec.auto_delete_timeout == 900  # tool argument
    assert spec.extra_jvm_args == ("-XX:+UseG1GC",)
    assert spec.engine is None and spec.server is None  # left to the API default
    await system.create_session("big", WorkerRequest(heap_size_gb=3.5, timeout_seconds=30))
    assert created_specs(fake)[-1].heap_size_gb == 3.5  # tool argument beats config default
    timeout = next(d[1] for op, d in reversed(fake.calls) if op == "create_worker")  # type: ignore[index]
    assert timeout == 30


def test_resolution_order_and_validation() -> None:
    defaults = EnterpriseCreationDefaults(
        heap_size_gb=8,
        programming_language="Groovy",
        engine="DeephavenCommunity",
        admin_groups=["admins"],
        session_arguments={"never_timeout": True},
    )
    resolved = resolve_worker("w", WorkerRequest(programming_language="python"), defaults)
    assert resolved.spec.programming_language == "Python"  # argument, normalised
    assert resolved.spec.heap_size_gb == 8 and resolved.spec.engine == "DeephavenCommunity"
    assert resolved.spec.admin_groups == ("admins",)
    assert resolved.session_arguments == {"never_timeout": True}
    bare = resolve_worker("w", WorkerRequest(), None)
    assert bare.spec.heap_size_gb == FALLBACK_HEAP_SIZE_GB
    assert bare.spec.programming_language is None and bare.timeout_seconds is None
    for bad in (
        WorkerRequest(heap_size_gb=0),
        WorkerRequest(heap_size_gb=float("nan")),
        WorkerRequest(programming_language="Rust"),
        WorkerRequest(auto_delete_timeout=-1),
        WorkerRequest(extra_environment_vars=["NO_EQUALS_SIGN"]),
        WorkerRequest(extra_jvm_args="-Xmx1g"),  # a str is a Sequence[str]: caught at run time
        WorkerRequest(timeout_seconds=-5),
        WorkerRequest(server="  "),
    ):
        with pytest.raises(InvalidArgumentError):
            resolve_worker("w", bad, None)


async def test_invalid_requests_create_nothing(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    with pytest.raises(InvalidArgumentError):
        await system.create_session("bad name with spaces")
    with pytest.raises(InvalidArgumentError):
        await system.create_session("w", WorkerRequest(heap_size_gb=-1))
    assert created_specs(fake) == []


async def test_max_concurrent_sessions_is_atomic(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    results = await asyncio.gather(
        *(system.create_session(f"w{i}") for i in range(4)), return_exceptions=True
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(created) == 2
    assert len(refused) == 2 and all(isinstance(r, LimitExceededError) for r in refused)
    assert len(created_specs(fake)) == 2
    await system.delete_session(created[0].session_name)
    await system.create_session("again")
    with pytest.raises(LimitExceededError):
        await system.create_session("one-too-many")


async def test_duplicate_names_are_refused(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await system.create_session("dup")
    with pytest.raises(InvalidArgumentError, match="already exists"):
        await system.create_session("dup")
    fake.add_existing_pq("nightly")
    with pytest.raises(InvalidArgumentError, match="persistent query"):
        await system.create_session("nightly")


async def test_creation_disabled(fake: FakeEnterpriseBackend) -> None:
    for creation in (None, {"max_concurrent_sessions": 0}):
        system = EnterpriseSystem("prod", make_config(session_creation=creation), fake)
        with pytest.raises(PermissionDeniedError):
            await system.create_session("w")
    assert fake.calls == []


async def test_failed_start_frees_the_slot(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.fail_next["create_worker"] = RuntimeError("Query 'w' is not running. Status: FAILED")
    with pytest.raises(EnterpriseOperationError, match="not running"):
        await system.create_session("w")
    await system.create_session("w")
    await system.create_session("w2")


async def test_running_pq_is_a_session(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    serial = fake.add_existing_pq("analytics", running=True)
    fake.add_existing_pq("stopped_one")
    assert await system.list_sessions() == []  # not connected: nothing is contacted
    sessions = await system.list_sessions(attempt_to_connect=True)
    assert [(s.session_id, s.kind, s.serial) for s in sessions] == [
        ("enterprise:prod:analytics", "persistent_query", serial)
    ]
    session = await system.get_session("analytics")
    assert await asyncio.to_thread(people_rows, session) == 5
    assert await system.get_session("analytics") is session  # reused
    opened = fake.sessions_opened
    fake.set_state(serial, "RUNNING")  # restarted: a new worker process
    fresh = await system.get_session("analytics")
    assert fresh is not session and fake.sessions_opened == opened + 1
    with pytest.raises(SessionUnavailableError, match="UNINITIALIZED"):
        await system.get_session("stopped_one")
    with pytest.raises(NotFoundError):
        await system.get_session("no_such_thing")
    with pytest.raises(InvalidArgumentError, match="pq_stop"):
        await system.delete_session("analytics")
    info = await system.session_info("analytics")
    assert (info.state, info.programming_language) == ("RUNNING", "Python")


async def test_close_deletes_created_workers(fake: FakeEnterpriseBackend) -> None:
    system = EnterpriseSystem("prod", make_config(), fake)
    await system.create_session("temp")
    session = await system.get_session("temp")
    await system.close()
    assert not session.is_alive
    assert all(query.name != "temp" for query in fake.pq_snapshot(None).queries)  # type: ignore[arg-type]
    assert fake.managers[-1].closed


async def test_the_controller_is_not_pinged_per_call(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("analytics", running=True)
    for _ in range(3):
        await system.list_sessions(attempt_to_connect=True)
        await system.get_session("analytics")
        await system.pq_list()
    ops = [op for op, _ in fake.calls]
    assert "ping" not in ops
    assert ops.count("open_manager") == 1 and ops.count("login_password") == 1


@pytest.mark.parametrize("op", ["delete_session", "pq_delete"])
async def test_a_worker_whose_close_fails_still_has_its_query_deleted(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, op: str
) -> None:
    """Issue 10, bug 10: the library skips delete_query when the session close fails."""
    info = await system.create_session("doomed")
    assert info.serial is not None and info.serial in fake._pqs
    fake.fail_next["close_worker"] = RuntimeError("pydeephaven close failed")
    if op == "delete_session":
        await system.delete_session("doomed")
    else:
        await system.pq_delete("doomed")
    assert info.serial not in fake._pqs
    assert ("delete_query", info.serial) in fake.calls


@pytest.mark.parametrize("name", ["Risk: Daily", "Zoë's model"])
async def test_a_query_whose_name_an_id_cannot_carry_is_named_by_serial(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, name: str
) -> None:
    """Issue 10: such names are legal on the server; the id must still parse and work."""
    from deephaven_mcp.resource_manager import SessionId

    serial = fake.add_existing_pq(name, running=True)
    listed = [info.session_id for info in await system.list_sessions(attempt_to_connect=True)]
    assert listed == [f"enterprise:prod:{serial}"]
    assert SessionId.parse(listed[0]).name == str(serial)
    session = await system.get_session(str(serial))
    assert await asyncio.to_thread(people_rows, session) == 5
