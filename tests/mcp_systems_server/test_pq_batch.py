"""pq_start, pq_stop, pq_restart and pq_delete given a list of persistent queries.

Through an MCP client (and the Python API) on the systems server with its real Core+ client
against the wire fakes: each query is answered on its own, one failure does not stop the
rest, at most ``max_concurrent`` run at once (counted by the fake controller), and a bad
list is refused before anything reaches the controller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastmcp import Client

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.errors import InvalidArgumentError, PermissionDeniedError
from deephaven_mcp.mcp_systems_server import build_systems_server
from deephaven_mcp.systems.results import PqBatch, PqDeleted, PqStarted
from tests.enterprise.wire.controller_service import StartBehavior
from tests.enterprise.wire.harness import WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

SYSTEM = "prod"
FAILURE = "Script failed: NameError: name 'oops' is not defined"


def _config(wire: WireHarness) -> McpConfig:
    return McpConfig.model_validate({"enterprise": {"systems": {SYSTEM: wire.system_config()}}})


@pytest.fixture
async def tools(wire: WireHarness) -> AsyncIterator[ToolCaller]:
    async with Client(build_systems_server(config=_config(wire)), timeout=120) as client:
        yield ToolCaller(client)


def _summary(answer: dict[str, Any]) -> list[tuple[object, bool, str]]:
    return [
        (entry["pq"], entry["success"], entry.get("state") or entry.get("error", ""))
        for entry in answer["results"]
    ]


async def test_a_batch_start_answers_each_query_and_one_failure_stops_nothing(
    tools: ToolCaller, wire: WireHarness
) -> None:
    first = wire.controller.add_query("alpha")
    broken = wire.controller.add_query("broken", behavior=StartBehavior.FAIL)
    wire.controller.set_behavior(broken, message=FAILURE)
    last = wire.controller.add_query("omega")
    answer = await tools.ok(
        "pq_start",
        system_name=SYSTEM,
        pq_identifier=["alpha", "broken", "ghost", last],
        timeout_seconds=30,
    )
    assert (answer["succeeded"], answer["failed"], answer["max_concurrent"]) == (2, 2, 4)
    assert answer["results"] == [
        {
            "pq": "alpha",
            "success": True,
            "serial": first,
            "name": "alpha",
            "state": "RUNNING",
            "session_id": f"enterprise:{SYSTEM}:alpha",
            "message": "PQ started successfully",
        },
        {
            "pq": "broken",
            "success": False,
            "serial": broken,
            "name": "broken",
            "error": f"Persistent query 'broken' did not start: it ended FAILED: {FAILURE}",
        },
        {
            "pq": "ghost",
            "success": False,
            "error": f"No persistent query 'ghost' on enterprise system '{SYSTEM}'.",
        },
        {
            "pq": last,
            "success": True,
            "serial": last,
            "name": "omega",
            "state": "RUNNING",
            "session_id": f"enterprise:{SYSTEM}:omega",
            "message": "PQ started successfully",
        },
    ]
    for serial in (first, last):
        assert wire.controller.status_name(serial) == "PQS_RUNNING"


async def test_batch_stop_and_restart(tools: ToolCaller, wire: WireHarness) -> None:
    names = ["s1", "s2", "s3"]
    for name in names:
        wire.controller.add_query(name, running=True)
    wire.controller.set_behavior("s3", StartBehavior.HANG)
    restarted = await tools.ok(
        "pq_restart", system_name=SYSTEM, pq_identifier=names, timeout_seconds=1
    )
    assert _summary(restarted)[:2] == [("s1", True, "RUNNING"), ("s2", True, "RUNNING")]
    assert restarted["results"][2]["error"].startswith(
        "Persistent query 's3' did not reach RUNNING within 1 s; the controller last reported "
        "INITIALIZING at "
    )
    stopped = await tools.ok("pq_stop", system_name=SYSTEM, pq_identifier=names, timeout_seconds=30)
    assert _summary(stopped) == [(name, True, "STOPPED") for name in names]
    assert {entry["message"] for entry in stopped["results"]} == {"PQ stopped successfully"}
    assert (stopped["succeeded"], stopped["failed"]) == (3, 0)


async def test_batch_delete(tools: ToolCaller, wire: WireHarness) -> None:
    kept = wire.controller.add_query("kept")
    doomed = [wire.controller.add_query(f"old{i}", running=i == 0) for i in range(3)]
    answer = await tools.ok(
        "pq_delete", system_name=SYSTEM, pq_identifier=["old0", doomed[1], "old2", "gone"]
    )
    assert [(e["pq"], e["success"]) for e in answer["results"]] == [
        ("old0", True),
        (doomed[1], True),
        ("old2", True),
        ("gone", False),
    ]
    assert answer["results"][0] == {
        "pq": "old0",
        "success": True,
        "serial": doomed[0],
        "name": "old0",
        "message": "PQ deleted successfully",
    }
    assert sorted(wire.controller.removed) == sorted(doomed)
    assert list(wire.controller.queries()) == [kept]
    listed = await tools.ok("pq_list", system_name=SYSTEM)
    assert [q["name"] for q in listed["pqs"]] == ["kept"]  # the map agrees at once


@pytest.mark.parametrize(
    ("identifiers", "message"),
    [
        (list(range(101)), "pq_identifier: at most 100 persistent queries per call (got 101)"),
        ([], "pq_identifier: the list is empty; give at least one PQ"),
        (["a", "a"], "pq_identifier lists 'a' more than once"),
    ],
)
async def test_a_bad_list_is_refused_before_anything_is_sent(
    tools: ToolCaller, wire: WireHarness, identifiers: list[Any], message: str
) -> None:
    for tool in ("pq_start", "pq_stop", "pq_restart", "pq_delete"):
        assert await tools.error(tool, system_name=SYSTEM, pq_identifier=identifiers) == message
    assert not {"restartQuery", "stopQuery", "removeQuery"} & set(wire.controller.log.methods())


async def test_a_query_named_twice_runs_once(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("twin")
    answer = await tools.ok(
        "pq_start", system_name=SYSTEM, pq_identifier=["twin", serial], timeout_seconds=30
    )
    assert _summary(answer) == [
        ("twin", True, "RUNNING"),
        (serial, False, "Persistent query 'twin' is already in this request (as 'twin')."),
    ]
    assert wire.controller.log.methods().count("restartQuery") == 1


async def test_max_concurrent_is_honoured(tools: ToolCaller, wire: WireHarness) -> None:
    names = [f"q{i}" for i in range(6)]
    for name in names:
        wire.controller.add_query(name)
    wire.controller.delays["restartQuery"] = 0.5  # long enough for calls to overlap
    for asked, expected in ((1, 1), (2, 2), (None, 4)):
        wire.controller.peak_in_flight.clear()
        arguments: dict[str, Any] = {"max_concurrent": asked} if asked else {}
        answer = await tools.ok(
            "pq_restart", system_name=SYSTEM, pq_identifier=names, wait=False, **arguments
        )
        assert answer["succeeded"] == 6 and answer["max_concurrent"] == expected
        assert wire.controller.peak_in_flight["restartQuery"] == expected
    capped = await tools.ok(
        "pq_stop", system_name=SYSTEM, pq_identifier=names[:1], max_concurrent=500, wait=False
    )
    assert capped["max_concurrent"] == 16
    message = await tools.error(
        "pq_stop", system_name=SYSTEM, pq_identifier=names, max_concurrent=0
    )
    assert message == "max_concurrent must be at least 1 (got 0)"


async def test_the_operator_caps_max_concurrent(wire: WireHarness) -> None:
    """agent_limits.max_pq_batch_concurrency bounds what a caller may ask for."""
    names = [f"c{i}" for i in range(4)]
    for name in names:
        wire.controller.add_query(name)
    wire.controller.delays["restartQuery"] = 0.5
    system = {**wire.system_config(), "agent_limits": {"max_pq_batch_concurrency": 2}}
    config = McpConfig.model_validate({"enterprise": {"systems": {SYSTEM: system}}})
    async with Client(build_systems_server(config=config), timeout=120) as client:
        answer = await ToolCaller(client).ok(
            "pq_restart", system_name=SYSTEM, pq_identifier=names, max_concurrent=8, wait=False
        )
    assert answer["succeeded"] == 4 and answer["max_concurrent"] == 2
    assert wire.controller.peak_in_flight["restartQuery"] == 2


async def test_the_python_api_answers_one_query_or_a_batch(wire: WireHarness) -> None:
    for name in ("solo", "duo", "last"):
        wire.controller.add_query(name)
    async with DeephavenSystems(config=_config(wire)) as systems:
        single = await systems.pq_start(SYSTEM, "solo", timeout_seconds=30)
        assert isinstance(single, PqStarted) and single.state == "RUNNING"
        batch = await systems.pq_stop(SYSTEM, ("solo", "duo"), max_concurrent=2)
        assert isinstance(batch, PqBatch)
        assert [entry["state"] for entry in batch.results] == ["STOPPED", "UNINITIALIZED"]
        assert (batch.succeeded, batch.failed, batch.max_concurrent) == (2, 0, 2)
        with pytest.raises(InvalidArgumentError, match="at most 100"):
            await systems.pq_restart(SYSTEM, [f"q{i}" for i in range(101)])
        deleted = await systems.pq_delete(SYSTEM, ["solo", "duo", "solo2"])
        assert isinstance(deleted, PqBatch) and (deleted.succeeded, deleted.failed) == (2, 1)
        assert isinstance(await systems.pq_delete(SYSTEM, "last"), PqDeleted)
    async with DeephavenSystems(config=_config(wire), read_only=True) as systems:
        with pytest.raises(PermissionDeniedError, match="read-only"):
            await systems.pq_delete(SYSTEM, ["x"])
