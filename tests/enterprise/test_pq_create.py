"""``pq_create`` makes real persistent queries (issue 19, item 2), checked on the wire.

Through an MCP client against the wire harness (the real Core+ client and a controller fake
that validates and schedules like the controller): each form of schedule, what the answer
says about starting, the script from ``script_body`` or a file under
``security.script_path_roots``, the controller's refusals, and ``pq_details`` showing it all
back. Plus the schedule model and its window arithmetic, without Java.
"""

from __future__ import annotations

import asyncio
import zoneinfo
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from deephaven_enterprise.proto import controller_pb2
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.enterprise import Schedule, describe_schedule
from deephaven_mcp.enterprise.schedule import in_daily_window, starts_now
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.enterprise.wire.controller_service import Failure, config_problem, should_run_now
from tests.enterprise.wire.harness import WireHarness
from tests.mcp_systems_server._helpers import ToolCaller

SYSTEM = "prod"
SCRIPT = "from deephaven import empty_table\nready = empty_table(2)\n"
ALLOWED = ["script_body", "script_path", "schedule", "configuration_type", "enabled"]
DAILY = "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerDaily"


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    """A script in the configured script_path root."""
    root = tmp_path / "scripts"
    root.mkdir()
    path = root / "job.py"
    path.write_text(SCRIPT)
    return path


@pytest.fixture
async def tools(
    wire: WireHarness, wire_system: dict[str, Any], script_file: Path
) -> AsyncIterator[ToolCaller]:
    root = script_file.parent
    config = McpConfig.model_validate(
        {
            "enterprise": {
                "systems": {SYSTEM: {**wire_system, "agent_limits": {"agent_may_set": ALLOWED}}}
            },
            "security": {"script_path_roots": [str(root)]},
        }
    )
    async with Client(build_systems_server(config=config), timeout=120) as client:
        yield ToolCaller(client)


def _added(wire: WireHarness) -> Any:
    return wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest).config


async def _create(tools: ToolCaller, name: str, **arguments: Any) -> dict[str, Any]:
    return await tools.ok(
        "pq_create", system_name=SYSTEM, pq_name=name, heap_size_gb=1, **arguments
    )


async def _state_becomes(tools: ToolCaller, name: str, state: str) -> dict[str, Any]:
    for _ in range(100):
        details = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier=name)
        if details["state"] == state:
            return details
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never became {state}: {details['state']}")


def _window_around_now(zone: str, *, open_: bool) -> dict[str, Any]:
    """A daily schedule whose window is open now (or just closed), every day."""
    now = datetime.now(UTC).astimezone(zoneinfo.ZoneInfo(zone))
    hour = now.hour
    if open_:
        start, stop = f"{(hour - 1) % 24:02d}:00:00", f"{(hour + 1) % 24:02d}:59:59"
    else:
        start, stop = f"{(hour + 2) % 24:02d}:00:00", f"{(hour + 3) % 24:02d}:00:00"
    return {"type": "daily", "start_time": start, "stop_time": stop, "time_zone": zone}


async def test_a_continuous_query_runs_its_script_at_once(
    tools: ToolCaller, wire: WireHarness
) -> None:
    created = await _create(tools, "live", script_body=SCRIPT)
    assert created["starts_now"] is True and created["enabled"] is True
    assert created["schedule"] == {"type": "continuous"}
    assert "the controller starts it now (continuous schedule)" in created["message"]
    added = _added(wire)
    assert (added.configurationType, added.scriptCode, added.enabled) == ("Script", SCRIPT, True)
    assert added.scheduling[0].endswith("IrisQuerySchedulerContinuous")
    # Nobody asked the controller to start it: its scheduler did, and it serves data.
    assert "restartQuery" not in wire.controller.log.methods()
    running = await _state_becomes(tools, "live", "RUNNING")
    listed = await tools.ok("session_tables_list", session_id=running["session_id"])
    assert "simple_people" in listed["table_names"]
    config = running["config"]
    assert config["configuration_type"] == "Script" and config["script_code"] == SCRIPT
    assert config["schedule"]["type"] == "continuous"


@pytest.mark.parametrize("open_", [True, False])
async def test_a_daily_query_starts_only_inside_its_window(
    tools: ToolCaller, wire: WireHarness, open_: bool
) -> None:
    schedule = _window_around_now("Asia/Tokyo", open_=open_)
    created = await _create(tools, "daily", script_body=SCRIPT, schedule=schedule)
    assert created["starts_now"] is open_
    added = _added(wire)
    assert added.scheduling[0] == DAILY
    assert {f"StartTime={schedule['start_time']}", "TimeZone=Asia/Tokyo"} <= set(added.scheduling)
    if open_:
        await _state_becomes(tools, "daily", "RUNNING")
    else:
        assert f"starts it at {schedule['start_time']} Asia/Tokyo" in created["message"]
        await asyncio.sleep(0.3)
        details = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="daily")
        assert details["state"] == "UNINITIALIZED"
        assert details["config"]["schedule"] == {
            "type": "daily",
            "start_time": schedule["start_time"],
            "stop_time": schedule["stop_time"],
            "time_zone": "Asia/Tokyo",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "business_days": False,
        }


async def test_manual_temporary_and_disabled_queries_wait_for_pq_start(
    tools: ToolCaller, wire: WireHarness
) -> None:
    manual = await _create(tools, "manual", script_body=SCRIPT, schedule={"type": "manual"})
    temporary = await _create(
        tools, "temp", script_body=SCRIPT, schedule={"type": "temporary", "auto_delete_timeout": 0}
    )
    disabled = await _create(tools, "off", script_body=SCRIPT, enabled=False)
    for answer in (manual, temporary):
        assert answer["starts_now"] is False
        assert "start it with pq_start" in answer["message"]
    assert disabled["starts_now"] is False and disabled["enabled"] is False
    assert "disabled" in disabled["message"]
    await asyncio.sleep(0.3)
    for name in ("manual", "temp", "off"):
        details = await tools.ok("pq_details", system_name=SYSTEM, pq_identifier=name)
        assert details["state"] == "UNINITIALIZED", name
    assert (await tools.ok("pq_details", system_name=SYSTEM, pq_identifier="temp"))["config"][
        "schedule"
    ] == {"type": "temporary", "auto_delete": True, "expiration_minutes": 2880}
    started = await tools.ok(
        "pq_start", system_name=SYSTEM, pq_identifier="manual", timeout_seconds=30
    )
    assert started["state"] == "RUNNING"


async def test_a_temporary_query_is_gone_after_its_expiration(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.expiry_scale = 1 / 600  # a minute becomes 0.1 s
    created = await _create(
        tools, "brief", script_body=SCRIPT, schedule={"type": "temporary", "expiration_minutes": 2}
    )
    assert "TemporaryExpirationTimeMillis=120000" in _added(wire).scheduling
    for _ in range(100):
        if created["serial"] in wire.controller.expired:
            break
        await asyncio.sleep(0.05)
    assert created["serial"] in wire.controller.expired
    assert "No persistent query" in await tools.error(
        "pq_details", system_name=SYSTEM, pq_identifier="brief"
    )


async def test_a_batch_query_and_a_script_file(
    tools: ToolCaller, wire: WireHarness, script_file: Path
) -> None:
    created = await _create(
        tools,
        "batch",
        script_path=str(script_file),
        configuration_type="RunAndDone",
        schedule={"type": "manual"},
    )
    assert created["configuration_type"] == "RunAndDone"
    assert (_added(wire).configurationType, _added(wire).scriptCode) == ("RunAndDone", SCRIPT)


async def test_refusals_come_before_the_controller(tools: ToolCaller, wire: WireHarness) -> None:
    assert "a Script query runs a script" in await tools.error(
        "pq_create", system_name=SYSTEM, pq_name="empty", heap_size_gb=1
    )
    message = await tools.error(
        "pq_create",
        system_name=SYSTEM,
        pq_name="merge",
        heap_size_gb=1,
        script_body=SCRIPT,
        configuration_type="Merge",
    )
    assert message == (
        "configuration_type 'Merge' is not offered by this controller "
        "(it has: InteractiveConsole, RunAndDone, Script)"
    )
    assert "schedule.stop_time" in await tools.error(
        "pq_create",
        system_name=SYSTEM,
        pq_name="bad",
        heap_size_gb=1,
        script_body=SCRIPT,
        schedule={"type": "daily", "start_time": "08:00:00", "stop_time": "25:00:00"},
    )
    assert "script_path is not allowed" in await tools.error(
        "pq_create", system_name=SYSTEM, pq_name="f", heap_size_gb=1, script_path="/etc/passwd"
    )
    assert "addQuery" not in wire.controller.log.methods()


async def test_the_controllers_own_refusal_reaches_the_caller(
    tools: ToolCaller, wire: WireHarness
) -> None:
    wire.controller.fail_next(
        "addQuery", Failure(grpc.StatusCode.INVALID_ARGUMENT, "JVM profile 'Huge' is not defined")
    )
    message = await tools.error(
        "pq_create", system_name=SYSTEM, pq_name="x", heap_size_gb=1, script_body=SCRIPT
    )
    assert "JVM profile 'Huge' is not defined" in message


async def test_pq_modify_takes_a_schedule_and_a_script_file(
    tools: ToolCaller, wire: WireHarness, script_file: Path
) -> None:
    await _create(tools, "later", script_body="x = 1", schedule={"type": "manual"})
    await tools.ok(
        "pq_modify",
        pq_id=f"enterprise:{SYSTEM}:later",
        script_path=str(script_file),
        schedule={"type": "continuous"},
    )
    modified = wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest).config
    assert modified.scriptCode == SCRIPT
    assert modified.scheduling[0].endswith("IrisQuerySchedulerContinuous")
    # Now enabled and continuous: the controller starts it by itself.
    await _state_becomes(tools, "later", "RUNNING")


# -- the fake controller, checked against its own rules (no client) ---------------------------


def test_the_fake_refuses_what_the_controller_refuses() -> None:
    from deephaven_enterprise.proto import persistent_query_pb2 as pq_pb

    assert config_problem(pq_pb.PersistentQueryConfigMessage(configurationType="Nope")) == (
        "Unknown configuration type 'Nope'"
    )
    assert "requires a script" in str(
        config_problem(pq_pb.PersistentQueryConfigMessage(configurationType="Script"))
    )
    console = pq_pb.PersistentQueryConfigMessage(configurationType="InteractiveConsole")
    assert config_problem(console) is None
    continuous = pq_pb.PersistentQueryConfigMessage(
        enabled=True,
        scheduling=["SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerContinuous"],
    )
    assert should_run_now(continuous, 0.0)
    continuous.enabled = False
    assert not should_run_now(continuous, 0.0)


# -- the schedule model (no Java) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ({"type": "daily", "start_time": "08:00:00"}, "needs start_time and stop_time"),
        ({"type": "continuous", "stop_time": "09:00:00"}, "does not apply to a continuous"),
        ({"type": "manual", "time_zone": "UTC"}, "does not apply to a manual"),
        ({"type": "temporary", "days": ["mon"]}, "does not apply to a temporary"),
        ({"type": "continuous", "restart_daily": True}, "restart_daily needs start_time"),
        ({"type": "daily", "start_time": "8:00", "stop_time": "09:00:00"}, "HH:MM:SS"),
        (
            {"type": "daily", "start_time": "08:00:00", "stop_time": "09:00:00", "days": []},
            "at least one day",
        ),
        (
            {"type": "continuous", "time_zone": "Mars/Olympus"},
            "not an IANA time zone",
        ),
        ({"type": "temporary", "expiration_minutes": 0}, "greater than or equal to 1"),
    ],
)
def test_schedules_are_checked(given: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Schedule.model_validate(given)


def test_daily_windows_including_overnight_and_days() -> None:
    day = Schedule(type="daily", start_time="09:00:00", stop_time="17:00:00", time_zone="UTC")
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday
    assert in_daily_window(day, monday_noon)
    assert not in_daily_window(day, monday_noon.replace(hour=17))
    assert not in_daily_window(day.model_copy(update={"days": ["tue"]}), monday_noon)
    night = Schedule(type="daily", start_time="22:00:00", stop_time="06:00:00", time_zone="UTC")
    assert in_daily_window(night, monday_noon.replace(hour=23))
    assert in_daily_window(night, monday_noon.replace(hour=3))  # Sunday's window
    assert not in_daily_window(
        night.model_copy(update={"days": ["mon"]}), monday_noon.replace(hour=3)
    )
    assert not in_daily_window(day.model_copy(update={"business_days": True}), monday_noon)
    tokyo = Schedule(
        type="daily", start_time="20:00:00", stop_time="22:00:00", time_zone="Asia/Tokyo"
    )
    assert in_daily_window(tokyo, monday_noon)  # 21:00 in Tokyo
    assert starts_now(Schedule(type="continuous"), True, monday_noon)
    assert not starts_now(Schedule(type="continuous"), False, monday_noon)
    assert not starts_now(Schedule(type="manual"), True, monday_noon)


def test_describe_reads_every_kind_back() -> None:
    assert describe_schedule([]) == {"type": "none"}
    assert describe_schedule(["SchedulingDisabled=true", f"{DAILY}"]) == {"type": "manual"}
    monthly = ["SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerMonthly"]
    assert describe_schedule(monthly) == {
        "type": "other",
        "scheduler": "com.illumon.iris.controller.IrisQuerySchedulerMonthly",
    }


# -- every field of what this project sends ------------------------------------------------


def _as_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]

    fields: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True)
    return fields


async def test_the_add_query_request_field_by_field(
    tools: ToolCaller, wire: WireHarness, wire_system: dict[str, Any]
) -> None:
    """Every field of the addQuery config, compared whole: what make_temporary_config fills
    in, what the arguments set, and every scheduling entry, nothing more."""
    await _create(
        tools,
        "full",
        script_body=SCRIPT,
        configuration_type="RunAndDone",
        enabled=False,
        schedule={
            "type": "daily",
            "start_time": "07:30:00",
            "stop_time": "19:00:00",
            "time_zone": "Europe/Paris",
            "days": ["mon", "fri"],
        },
    )
    sent = _as_dict(_added(wire))
    assert sent == {
        "serial": str(-(2**63)),  # "assign me one" (Java's Long.MIN_VALUE)
        "name": "full",
        "version": "1",
        "owner": wire_system["username"],
        # enabled is False: proto3 sends a false bool as nothing at all (True would show)
        "heapSizeGb": 1.0,
        "bufferPoolToHeapRatio": 0.25,
        "detailedGCLoggingEnabled": True,
        "serverName": "Query_1",
        "restartUsers": "RU_ADMIN",
        "scriptCode": SCRIPT,
        "scriptLanguage": "Python",
        "configurationType": "RunAndDone",
        "scheduling": [
            "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerDaily",
            "StartTime=07:30:00",
            "StopTime=19:00:00",
            "TimeZone=Europe/Paris",
            "Calendar=USNYSE",
            "SkipIfUnsuccessful=false",
            "StopTimeDisabled=false",
            "Overnight=false",
            "RepeatEnabled=false",
            "RestartErrorCount=0",
            "RestartErrorDelay=0",
            "RestartWhenRunning=Yes",
            "SchedulingDisabled=false",
            "BusinessDays=false",
            "Days=true=false=false=false=true=false=false",
        ],
        "timeoutNanos": str(60 * 1_000_000_000),
        "jvmProfile": "Default",
        "workerKind": "DeephavenCommunity",
    }


async def test_the_modify_query_request_changes_only_what_was_given(
    tools: ToolCaller, wire: WireHarness
) -> None:
    await _create(tools, "edit", script_body="x = 1", schedule={"type": "manual"})
    before = _as_dict(wire.controller.query("edit").config)
    await tools.ok(
        "pq_modify",
        pq_id=f"enterprise:{SYSTEM}:edit",
        script_body=SCRIPT,
        enabled=False,
        schedule={"type": "temporary", "expiration_minutes": 60},
        heap_size_gb=2,
    )
    sent = _as_dict(
        wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest).config
    )
    changed = {key for key in before.keys() | sent.keys() if before.get(key) != sent.get(key)}
    # The controller bumps the version and stamps who changed it when it saves a change.
    stamps = {"version", "lastModifiedTimeNanos", "lastModifiedByAuthenticated"}
    stamps |= {"lastModifiedByEffective", "createdTimeNanos"}
    assert changed - stamps == {"scriptCode", "enabled", "scheduling", "heapSizeGb"}
    assert "enabled" not in sent  # False: nothing on the wire (it was true before)
    assert before["enabled"] is True
    assert (sent["scriptCode"], sent["heapSizeGb"]) == (SCRIPT, 2.0)
    assert sent["scheduling"] == [
        "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerTemporary",
        "StartTime=00:00:00",
        "TimeZone=America/New_York",
        "SkipIfUnsuccessful=false",
        "StopTimeDisabled=true",
        "Overnight=false",
        "RepeatEnabled=false",
        "RestartErrorCount=0",
        "RestartErrorDelay=0",
        "RestartWhenRunning=Yes",
        "SchedulingDisabled=false",
        "TemporaryQueueName=InteractiveConsoleTemporaryQueue",
        "TemporaryAutoDelete=false",
        "TemporaryExpirationTimeMillis=3600000",
    ]
