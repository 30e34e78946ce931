"""Persistent query management through EnterpriseSystem and the fake controller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import get_args

import pytest

from deephaven_mcp.config.models import EnterpriseAgentSettable
from deephaven_mcp.enterprise import (
    EnterpriseOperationError,
    EnterpriseSystem,
    PqChanges,
    QueryRequest,
    Schedule,
    restart_users_names,
)
from deephaven_mcp.errors import (
    DeephavenTimeoutError,
    InvalidArgumentError,
    NotFoundError,
    SessionUnavailableError,
)
from tests.enterprise.conftest import open_system
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.enterprise.test_sessions import people_rows


@pytest.fixture
async def permissive(fake: FakeEnterpriseBackend) -> AsyncIterator[EnterpriseSystem]:
    """A system whose operator lets callers choose every launch setting (agent_may_set)."""
    every = {"agent_may_set": list(get_args(EnterpriseAgentSettable))}
    async with open_system(fake, agent_limits=every) as enterprise:
        yield enterprise


async def test_create_then_details_by_name_serial_and_numeric_string(
    permissive: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    system = permissive
    new = await system.pq_create(
        "etl_job",
        QueryRequest(
            heap_size_gb=6,
            programming_language="python",
            engine="EngineX",
            script_body="x = 1",
            schedule={"type": "manual"},
        ),
        _no_files,
    )
    created = new.info
    assert (created.name, created.state, created.is_running) == ("etl_job", "UNINITIALIZED", False)
    assert new.starts_now is False and new.schedule.type == "manual"
    assert created.heap_size_gb == 6 and created.engine == "EngineX"
    assert created.programming_language == "Python"
    assert created.owner == "alice"
    for identifier in ("etl_job", created.serial, str(created.serial)):
        assert (await system.pq_details(identifier)).serial == created.serial
    assert [query.serial for query in await system.pq_list()] == [created.serial]


async def test_create_validation(permissive: EnterpriseSystem, fake: FakeEnterpriseBackend) -> None:
    system = permissive
    script = QueryRequest(heap_size_gb=1, script_body="x = 1")
    with pytest.raises(InvalidArgumentError, match="heap_size_gb is required"):
        await system.pq_create("job", QueryRequest(script_body="x = 1"), _no_files)
    with pytest.raises(InvalidArgumentError):
        await system.pq_create("bad name!", script, _no_files)
    fake.add_existing_pq("taken")
    with pytest.raises(InvalidArgumentError, match="already exists"):
        await system.pq_create("taken", script, _no_files)
    with pytest.raises(InvalidArgumentError, match="a Script query runs a script"):
        await system.pq_create("empty", QueryRequest(heap_size_gb=1), _no_files)
    with pytest.raises(InvalidArgumentError, match=r"'Merge' is not offered.*RunAndDone, Script"):
        await system.pq_create(
            "merge", QueryRequest(heap_size_gb=1, configuration_type="Merge"), _no_files
        )
    with pytest.raises(InvalidArgumentError, match="either script_body or script_path"):
        await system.pq_create(
            "both", QueryRequest(heap_size_gb=1, script_body="x", script_path="/a.py"), _no_files
        )
    with pytest.raises(InvalidArgumentError, match="needs start_time and stop_time"):
        await system.pq_create(
            "daily",
            QueryRequest(heap_size_gb=1, script_body="x", schedule={"type": "daily"}),
            _no_files,
        )
    assert not any(op == "add_query" for op, _ in fake.calls)


async def _no_files(path: str) -> str:
    raise AssertionError(f"no script file should be read here ({path})")


async def test_unknown_identifiers(system: EnterpriseSystem) -> None:
    with pytest.raises(NotFoundError):
        await system.pq_details("missing")
    with pytest.raises(NotFoundError):
        await system.pq_details(424242)
    with pytest.raises(InvalidArgumentError):
        await system.pq_details(True)


async def test_start_wait_gives_a_usable_session(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, dh_worker: object
) -> None:
    serial = fake.add_existing_pq("live_calc")
    started = await system.pq_start("live_calc", wait=True, timeout_seconds=30)
    assert started.is_running and started.state == "RUNNING"
    assert (started.worker_host, started.worker_port) == (fake.host, fake.port)
    session = await system.get_session("live_calc")
    assert await asyncio.to_thread(people_rows, session) == 5
    stopped = await system.pq_stop(serial, wait=True, timeout_seconds=30)
    assert stopped.state == "STOPPED" and stopped.is_terminal
    assert not session.is_alive  # our connection to the stopped worker was closed
    with pytest.raises(SessionUnavailableError):
        await system.get_session("live_calc")


async def test_start_without_wait_returns_immediately(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.transition_delay = 1.0
    fake.add_existing_pq("slow")
    started = await system.pq_start("slow", wait=False)
    assert started.state == "INITIALIZING"
    for _ in range(50):
        if (await system.pq_details("slow")).is_running:
            break
        await asyncio.sleep(0.1)
    assert (await system.pq_details("slow")).is_running


async def test_start_failure_reports_the_state_and_reason(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("broken", fail_on_start=True)
    with pytest.raises(EnterpriseOperationError, match="FAILED: NameError"):
        await system.pq_start("broken", timeout_seconds=30)
    details = await system.pq_details("broken")
    assert details.state == "FAILED" and details.num_failures == 1


async def test_start_timeout(system: EnterpriseSystem, fake: FakeEnterpriseBackend) -> None:
    fake.add_existing_pq("sluggish", hangs=True)
    with pytest.raises(
        DeephavenTimeoutError,
        match=r"'sluggish' did not reach RUNNING within 1 s; the controller last reported "
        r"INITIALIZING at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\.$",
    ):
        await system.pq_start("sluggish", wait=True, timeout_seconds=1)
    with pytest.raises(InvalidArgumentError):
        await system.pq_start("sluggish", timeout_seconds=0)


async def test_restart(system: EnterpriseSystem, fake: FakeEnterpriseBackend) -> None:
    serial = fake.add_existing_pq("svc", running=True)
    before = (await system.pq_details(serial)).process_info_id
    restarted = await system.pq_restart("svc", timeout_seconds=30)  # waits by default
    assert restarted.serial == serial and restarted.is_running
    assert restarted.process_info_id != before  # a new run, not the old one's state
    requested = await system.pq_restart("svc", wait=False)
    assert requested.state == "INITIALIZING"
    for _ in range(50):
        latest = await system.pq_details(serial)
        if latest.is_running:
            break
        await asyncio.sleep(0.1)
    assert latest.is_running and latest.process_info_id != restarted.process_info_id


async def test_modify(permissive: EnterpriseSystem, fake: FakeEnterpriseBackend) -> None:
    system = permissive
    created = (
        await system.pq_create(
            "report",
            QueryRequest(heap_size_gb=2, script_body="x = 1", schedule={"type": "manual"}),
            _no_files,
        )
    ).info
    with pytest.raises(InvalidArgumentError, match="Nothing to modify"):
        await system.pq_modify("report", PqChanges(), _no_files)
    with pytest.raises(InvalidArgumentError, match="script_body or script_path"):
        await system.pq_modify(
            "report", PqChanges(script_body="x = 1", script_path="a.py"), _no_files
        )
    with pytest.raises(InvalidArgumentError):
        await system.pq_modify("report", PqChanges(heap_size_gb=-2), _no_files)
    with pytest.raises(InvalidArgumentError, match="RU_ADMIN"):
        await system.pq_modify("report", PqChanges(restart_users="EVERYONE"), _no_files)
    modified = await system.pq_modify(
        created.serial,
        PqChanges(
            name="daily_report",
            heap_size_gb=12,
            script_body="print('hi')",
            restart_users="RU_ADMIN_AND_VIEWERS",
            schedule=Schedule(type="daily", start_time="01:00:00", stop_time="01:00:01"),
        ),
        _no_files,
    )
    assert modified.name == "daily_report" and modified.heap_size_gb == 12
    assert modified.config_version == created.config_version + 1
    assert modified.script_code == "print('hi')"
    assert modified.restart_users == "RU_ADMIN_AND_VIEWERS"
    assert modified.state == "UNINITIALIZED"  # restart=False leaves it alone
    assert "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerDaily" in modified.schedule
    restarted = await system.pq_modify(
        "daily_report", PqChanges(enabled=True), _no_files, restart=True
    )
    assert restarted.state in ("INITIALIZING", "RUNNING")
    assert "RU_ADMIN_AND_VIEWERS" in restart_users_names()


async def test_delete(system: EnterpriseSystem, fake: FakeEnterpriseBackend) -> None:
    serial = fake.add_existing_pq("old", running=True)
    await system.get_session("old")
    deleted = await system.pq_delete(serial)
    assert deleted.name == "old"
    with pytest.raises(NotFoundError):
        await system.pq_details(serial)
    with pytest.raises(NotFoundError):
        await system.pq_delete("old")
    # deleting the PQ of a worker we created also ends that session
    await system.create_session("mine")
    await system.pq_delete("mine")
    assert await system.list_sessions(attempt_to_connect=True) == []
    await system.create_session("mine")  # the slot was freed


async def test_controller_errors_become_readable_errors(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("svc")
    fake.fail_next["restart_query"] = RuntimeError("Query 'svc' may not be restarted by alice")
    with pytest.raises(EnterpriseOperationError, match="may not be restarted"):
        await system.pq_restart("svc")


@pytest.mark.parametrize("wait", [True, False])
async def test_a_refused_start_or_stop_is_an_error_not_requested(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, wait: bool
) -> None:
    """coreplus raises RuntimeError for refusals ("Should authenticate first.", auth)."""
    fake.add_existing_pq("svc")
    fake.fail_next["start_query"] = RuntimeError("Should authenticate first.")
    with pytest.raises(EnterpriseOperationError, match="Should authenticate first"):
        await system.pq_start("svc", wait=wait, timeout_seconds=5)
    fake.fail_next["stop_query"] = RuntimeError("Query 'svc' may not be stopped by alice")
    with pytest.raises(EnterpriseOperationError, match="may not be stopped by alice"):
        await system.pq_stop("svc", wait=wait, timeout_seconds=5)


async def test_without_wait_the_answer_is_the_new_state(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    """Not the state from before the call: the controller's next published state."""
    fake.add_existing_pq("svc")
    started = await system.pq_start("svc", wait=False)
    assert started.state == "INITIALIZING"


async def test_pq_act_does_each_verb_to_one_query(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    """One method for the verbs pq_batch takes, as pq_start/pq_stop/pq_restart/pq_delete."""
    serial = fake.add_existing_pq("svc")
    started = await system.pq_act("start", "svc", timeout_seconds=30)
    assert started.serial == serial and started.is_running
    assert (await system.pq_act("restart", serial, timeout_seconds=30)).is_running
    assert (await system.pq_act("stop", "svc", timeout_seconds=30)).state == "STOPPED"
    with pytest.raises(InvalidArgumentError):
        await system.pq_act("start", "svc", timeout_seconds=0)
    assert (await system.pq_act("delete", "svc")).serial == serial
    with pytest.raises(NotFoundError):
        await system.pq_details(serial)
