"""The systems server with its real Enterprise backend, end to end over the wire.

``build_systems_server`` runs with the default ``CoreplusBackend``: the real coreplus client
talks TLS gRPC to the fake auth server and controller, and reads worker data through the
worker proxy from the PSK test worker. Tests assert what the fakes received.

The later sections check, over the wire, each bug of issue 10 where it lives (in the real
client's behaviour), and the bugs this harness and the fake-parity tests found since.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from deephaven_enterprise.client.auth import AuthClient
from deephaven_enterprise.proto import auth_pb2, controller_pb2
from fastmcp import Client

from deephaven_mcp.config.models import McpConfig
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.enterprise.wire.controller_service import ENGINE_VERSION, Failure, StartBehavior
from tests.enterprise.wire.harness import USERNAME, WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

SYSTEM = "prod"
SIMPLE_TABLES = {"simple_numbers", "simple_people", "simple_awkward"}
TEMPORARY_SCHEDULER = "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerTemporary"
SCRIPT = "from deephaven import empty_table\nt = empty_table(3)\n"
# The launch settings these tests send, which the operator keeps unless agent_may_set lists them.
PASSED_ON = [
    "engine",
    "extra_jvm_args",
    "extra_environment_vars",
    "admin_groups",
    "viewer_groups",
    "auto_delete_timeout",
    "python_virtual_environment",
    "script_body",
]


@pytest.fixture
async def tools(wire: WireHarness, wire_system: dict[str, Any]) -> AsyncIterator[ToolCaller]:
    config = McpConfig.model_validate(
        {
            "enterprise": {
                "systems": {
                    SYSTEM: {**wire_system, "agent_limits": {"agent_may_set": PASSED_ON}},
                    "badpw": {**wire_system, "password": "not-the-password"},
                    "quick": {
                        **wire_system,
                        "connection_timeout": 2,
                        "agent_limits": {"agent_may_set": ["script_body"]},
                    },
                }
            }
        }
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        yield ToolCaller(client)


async def _statuses(tools: ToolCaller) -> dict[str, dict[str, Any]]:
    result = await tools.ok("enterprise_systems_status", attempt_to_connect=True)
    return {entry["name"]: entry for entry in result["systems"]}


def _added(wire: WireHarness) -> Any:
    return wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest).config


def _modified(wire: WireHarness) -> Any:
    return wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest)


# -- behaviour that is correct today ----------------------------------------------------------


async def test_status_online_and_unauthorized(tools: ToolCaller, wire: WireHarness) -> None:
    statuses = await _statuses(tools)
    assert statuses[SYSTEM]["status"] == "ONLINE" and statuses[SYSTEM]["is_alive"] is True
    assert statuses["badpw"]["status"] == "UNAUTHORIZED"
    assert statuses["badpw"]["is_alive"] is False
    logins = wire.auth.log.calls("authenticateByPassword")
    assert len(logins) == 3  # one per system
    # Checking again pings the open connections (auth refreshCookie, controller ping).
    before = len(wire.auth.log.calls("refreshCookie"))
    assert (await _statuses(tools))[SYSTEM]["status"] == "ONLINE"
    assert len(wire.auth.log.calls("refreshCookie")) > before


async def test_private_key_login(
    wire: WireHarness, wire_system: dict[str, Any], tmp_path: Path
) -> None:
    private_text, public_text = AuthClient.generate_keypair(USERNAME)
    key_file = tmp_path / "priv-alice.base64.txt"
    key_file.write_text(private_text, encoding="utf-8")
    wire.auth.add_public_key(public_text)
    system = {
        **wire_system,
        "auth_type": "private_key",
        "private_key_path": str(key_file),
        "username": None,
        "password": None,
    }
    system = {key: value for key, value in system.items() if value is not None}
    config = McpConfig.model_validate({"enterprise": {"systems": {"keyed": system}}})
    async with Client(build_systems_server(config=config), timeout=120) as client:
        statuses = await _statuses(ToolCaller(client))
    assert statuses["keyed"]["status"] == "ONLINE"
    login = wire.auth.log.last("authenticateByPublicKey", auth_pb2.AuthenticateByPublicKeyRequest)
    assert login.user_context.authenticatedUser == USERNAME
    assert "authenticateByPassword" not in wire.auth.log.methods()


async def test_pq_list_and_details_show_the_controller_map(
    tools: ToolCaller, wire: WireHarness
) -> None:
    idle = wire.controller.add_query("nightly_etl", heap_size_gb=8)
    running = wire.controller.add_query("dashboard", running=True)
    listed = await tools.ok("pq_list", system_name=SYSTEM)
    by_name = {query["name"]: query for query in listed["pqs"]}
    assert (
        by_name["nightly_etl"]["serial"] == idle
        and by_name["nightly_etl"]["state"] == "UNINITIALIZED"
    )
    assert by_name["dashboard"]["serial"] == running and by_name["dashboard"]["state"] == "RUNNING"

    details = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="dashboard")
    assert details["serial"] == running and details["state"] == "RUNNING"
    assert (details["worker_host"], details["worker_port"]) == ("127.0.0.1", wire.proxy.port)
    assert details["session_id"] == f"enterprise:{SYSTEM}:dashboard"
    assert details["config"]["owner"] == "bob"
    by_serial = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier=idle)
    assert by_serial["name"] == "nightly_etl" and by_serial["config"]["heap_size_gb"] == 8.0


async def test_pq_start_then_tables_through_the_worker_proxy(
    tools: ToolCaller, wire: WireHarness
) -> None:
    serial = wire.controller.add_query("live_calc")
    started = await tools.ok(
        "pq_start", system_name=SYSTEM, pq_identifier="live_calc", timeout_seconds=30
    )
    assert started["state"] == "RUNNING" and started["serial"] == serial
    restart = wire.controller.log.last("restartQuery", controller_pb2.RestartQueryRequest)
    assert list(restart.serials) == [serial]

    listed = await tools.ok("session_tables_list", session_id=f"enterprise:{SYSTEM}:live_calc")
    assert set(listed["table_names"]) >= SIMPLE_TABLES
    rows = await tools.ok(
        "session_table_data",
        session_id=f"enterprise:{SYSTEM}:live_calc",
        table_name="simple_numbers",
        max_rows=3,
        format="json-row",
    )
    assert rows["row_count"] == 3
    assert wire.proxy.calls[0].auth == "token" and wire.proxy.calls[0].user == USERNAME

    stopped = await tools.ok(
        "pq_stop", system_name=SYSTEM, pq_identifier=serial, timeout_seconds=30
    )
    assert stopped["state"] == "STOPPED"
    assert "RUNNING" in await tools.error(
        "session_tables_list", session_id=f"enterprise:{SYSTEM}:live_calc"
    )


async def test_pq_start_of_a_failing_query_reports_its_exception(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.add_query("broken", behavior=StartBehavior.FAIL)
    wire.controller.set_behavior("broken", message="NameError: name 'oops' is not defined")
    message = await tools.error(
        "pq_start", system_name=SYSTEM, pq_identifier="broken", timeout_seconds=30
    )
    assert "FAILED" in message and "NameError" in message


async def test_created_session_reads_data_and_is_deleted(
    tools: ToolCaller, wire: WireHarness
) -> None:
    created = await tools.ok("session_enterprise_create", system_name=SYSTEM, session_name="w1")
    session_id = created["session_id"]
    assert session_id == f"enterprise:{SYSTEM}:w1"
    added = _added(wire)
    assert (added.name, added.heapSizeGb, added.owner) == ("w1", 1.0, USERNAME)
    assert TEMPORARY_SCHEDULER in added.scheduling  # a worker is a temporary query
    serial = wire.controller.query("w1").config.serial

    rows = await tools.ok(
        "session_table_data", session_id=session_id, table_name="simple_people", format="json-row"
    )
    assert rows["row_count"] == 5

    deleted = await tools.ok("session_enterprise_delete", system_name=SYSTEM, session_name="w1")
    assert deleted["message"] == "Session deleted successfully"
    remove = wire.controller.log.last("removeQuery", controller_pb2.RemoveQueryRequest)
    assert remove.serial == serial and serial not in wire.controller.queries()


async def test_pq_create_sends_the_requested_config(tools: ToolCaller, wire: WireHarness) -> None:
    created = await tools.ok(
        "pq_create",
        system_name=SYSTEM,
        pq_name="etl_job",
        heap_size_gb=3,
        script_body=SCRIPT,
        programming_language="groovy",
        server="Query_1",
        engine="DeephavenCommunity",
        extra_jvm_args=["-Dfoo=bar"],
        admin_groups=["ops"],
        viewer_groups=["analysts"],
    )
    assert created["pq_name"] == "etl_job" and created["configuration_type"] == "Script"
    assert created["starts_now"] is True  # continuous and enabled: the controller starts it
    added = _added(wire)
    assert created["serial"] == wire.controller.query("etl_job").config.serial
    assert (added.name, added.heapSizeGb, added.scriptLanguage) == ("etl_job", 3.0, "Groovy")
    assert (added.serverName, added.workerKind, added.owner) == (
        "Query_1",
        "DeephavenCommunity",
        USERNAME,
    )
    assert list(added.extraJvmArguments) == ["-Dfoo=bar"]
    assert (list(added.adminGroups), list(added.viewerGroups)) == (["ops"], ["analysts"])
    assert (added.configurationType, added.scriptCode, added.enabled) == ("Script", SCRIPT, True)
    assert "restartQuery" not in wire.controller.log.methods()  # started by the controller


async def test_pq_modify_and_delete(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("report", running=True)
    modified = await tools.ok(
        "pq_modify", pq_id=f"enterprise:{SYSTEM}:report", heap_size_gb=6, extra_jvm_args=["-Xss4m"]
    )
    assert modified["restarted"] is False and modified["serial"] == serial
    request = _modified(wire)
    assert request.doRestart is False
    assert (request.config.serial, request.config.heapSizeGb) == (serial, 6.0)
    assert list(request.config.extraJvmArguments) == ["-Xss4m"]
    assert request.config.scriptCode == "print('hello')"  # the rest of the config is kept
    details = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier=serial)
    assert details["config"]["heap_size_gb"] == 6.0

    await tools.ok("pq_delete", system_name=SYSTEM, pq_identifier="report")
    remove = wire.controller.log.last("removeQuery", controller_pb2.RemoveQueryRequest)
    assert remove.serial == serial
    assert "No persistent query" in await tools.error(
        "pq_details", system_name=SYSTEM, pq_identifier=serial
    )


# -- issue 10 bugs already fixed, checked over the wire ------------------------------------------


async def test_pq_create_sends_environment_as_name_value_pairs(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 1: the controller reads alternating name/value entries, not NAME=value."""
    await tools.ok(
        "pq_create",
        system_name=SYSTEM,
        pq_name="env_job",
        heap_size_gb=1,
        script_body=SCRIPT,
        extra_environment_vars=["FOO=bar", "PATH_EXTRA=/opt/x=y"],
    )
    assert list(_added(wire).extraEnvironmentVariables) == ["FOO", "bar", "PATH_EXTRA", "/opt/x=y"]


async def test_pq_modify_sends_environment_as_name_value_pairs(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 1, for pq_modify."""
    wire.controller.add_query("env_modify")
    await tools.ok(
        "pq_modify", pq_id=f"enterprise:{SYSTEM}:env_modify", extra_environment_vars=["FOO=bar"]
    )
    assert list(_modified(wire).config.extraEnvironmentVariables) == ["FOO", "bar"]


@pytest.mark.parametrize("verb", ["pq_start", "pq_stop"])
async def test_start_and_stop_timeouts_name_the_state(
    tools: ToolCaller, wire: WireHarness, verb: str
) -> None:
    """Bug 3: coreplus ends a timed-out wait in AttributeError (see test_wire_client)."""
    serial = wire.controller.add_query("slow", running=verb == "pq_stop")
    wire.controller.set_behavior(serial, StartBehavior.HANG, stop_hangs=True)
    message = await tools.error(verb, system_name=SYSTEM, pq_identifier="slow", timeout_seconds=1)
    wanted, last = ("RUNNING", "INITIALIZING") if verb == "pq_start" else ("STOPPED", "STOPPING")
    assert f"did not reach {wanted} within 1 s" in message, message
    assert f"the controller last reported {last} at " in message, message


@pytest.mark.parametrize("verb", ["pq_start", "pq_stop"])
async def test_a_refused_start_or_stop_is_an_error(
    tools: ToolCaller, wire: WireHarness, verb: str
) -> None:
    """Bug 4: coreplus turns an AuthError trailer into a RuntimeError, which was swallowed."""
    wire.controller.add_query("guarded", running=verb == "pq_stop")
    method = "restartQuery" if verb == "pq_start" else "stopQuery"
    refusal = f"User {USERNAME} may not {verb.removeprefix('pq_')} query guarded"
    wire.controller.fail_next(
        method, Failure(grpc.StatusCode.PERMISSION_DENIED, refusal, auth_error=True)
    )
    message = await tools.error(verb, system_name=SYSTEM, pq_identifier="guarded", wait=False)
    assert "may not" in message, message


async def test_controller_rejection_details_reach_the_caller(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 5: a plain gRPC error's details() is the only explanation the caller gets."""
    wire.controller.fail_next(
        "addQuery",
        Failure(
            grpc.StatusCode.INVALID_ARGUMENT, "Heap size 512.0 GB exceeds the maximum of 64 GB"
        ),
    )
    message = await tools.error(
        "pq_create", system_name=SYSTEM, pq_name="huge", heap_size_gb=512, script_body=SCRIPT
    )
    assert "exceeds the maximum" in message, message


async def test_a_busy_session_does_not_block_the_event_loop(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 9: is_alive waits for the session's lock, which a slow call in a thread holds."""
    wire.controller.add_query("busy", running=True)
    session_id = f"enterprise:{SYSTEM}:busy"
    await tools.ok("session_tables_list", session_id=session_id)  # connected and cached
    wire.proxy.delays["ApplicationService/ListFields"] = 2.0
    loop = asyncio.get_running_loop()
    longest = 0.0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal longest
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.02)
            longest = max(longest, loop.time() - before)

    beat = asyncio.create_task(heartbeat())
    first = asyncio.create_task(tools.ok("session_tables_list", session_id=session_id))
    await asyncio.sleep(0.5)  # the first call now holds the session's lock in a thread
    await tools.ok("session_tables_list", session_id=session_id)
    await first
    stop.set()
    await beat
    assert longest < 1.0, f"the event loop stalled for {longest:.1f} s"


async def test_pq_create_makes_a_persistent_query(tools: ToolCaller, wire: WireHarness) -> None:
    """Bug 2: pq_create made a temporary query (48 h expiry, auto-delete)."""
    await tools.ok(
        "pq_create", system_name=SYSTEM, pq_name="keeper", heap_size_gb=1, script_body=SCRIPT
    )
    added = _added(wire)
    assert TEMPORARY_SCHEDULER not in added.scheduling
    assert "TemporaryAutoDelete=true" not in added.scheduling
    assert "TerminationDelay" not in added.typeSpecificFieldsJson  # no idle deletion either


async def test_a_created_query_survives_being_stopped(tools: ToolCaller, wire: WireHarness) -> None:
    """Bug 2: the controller deletes a temporary, auto-deleting query once it ends."""
    created = await tools.ok(
        "pq_create", system_name=SYSTEM, pq_name="survivor", heap_size_gb=1, script_body=SCRIPT
    )
    await tools.ok("pq_start", system_name=SYSTEM, pq_identifier="survivor", timeout_seconds=30)
    await tools.ok("pq_stop", system_name=SYSTEM, pq_identifier="survivor", timeout_seconds=30)
    await asyncio.sleep(0.5)  # the controller deletes temporary queries shortly after they end
    assert created["serial"] in wire.controller.queries()


async def test_pq_modify_auto_delete_timeout_turns_auto_delete_on(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 8: TerminationDelay alone does nothing while TemporaryAutoDelete is false."""
    wire.controller.add_query(
        "temp_keep",
        configuration_type="InteractiveConsole",
        scheduling=[TEMPORARY_SCHEDULER, "TemporaryAutoDelete=false"],
    )
    await tools.ok("pq_modify", pq_id=f"enterprise:{SYSTEM}:temp_keep", auto_delete_timeout=300)
    config = _modified(wire).config
    assert json.loads(config.typeSpecificFieldsJson)["TerminationDelay"]["value"] == "300000"
    assert "TemporaryAutoDelete=true" in config.scheduling
    assert "TemporaryAutoDelete=false" not in config.scheduling


async def test_connection_is_rebuilt_after_a_server_restart(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 6: coreplus never recovers a login the servers forgot; the adapter must rebuild."""
    wire.controller.add_query("after_restart")
    assert (await _statuses(tools))["quick"]["status"] == "ONLINE"
    logins = len(wire.auth.log.calls("authenticateByPassword"))
    subscribes = len(wire.controller.log.calls("subscribe"))
    wire.restart_services()  # every cookie forgotten, subscription streams ended
    # Once the client tries to re-subscribe it knows its subscription is down. (A call racing
    # ahead of that reaches coreplus's re-authentication retries, which last the whole RPC
    # timeout, before the connection is dropped: see the report on issue 10.)
    while len(wire.controller.log.calls("subscribe")) <= subscribes:
        await asyncio.sleep(0.02)
    started = await tools.ok(
        "pq_start", system_name="quick", pq_identifier="after_restart", timeout_seconds=10
    )
    assert started["state"] == "RUNNING"
    assert len(wire.auth.log.calls("authenticateByPassword")) > logins  # a fresh login
    assert (await _statuses(tools))["quick"]["status"] == "ONLINE"


async def test_python_virtual_environment_is_sent_as_json(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 7: the controller reads pythonControl as a JSON object, not a bare string."""
    wire.controller.add_query("venv_job")
    control = {"ephemeral_venv": True, "ephemeral_requirements": "pandas==2.2"}
    await tools.ok(
        "pq_modify", pq_id=f"enterprise:{SYSTEM}:venv_job", python_virtual_environment=control
    )
    assert json.loads(_modified(wire).config.pythonControl) == control


async def test_deleting_a_session_deletes_its_query_even_if_the_worker_is_gone(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 10: coreplus deletes a worker's query only if closing its session succeeds."""
    # A session to a worker that never answers cannot be closed; the fixture closes it once
    # the worker is back, so its keep-alive timer cannot fail a later test.
    wire.check_clients_closed = False
    await tools.ok("session_enterprise_create", system_name=SYSTEM, session_name="orphan")
    serial = wire.controller.query("orphan").config.serial
    wire.proxy.refuse = grpc.StatusCode.UNAVAILABLE  # the worker died or hangs
    await tools.call("session_enterprise_delete", system_name=SYSTEM, session_name="orphan")
    assert serial not in wire.controller.queries()
    remove = wire.controller.log.last("removeQuery", controller_pb2.RemoveQueryRequest)
    assert remove.serial == serial


async def test_a_pq_session_reports_the_enterprise_version(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 11: deephaven_enterprise_version is the engine version the controller publishes."""
    wire.controller.add_query("versioned", running=True)
    details = await tools.ok("session_details", session_id=f"enterprise:{SYSTEM}:versioned")
    assert details["session"]["deephaven_enterprise_version"] == ENGINE_VERSION


@pytest.mark.parametrize("name", ["ops:daily", "Запрос"])
async def test_a_query_whose_name_an_id_cannot_carry_is_listed_by_serial(
    tools: ToolCaller, wire: WireHarness, name: str
) -> None:
    """Bug 11: such a name made an id SessionId.parse rejects; the serial always parses."""
    serial = wire.controller.add_query(name, running=True)
    await tools.ok("pq_list", system_name=SYSTEM)  # sessions_list shows connected systems only
    listed = await tools.ok("sessions_list")
    session_id = f"enterprise:{SYSTEM}:{serial}"
    assert session_id in {session["session_id"] for session in listed["sessions"]}
    details = await tools.ok("session_details", session_id=session_id)
    assert details["session"]["session_id"] == session_id
    tables = await tools.ok("session_tables_list", session_id=session_id)
    assert set(tables["table_names"]) >= SIMPLE_TABLES


async def test_an_unspecified_state_counts_as_stopped(tools: ToolCaller, wire: WireHarness) -> None:
    """Bug 11: PQS_UNSPECIFIED (no state yet) is not running, so a stop has nothing to wait for."""
    wire.controller.add_query("blank")
    wire.controller.set_status("blank", "PQS_UNSPECIFIED")
    stopped = await tools.ok(
        "pq_stop", system_name=SYSTEM, pq_identifier="blank", timeout_seconds=5
    )
    assert stopped["state"] == "UNSPECIFIED"
    started = await tools.ok(
        "pq_start", system_name=SYSTEM, pq_identifier="blank", timeout_seconds=30
    )
    assert started["state"] == "RUNNING"


async def test_a_slow_controller_answer_outlives_the_connect_timeout(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Bug 11: the 2 s connection_timeout of "quick" bounded every later RPC as well."""
    assert (await _statuses(tools))["quick"]["status"] == "ONLINE"
    wire.controller.delays["addQuery"] = 3.0
    created = await tools.ok(
        "pq_create", system_name="quick", pq_name="patient", heap_size_gb=1, script_body=SCRIPT
    )
    assert created["serial"] in wire.controller.queries()


async def test_a_refused_catalog_read_says_so(tools: ToolCaller, wire: WireHarness) -> None:
    """Bug 11: a worker's refusal to fetch a database table read as 'neither historical nor live'."""
    wire.controller.add_query("someone_elses", running=True)
    wire.proxy.forbidden_namespaces["Internal"] = (
        "User alice may not fetch tables through query someone_elses"
    )
    message = await tools.error(
        "catalog_table_sample",
        session_id=f"enterprise:{SYSTEM}:someone_elses",
        namespace="Internal",
        table_name="AuditLog",
    )
    assert "refused" in message and "may not fetch tables" in message, message
    assert "neither" not in message


async def test_catalog_reads_ask_the_worker_for_database_tickets(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """The real client's tickets: the catalog, then historical before live."""
    wire.controller.add_query("reader", running=True)
    session_id = f"enterprise:{SYSTEM}:reader"
    listed = await tools.ok("catalog_tables_list", session_id=session_id)
    assert listed["row_count"] == 7
    sample = await tools.ok(
        "catalog_table_sample",
        session_id=session_id,
        namespace="MarketUS",
        table_name="LiveTicks",
        max_rows=2,
        format="json-row",
    )
    assert sample["row_count"] == 2
    assert wire.proxy.database_fetches == [
        b"d/catalog",
        b"d/hist/MarketUS/LiveTicks",
        b"d/live/MarketUS/LiveTicks",
    ]


async def test_restart_and_modify_with_restart(tools: ToolCaller, wire: WireHarness) -> None:
    serial = wire.controller.add_query("cycled", running=True)
    restarted = await tools.ok("pq_restart", system_name=SYSTEM, pq_identifier="cycled")
    assert restarted["serial"] == serial
    assert list(
        wire.controller.log.last("restartQuery", controller_pb2.RestartQueryRequest).serials
    ) == [serial]
    await tools.ok("pq_modify", pq_id=f"enterprise:{SYSTEM}:cycled", heap_size_gb=2, restart=True)
    assert _modified(wire).doRestart is True
    wire.controller.wait_for_status(serial, "PQS_RUNNING")


async def test_a_deleted_query_is_gone_from_the_next_read(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """pq_delete answered before the map dropped the query, so pq_details still found it."""
    wire.controller.add_query("short_lived")
    wire.controller.removal_notice_delay = 0.5
    await tools.ok("pq_delete", system_name=SYSTEM, pq_identifier="short_lived")
    assert "No persistent query" in await tools.error(
        "pq_details", system_name=SYSTEM, pq_identifier="short_lived"
    )


# -- found by this harness and the fake-parity tests ----------------------------------------------


async def test_deleting_a_worker_while_the_map_lags_behind(
    tools: ToolCaller, wire: WireHarness
) -> None:
    """Closing the session deleted the query, our own delete then met NOT_FOUND, and the map
    (a moment behind the controller) still listed it: the delete was reported as failed."""
    wire.controller.removal_notice_delay = 0.5
    await tools.ok("session_enterprise_create", system_name=SYSTEM, session_name="lagging")
    serial = wire.controller.query("lagging").config.serial
    deleted = await tools.ok(
        "session_enterprise_delete", system_name=SYSTEM, session_name="lagging"
    )
    assert deleted["message"] == "Session deleted successfully"
    assert serial not in wire.controller.queries()


async def test_closing_the_server_logs_out_after_a_failed_worker_close(
    wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    """After a worker's session failed to close, SessionManager.close() closed it again, and
    its delete_query of the already-deleted query was refused: close() stopped before logging
    out, leaving the login, its threads and the session's keep-alive timer running."""
    config = McpConfig.model_validate({"enterprise": {"systems": {SYSTEM: wire_system}}})
    async with Client(build_systems_server(config=config), timeout=120) as client:
        tools = ToolCaller(client)
        await tools.ok("session_enterprise_create", system_name=SYSTEM, session_name="orphan")
        wire.proxy.refuse = grpc.StatusCode.UNAVAILABLE
        await tools.call("session_enterprise_delete", system_name=SYSTEM, session_name="orphan")
        wire.proxy.refuse = None  # the worker is back; shutting down can close everything
    assert wire.logged_out(timeout=2), "the SessionManager is still logged in"
    for _ in range(100):  # the server sees the subscription end a moment after the logout
        if wire.controller.subscriber_count == 0:
            break
        await asyncio.sleep(0.02)
    assert wire.controller.subscriber_count == 0
