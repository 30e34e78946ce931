"""``agent_limits`` and the bound on caller-supplied waits, on one enterprise system.

Arguments of ``session_enterprise_create``, ``pq_create`` and ``pq_modify`` come from an
agent and are held to the system's limits; ``session_creation.defaults`` are the
operator's and are not. A refusal happens before anything reaches the controller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from deephaven_enterprise.proto import controller_pb2
from fastmcp import Client

from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.enterprise import (
    EnterpriseSystem,
    PqChanges,
    PqSpec,
    QueryRequest,
    WorkerRequest,
)
from deephaven_mcp.errors import InvalidArgumentError, LimitExceededError, PermissionDeniedError
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.enterprise.conftest import make_config
from tests.enterprise.fake_backend import FakeEnterpriseBackend
from tests.enterprise.test_sessions import created_specs
from tests.enterprise.wire.harness import WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

# script_body listed: a Script query needs its script, and these tests create some.
LIMITS = {
    "max_heap_size_gb": 4,
    "allowed_servers": ["Query_1", "Query_2"],
    "agent_may_set": ["script_body"],
}
HEAP_KEY = "enterprise.systems.prod.agent_limits.max_heap_size_gb"
SERVERS_KEY = "enterprise.systems.prod.agent_limits.allowed_servers"
CHANGING_OPS = {"create_worker", "add_query", "modify_query", "start_query", "stop_query"}


def heap_refusal(heap: str, cap: str = "4") -> str:
    return f"heap_size_gb {heap} is above the limit of {cap} GB set by {HEAP_KEY}"


def server_refusal(server: str, allowed: str = "'Query_1', 'Query_2'") -> str:
    return (
        f"server '{server}' is not allowed on 'prod' (allowed: {allowed}); "
        f"the operator sets {SERVERS_KEY}"
    )


async def _no_files(path: str) -> str:
    raise AssertionError(f"no script file should be read here ({path})")


def query(**given: Any) -> QueryRequest:
    """A pq_create request with its script."""
    return QueryRequest(script_body="x = 1", **given)


def changing_calls(fake: FakeEnterpriseBackend) -> list[str]:
    return [op for op, _detail in fake.calls if op in CHANGING_OPS]


def added_specs(fake: FakeEnterpriseBackend) -> list[PqSpec]:
    return [detail for op, detail in fake.calls if op == "add_query" and isinstance(detail, PqSpec)]


def modified(fake: FakeEnterpriseBackend) -> list[PqChanges]:
    return [
        detail[1] for op, detail in fake.calls if op == "modify_query" and isinstance(detail, tuple)
    ]


async def limited_system(
    fake: FakeEnterpriseBackend, limits: dict[str, Any] | None = None, **defaults: Any
) -> EnterpriseSystem:
    creation = {"max_concurrent_sessions": 2, "defaults": {"heap_size_gb": 2, **defaults}}
    config = make_config(agent_limits=limits or LIMITS, session_creation=creation)
    return EnterpriseSystem("prod", config, fake, operation_timeout=30)


@pytest.fixture
async def limited(fake: FakeEnterpriseBackend) -> AsyncIterator[EnterpriseSystem]:
    system = await limited_system(fake)
    yield system
    await system.close()


# -- session_enterprise_create -----------------------------------------------------------------


async def test_session_heap_above_the_cap_is_refused_before_any_contact(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    with pytest.raises(LimitExceededError) as caught:
        await limited.create_session("w", WorkerRequest(heap_size_gb=4.5))
    assert str(caught.value) == heap_refusal("4.5")
    assert fake.calls == []  # not even a login


async def test_session_server_outside_the_list_is_refused(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        await limited.create_session("w", WorkerRequest(server="BigIron"))
    assert str(caught.value) == server_refusal("BigIron")
    with pytest.raises(PermissionDeniedError):  # exact names: no case folding or trimming
        await limited.create_session("w", WorkerRequest(server="query_1"))
    assert fake.calls == []


async def test_session_within_limits_runs_where_asked(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await limited.create_session("w", WorkerRequest(heap_size_gb=4, server="Query_2"))
    spec = created_specs(fake)[-1]
    assert (spec.heap_size_gb, spec.server) == (4.0, "Query_2")


async def test_session_without_server_runs_on_the_first_allowed(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await limited.create_session("w")
    assert created_specs(fake)[-1].server == "Query_1"


async def test_operator_defaults_are_not_limited(fake: FakeEnterpriseBackend) -> None:
    system = await limited_system(fake, heap_size_gb=16, server="Query_9", timeout_seconds=7200)
    try:
        await system.create_session("w")
        spec = created_specs(fake)[-1]
        assert (spec.heap_size_gb, spec.server) == (16.0, "Query_9")
        create = next(detail for op, detail in fake.calls if op == "create_worker")
        assert isinstance(create, tuple) and create[1] == 7200.0
    finally:
        await system.close()


async def test_without_limits_any_heap_and_server_are_passed_on(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await system.create_session("w", WorkerRequest(heap_size_gb=100, server="Anywhere"))
    spec = created_specs(fake)[-1]
    assert (spec.heap_size_gb, spec.server) == (100.0, "Anywhere")
    await system.create_session("v")
    assert created_specs(fake)[-1].server is None  # the controller decides


async def test_an_empty_server_list_allows_no_choice(fake: FakeEnterpriseBackend) -> None:
    system = await limited_system(fake, {"allowed_servers": []})
    try:
        with pytest.raises(PermissionDeniedError) as caught:
            await system.create_session("w", WorkerRequest(server="Query_1"))
        assert str(caught.value) == server_refusal("Query_1", allowed="none")
        await system.create_session("w", WorkerRequest(heap_size_gb=64))  # no heap cap set
        assert created_specs(fake)[-1].server is None
    finally:
        await system.close()


@pytest.mark.parametrize(("timeout", "text"), [(3601, "3601"), (3600.5, "3600.5")])
async def test_session_start_timeout_is_bounded(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, timeout: float, text: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await system.create_session("w", WorkerRequest(timeout_seconds=timeout))
    assert str(caught.value) == f"timeout_seconds must be at most 3600 seconds (got {text})"
    assert fake.calls == []
    await system.create_session("w", WorkerRequest(timeout_seconds=3600))
    assert changing_calls(fake) == ["create_worker"]


# -- pq_create and pq_modify ----------------------------------------------------------------------


async def test_pq_create_is_held_to_the_limits(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    with pytest.raises(LimitExceededError) as caught:
        await limited.pq_create("job", query(heap_size_gb=8), _no_files)
    assert str(caught.value) == heap_refusal("8")
    with pytest.raises(PermissionDeniedError) as denied:
        await limited.pq_create("job", query(heap_size_gb=1, server="BigIron"), _no_files)
    assert str(denied.value) == server_refusal("BigIron")
    assert fake.calls == []

    await limited.pq_create("job", query(heap_size_gb=4), _no_files)
    await limited.pq_create("job2", query(heap_size_gb=1, server="Query_2"), _no_files)
    assert [(spec.heap_size_gb, spec.server) for spec in added_specs(fake)] == [
        (4.0, "Query_1"),
        (1.0, "Query_2"),
    ]


async def test_pq_create_defaults_to_the_configured_server(fake: FakeEnterpriseBackend) -> None:
    system = await limited_system(fake, server="Query_2")
    try:
        await system.pq_create("job", query(heap_size_gb=1), _no_files)
        assert added_specs(fake)[-1].server == "Query_2"
    finally:
        await system.close()


async def test_pq_modify_is_held_to_the_limits(
    limited: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("report")
    with pytest.raises(LimitExceededError) as caught:
        await limited.pq_modify("report", PqChanges(heap_size_gb=5), _no_files)
    assert str(caught.value) == heap_refusal("5")
    with pytest.raises(PermissionDeniedError) as denied:
        await limited.pq_modify("report", PqChanges(server="BigIron", heap_size_gb=1), _no_files)
    assert str(denied.value) == server_refusal("BigIron")
    assert changing_calls(fake) == []

    await limited.pq_modify("report", PqChanges(heap_size_gb=4, server="Query_2"), _no_files)
    await limited.pq_modify("report", PqChanges(programming_language="groovy"), _no_files)
    first, second = modified(fake)
    assert (first.heap_size_gb, first.server) == (4.0, "Query_2")
    assert second.server is None  # an unchanged server is not moved to a default


# -- pq_start and pq_stop -----------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["pq_start", "pq_stop"])
async def test_state_change_wait_is_bounded(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, verb: str
) -> None:
    serial = fake.add_existing_pq("job", running=verb == "pq_stop")
    change = system.pq_start if verb == "pq_start" else system.pq_stop
    with pytest.raises(InvalidArgumentError) as caught:
        await change(serial, True, 3601)
    assert str(caught.value) == "timeout_seconds must be at most 3600 seconds (got 3601)"
    assert changing_calls(fake) == []
    await change(serial, True, 3600)
    assert changing_calls(fake) == [verb.replace("pq_", "") + "_query"]


# -- through the MCP client -----------------------------------------------------------------------


async def test_tools_report_the_limits(fake: FakeEnterpriseBackend) -> None:
    config = McpConfig.model_validate(
        {"enterprise": {"systems": {"prod": make_config(agent_limits=LIMITS).model_dump()}}}
    )
    server = build_systems_server(config=config, enterprise_backend=fake)
    async with Client(server, timeout=60) as client:
        tools = ToolCaller(client)
        assert await tools.error(
            "session_enterprise_create", system_name="prod", heap_size_gb=6
        ) == heap_refusal("6")
        assert await tools.error(
            "pq_create", system_name="prod", pq_name="job", heap_size_gb=1, server="X"
        ) == server_refusal("X")
        assert await tools.error(
            "pq_modify", pq_id="enterprise:prod:job", heap_size_gb=4.25
        ) == heap_refusal("4.25")
        assert await tools.error(
            "session_enterprise_create", system_name="prod", timeout_seconds=86400
        ) == ("timeout_seconds must be at most 3600 seconds (got 86400)")
        assert await tools.error(
            "pq_stop", system_name="prod", pq_identifier="job", timeout_seconds=7200
        ) == ("timeout_seconds must be at most 3600 seconds (got 7200)")
        assert changing_calls(fake) == []
        described = {tool.name: tool for tool in await client.list_tools()}
    create = described["session_enterprise_create"].input_schema["properties"]
    assert "allowed_servers" in create["server"]["description"]
    assert "max_heap_size_gb" in create["heap_size_gb"]["description"]
    assert "3600" in create["timeout_seconds"]["description"]
    start = described["pq_start"].input_schema["properties"]
    assert "3600" in start["timeout_seconds"]["description"]


# -- over the wire, with the real Core+ client ----------------------------------------------------


@pytest.fixture
async def wire_tools(wire: WireHarness, wire_system: dict[str, Any]) -> AsyncIterator[ToolCaller]:
    config = McpConfig.model_validate(
        {"enterprise": {"systems": {"prod": {**wire_system, "agent_limits": LIMITS}}}}
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        yield ToolCaller(client)


async def test_refusals_never_reach_the_controller(
    wire_tools: ToolCaller, wire: WireHarness
) -> None:
    assert await wire_tools.error(
        "session_enterprise_create", system_name="prod", session_name="big", heap_size_gb=32
    ) == heap_refusal("32")
    assert await wire_tools.error(
        "pq_create", system_name="prod", pq_name="job", heap_size_gb=1, server="BigIron"
    ) == server_refusal("BigIron")
    assert wire.controller.log.calls() == []  # not even a connection

    wire.controller.add_query("report")
    assert await wire_tools.error(
        "pq_modify", pq_id="enterprise:prod:report", server="BigIron"
    ) == server_refusal("BigIron")
    assert await wire_tools.error(
        "pq_start", system_name="prod", pq_identifier="report", timeout_seconds=3601
    ) == ("timeout_seconds must be at most 3600 seconds (got 3601)")
    sent = set(wire.controller.log.methods())
    assert not sent & {"addQuery", "modifyQuery", "restartQuery", "stopQuery"}, sent

    await wire_tools.ok(
        "pq_create", system_name="prod", pq_name="job", heap_size_gb=4, script_body="x = 1"
    )
    added = wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest).config
    assert (added.heapSizeGb, added.serverName) == (4.0, "Query_1")
