"""pq_start, pq_stop and pq_restart: what each wait ends in, refusals, and permissions.

Through an MCP client on the systems server with its real Core+ client against the wire
fakes. A wait ends in one of three outcomes, each told apart: the wanted state reached (the
answer), a terminal failure (an error with the controller's exception text), or a timeout
(an error naming the state the controller last reported and when). A refusal of one query
comes back in the controller's ``errorSerials`` while the call itself succeeds; coreplus's
own ``restart_query`` / ``stop_query`` drop that answer, so the adapter reads it itself.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from deephaven_enterprise.client.session_manager import SessionManager
from deephaven_enterprise.proto import (
    controller_pb2,
    controller_service_pb2,
    controller_service_pb2_grpc,
)
from fastmcp import Client

from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.enterprise._pq_waits import reported_at
from deephaven_mcp.enterprise.adapter import CoreplusBackend
from deephaven_mcp.enterprise.backend import ManagerHandle
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.enterprise.wire.auth_service import PLAIN_PASSWORD, PLAIN_USER
from tests.enterprise.wire.controller_service import StartBehavior
from tests.enterprise.wire.harness import PASSWORD, USERNAME, WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

SYSTEM = "prod"  # logs in as the harness user, a superuser
PLAIN = "plain"  # logs in as PLAIN_USER: only what each query grants
OPS = "ops"  # logs in as a plain user of the group "ops"
OPS_USER, OPS_PASSWORD = "dave", "dave-pw-91c0"
FAILURE = "Script failed: NameError: name 'oops' is not defined"


@pytest.fixture
async def tools(wire: WireHarness, wire_system: dict[str, Any]) -> AsyncIterator[ToolCaller]:
    wire.auth.add_plain_user()
    wire.auth.add_plain_user(OPS_USER, OPS_PASSWORD, groups=("ops",))
    config = McpConfig.model_validate(
        {
            "enterprise": {
                "systems": {
                    SYSTEM: wire_system,
                    PLAIN: {**wire_system, "username": PLAIN_USER, "password": PLAIN_PASSWORD},
                    OPS: {**wire_system, "username": OPS_USER, "password": OPS_PASSWORD},
                }
            }
        }
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        yield ToolCaller(client)


def _on(system: str, pq: str | int, **arguments: Any) -> dict[str, Any]:
    return {"system_name": system, "pq_identifier": pq, **arguments}


def _last_report(wire: WireHarness, name: str) -> str:
    state = wire.controller.query(name).state
    status = wire.controller.status_name(name).removeprefix("PQS_")
    return f"{status} at {reported_at(state.lastUpdateNanos)}"


@contextlib.contextmanager
def _later(seconds: float, action: Any) -> Iterator[None]:
    """``action()`` on a timer while the block runs (joined at the end)."""
    timer = threading.Timer(seconds, action)
    timer.start()
    try:
        yield
    finally:
        timer.join()


# -- start ------------------------------------------------------------------------------------


async def test_start_reaches_running(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("live")
    started = await tools.ok("pq_start", **_on(SYSTEM, "live", timeout_seconds=30))
    assert started == {
        "success": True,
        "serial": serial,
        "state": "RUNNING",
        "session_id": f"enterprise:{SYSTEM}:live",
        "message": "PQ started successfully",
    }


async def test_start_ending_in_failure_carries_the_exception(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("broken", behavior=StartBehavior.FAIL)
    wire.controller.set_behavior("broken", message=FAILURE)
    message = await tools.error("pq_start", **_on(SYSTEM, "broken", timeout_seconds=30))
    assert message == f"Persistent query 'broken' did not start: it ended FAILED: {FAILURE}"


async def test_start_still_moving_times_out_naming_the_last_state(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("stuck", behavior=StartBehavior.HANG)
    message = await tools.error("pq_start", **_on(SYSTEM, "stuck", timeout_seconds=1))
    assert message == (
        "Persistent query 'stuck' did not reach RUNNING within 1 s; the controller last "
        f"reported {_last_report(wire, 'stuck')}."
    )
    assert "INITIALIZING at " in message


async def test_a_start_the_controller_has_not_acted_on_is_a_timeout_not_a_failure(
    tools: ToolCaller, wire: WireHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the wait ended with the query still STOPPED, which was reported as
    "did not start; it is STOPPED", as if the start had failed."""
    wire.controller.add_query("queued")
    wire.controller.set_status("queued", "PQS_STOPPED")
    monkeypatch.setattr(wire.controller, "_start", lambda _query: None)  # accepted, not begun
    message = await tools.error("pq_start", **_on(SYSTEM, "queued", timeout_seconds=1))
    assert message == (
        "Persistent query 'queued' did not reach RUNNING within 1 s; the controller last "
        f"reported {_last_report(wire, 'queued')}, unchanged since the request."
    )
    assert "STOPPED at " in message


async def test_start_without_wait_answers_with_the_first_new_state(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("eager")
    started = await tools.ok("pq_start", **_on(SYSTEM, "eager", wait=False))
    assert started["state"] == "ACQUIRING_WORKER"
    assert started["message"] == "PQ start requested" and started["session_id"] is None
    wire.controller.wait_for_status("eager", "PQS_RUNNING")


# -- stop -------------------------------------------------------------------------------------


async def test_stop_reaches_stopped(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("svc", running=True)
    stopped = await tools.ok("pq_stop", **_on(SYSTEM, "svc", timeout_seconds=30))
    assert stopped == {
        "success": True,
        "serial": serial,
        "state": "STOPPED",
        "message": "PQ stopped successfully",
    }


async def test_stopping_a_query_that_is_not_running_answers_at_once(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("idle")
    stopped = await tools.ok("pq_stop", **_on(SYSTEM, "idle", timeout_seconds=30))
    assert (stopped["state"], stopped["message"]) == ("UNINITIALIZED", "PQ stopped successfully")
    assert wire.controller.log.methods().count("stopQuery") == 1  # refusals still surface


async def test_stop_ending_in_failure_is_an_error(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("crashy", running=True)
    wire.controller.set_behavior(serial, stop_hangs=True)
    with _later(0.3, lambda: wire.controller.set_status(serial, "PQS_FAILED")):
        message = await tools.error("pq_stop", **_on(SYSTEM, "crashy", timeout_seconds=30))
    assert message == "Persistent query 'crashy' did not stop cleanly: it ended FAILED"


async def test_stop_still_moving_times_out_naming_the_last_state(
    tools: ToolCaller, wire: WireHarness
) -> None:
    serial = wire.controller.add_query("sticky", running=True)
    wire.controller.set_behavior(serial, stop_hangs=True)
    message = await tools.error("pq_stop", **_on(SYSTEM, "sticky", timeout_seconds=1))
    assert message == (
        "Persistent query 'sticky' did not reach STOPPED within 1 s; the controller last "
        f"reported {_last_report(wire, 'sticky')}."
    )
    assert "STOPPING at " in message


async def test_stop_with_the_state_unchanged_says_so(tools: ToolCaller, wire: WireHarness) -> None:
    """STOPPING already (not running, not stopped): the controller has nothing to do."""
    wire.controller.add_query("halfway", running=True)
    wire.controller.set_status("halfway", "PQS_STOPPING")
    message = await tools.error("pq_stop", **_on(SYSTEM, "halfway", timeout_seconds=1))
    assert message.endswith(
        f"last reported {_last_report(wire, 'halfway')}, unchanged since the request."
    )


# -- restart ----------------------------------------------------------------------------------


def _worker_name(wire: WireHarness, name: str) -> str:
    return str(wire.controller.query(name).state.connectionDetails.workerName)


async def test_restart_waits_for_a_new_run(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("cycled", running=True)
    before = _worker_name(wire, "cycled")
    restarted = await tools.ok("pq_restart", **_on(SYSTEM, "cycled", timeout_seconds=30))
    assert restarted == {
        "success": True,
        "serial": serial,
        "state": "RUNNING",
        "session_id": f"enterprise:{SYSTEM}:cycled",
        "message": "PQ restarted successfully",
    }
    assert _worker_name(wire, "cycled") != before


async def test_restart_without_wait(tools: ToolCaller, wire: WireHarness) -> None:
    wire.controller.add_query("kicked", running=True)
    restarted = await tools.ok("pq_restart", **_on(SYSTEM, "kicked", wait=False))
    assert (restarted["state"], restarted["message"]) == (
        "ACQUIRING_WORKER",
        "PQ restart initiated",
    )
    wire.controller.wait_for_status("kicked", "PQS_RUNNING")


async def test_restart_ending_in_failure_carries_the_exception(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("fragile", running=True, behavior=StartBehavior.FAIL)
    wire.controller.set_behavior("fragile", message=FAILURE)
    message = await tools.error("pq_restart", **_on(SYSTEM, "fragile", timeout_seconds=30))
    assert message == f"Persistent query 'fragile' did not restart: it ended FAILED: {FAILURE}"


async def test_restart_still_moving_times_out(tools: ToolCaller, wire: WireHarness) -> None:
    wire.controller.add_query("slow", running=True, behavior=StartBehavior.HANG)
    message = await tools.error("pq_restart", **_on(SYSTEM, "slow", timeout_seconds=1))
    assert message == (
        "Persistent query 'slow' did not reach RUNNING within 1 s; the controller last "
        f"reported {_last_report(wire, 'slow')}."
    )


# -- refusals in errorSerials and the permission rule -----------------------------------------


@pytest.mark.parametrize(
    ("tool", "verb"), [("pq_start", "start"), ("pq_restart", "restart"), ("pq_stop", "stop")]
)
async def test_a_refusal_in_error_serials_is_an_error_naming_the_query(
    tools: ToolCaller, wire: WireHarness, tool: str, verb: str
) -> None:
    serial = wire.controller.add_query("guarded", running=True)  # bob's, RU_ADMIN, no groups
    message = await tools.error(tool, **_on(PLAIN, "guarded", timeout_seconds=5))
    assert message == (
        f"The controller refused to {verb} persistent query 'guarded': "
        f"User {PLAIN_USER} is neither an admin nor a viewer of query guarded"
    )
    if verb == "stop":
        sent = wire.controller.log.last("stopQuery", controller_pb2.StopQueryRequest).serials
    else:
        sent = wire.controller.log.last("restartQuery", controller_pb2.RestartQueryRequest).serials
    assert list(sent) == [serial]
    assert wire.controller.status_name(serial) == "PQS_RUNNING"  # nothing happened


@pytest.mark.parametrize(
    ("restart_users", "restart", "stop"),
    [
        ("RU_ADMIN", False, False),
        ("RU_ADMIN_AND_VIEWERS", True, True),
        ("RU_VIEWERS_WHEN_DOWN", False, False),  # it is running
    ],
)
async def test_a_viewer_may_do_what_restart_users_allows(
    tools: ToolCaller, wire: WireHarness, restart_users: str, restart: bool, stop: bool
) -> None:
    wire.controller.add_query("shared", running=True)
    wire.controller.set_permissions(
        "shared", restart_users=restart_users, viewer_groups=["allusers"]
    )
    for tool, allowed in (("pq_restart", restart), ("pq_stop", stop)):
        outcome = await tools.call(tool, **_on(PLAIN, "shared", timeout_seconds=30))
        if allowed:
            assert outcome["success"] is True, outcome
        else:
            verb = tool.removeprefix("pq_")
            assert outcome["error"] == (
                f"The controller refused to {verb} persistent query 'shared': User "
                f"{PLAIN_USER} may not {verb} query shared (restartUsers {restart_users})"
            )


async def test_viewers_when_down_may_start_a_stopped_query(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("revivable")
    wire.controller.set_permissions(
        "revivable", restart_users="RU_VIEWERS_WHEN_DOWN", viewer_groups=["allusers"]
    )
    started = await tools.ok("pq_start", **_on(PLAIN, "revivable", timeout_seconds=30))
    assert started["state"] == "RUNNING"
    assert "may not stop" in await tools.error("pq_stop", **_on(PLAIN, "revivable"))
    assert "may not delete" in await tools.error("pq_delete", **_on(PLAIN, "revivable"))


async def test_admins_by_group_or_ownership_may_do_everything(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("team", running=True)
    wire.controller.set_permissions("team", admin_groups=["ops"])
    wire.controller.add_query("mine", running=True, owner=PLAIN_USER)
    for system, pq in ((OPS, "team"), (PLAIN, "mine")):
        await tools.ok("pq_restart", **_on(system, pq, timeout_seconds=30))
        await tools.ok("pq_stop", **_on(system, pq, timeout_seconds=30))
        await tools.ok("pq_delete", **_on(system, pq))
    assert wire.controller.queries() == {}


async def test_a_refused_delete_is_an_error(tools: ToolCaller, wire: WireHarness) -> None:
    wire.controller.add_query("kept")
    wire.controller.set_permissions("kept", viewer_groups=["allusers"])
    message = await tools.error("pq_delete", **_on(PLAIN, "kept"))
    assert message == (
        "Deleting persistent query 'kept' failed: permission denied (PERMISSION_DENIED): "
        f"User {PLAIN_USER} may not delete query kept (admins only)."
    )
    assert wire.controller.query("kept").config.name == "kept"


# -- the adapter reads errorSerials (real client, no MCP) ------------------------------------


def test_the_adapter_returns_the_controllers_refusal_of_one_serial(wire: WireHarness) -> None:
    backend = CoreplusBackend()
    session_manager = SessionManager(
        url=wire.connection_json_url, client_name="errors-test", rpc_timeout_seconds=5
    )
    handle = ManagerHandle(native=session_manager, url=wire.connection_json_url)
    try:
        session_manager.password(USERNAME, PASSWORD)
        serial = wire.controller.add_query("present")
        assert backend.start_query(handle, serial) is None
        assert backend.restart_query(handle, 42) == "No query with serial 42"
        assert backend.stop_query(handle, 43) == "No query with serial 43"
        stop = wire.controller.log.last("stopQuery", controller_pb2.StopQueryRequest)
        assert list(stop.serials) == [43] and stop.cookie  # the client's login cookie
    finally:
        session_manager.close()


def test_the_controller_service_still_has_the_calls_the_adapter_makes() -> None:
    """The adapter calls restartQuery / stopQuery on a stub of its own over the client's
    channel (ControllerClient's methods drop the answer); the contract test cannot see the
    stub's methods (they are set in its constructor), so this checks the service itself."""
    methods = controller_service_pb2.DESCRIPTOR.services_by_name["ControllerApi"].methods_by_name
    for name, request, answer in (
        ("restartQuery", "RestartQueryRequest", "RestartQueryResponse"),
        ("stopQuery", "StopQueryRequest", "StopQueryResponse"),
    ):
        assert methods[name].input_type.name == request
        assert methods[name].output_type.name == answer
    channel = grpc.insecure_channel("127.0.0.1:9")  # never used: no call is made
    try:
        stub = controller_service_pb2_grpc.ControllerApiStub(channel)  # type: ignore[no-untyped-call]
        assert callable(stub.restartQuery) and callable(stub.stopQuery)
    finally:
        channel.close()
