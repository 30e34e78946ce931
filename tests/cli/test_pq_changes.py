"""``dh-mcp pq create`` and ``dh-mcp pq modify`` in a subprocess against the Enterprise wire
fake: what the controller was sent (heap, script, schedule, environment), the operator's
policy refusing a setting, and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deephaven_enterprise.proto import controller_pb2

from tests.cli._cli import Ran, environment, run
from tests.enterprise.wire.fixtures import wire, wire_database, wire_tls  # noqa: F401
from tests.enterprise.wire.harness import WireHarness

pytestmark = pytest.mark.integration

SYSTEM = "prod"
SCRIPT = "from deephaven import empty_table\nready = empty_table(2)\n"
# What the operator lets a caller set beyond name, heap, language and server.
ALLOWED = ["script_body", "schedule", "extra_environment_vars", "enabled"]


@pytest.fixture
def home(wire: WireHarness, tmp_path: Path) -> Path:  # noqa: F811
    """A working directory whose config.json names the fake install ``prod``."""
    wire.check_clients_closed = False  # the clients are in the CLI's process, not this one
    system = {**wire.system_config(), "agent_limits": {"agent_may_set": ALLOWED}}
    config = {"enterprise": {"systems": {SYSTEM: system}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return tmp_path


def cli(home: Path, *args: str, stdin: str | None = None, **env: str) -> Ran:
    return run(
        *args,
        "--config",
        str(home / "config.json"),
        cwd=home,
        stdin=stdin,
        env=environment(**env),
    )


def _added(wire: WireHarness) -> controller_pb2.AddQueryRequest:  # noqa: F811
    return wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest)


def test_create_from_a_file_on_a_daily_schedule_built_from_flags(
    wire: WireHarness,  # noqa: F811
    home: Path,
) -> None:
    (home / "load.py").write_text(SCRIPT, encoding="utf-8")
    created = cli(
        home,
        "pq", "create", SYSTEM, "nightly_load", "--heap", "2", "--script", "load.py",
        "--schedule", "daily", "--start-time", "08:00:00", "--stop-time", "18:00:00",
        "--time-zone", "Europe/London", "--days", "MON,TUE", "--env", "FOO=bar",
        "--env", "LEVEL=3",
    ).json()  # fmt: skip
    assert created["pq_name"] == "nightly_load" and created["configuration_type"] == "Script"
    assert created["schedule"]["type"] == "daily"
    sent = _added(wire).config
    assert (sent.name, sent.heapSizeGb, sent.scriptCode) == ("nightly_load", 2.0, SCRIPT)
    assert sent.scheduling[0].endswith("IrisQuerySchedulerDaily")
    assert {
        "StartTime=08:00:00",
        "StopTime=18:00:00",
        "TimeZone=Europe/London",
        "Days=true=true=false=false=false=false=false",
    } <= set(sent.scheduling)
    assert list(sent.extraEnvironmentVariables) == ["FOO", "bar", "LEVEL", "3"]
    assert wire.controller.query(created["serial"]).config.name == "nightly_load"


def test_create_from_stdin_on_a_terminal_disabled(wire: WireHarness, home: Path) -> None:  # noqa: F811
    shown = cli(
        home,
        "pq", "create", SYSTEM, "manual_job", "--heap", "1", "--script", "-", "--disabled",
        stdin=SCRIPT, TTY_COMPATIBLE="1",
    )  # fmt: skip
    assert shown.code == 0, shown.err
    assert "manual_job" in shown.out and "╭" in shown.out  # a panel, not JSON
    sent = _added(wire).config
    assert (sent.scriptCode, sent.enabled, sent.heapSizeGb) == (SCRIPT, False, 1.0)
    assert wire.controller.status_name("manual_job") != "PQS_RUNNING"


def test_the_operators_policy_refuses_a_setting(wire: WireHarness, home: Path) -> None:  # noqa: F811
    refused = cli(
        home, "pq", "create", SYSTEM, "big", "--heap", "1", "--script", "-",
        "--jvm-profile", "Large", stdin=SCRIPT,
    )  # fmt: skip
    assert refused.code == 1 and refused.out == ""
    assert len(refused.err.splitlines()) == 1 and refused.err.startswith("dh-mcp: error: ")
    assert "jvm_profile" in refused.err and "agent_may_set" in refused.err
    assert "addQuery" not in wire.controller.log.methods()


def test_usage_errors_exit_2(wire: WireHarness, home: Path) -> None:  # noqa: F811
    no_heap = cli(home, "pq", "create", SYSTEM, "x", "--script", "-", stdin=SCRIPT)
    assert no_heap.code == 2 and "--heap" in no_heap.err
    stray = cli(
        home, "pq", "create", SYSTEM, "x", "--heap", "1", "--script", "-",
        "--start-time", "08:00:00", stdin=SCRIPT,
    )  # fmt: skip
    assert stray.code == 2 and "--schedule" in stray.err
    missing = cli(home, "pq", "create", SYSTEM, "x", "--heap", "1", "--script", "nope.py")
    assert missing.code == 2 and "nope.py" in missing.err
    assert "addQuery" not in wire.controller.log.methods()


def test_modify_and_restart(wire: WireHarness, home: Path) -> None:  # noqa: F811
    serial = wire.controller.add_query("feed", running=True)
    modified = cli(
        home,
        "pq", "modify", SYSTEM, "feed", "--heap", "8", "--script", "-", "--restart",
        "--schedule", "continuous", "--start-time", "06:00:00", "--restart-daily",
        stdin=SCRIPT,
    ).json()  # fmt: skip
    assert modified["serial"] == serial and modified["restarted"] is True
    assert modified["pq_id"] == f"enterprise:{SYSTEM}:feed"
    request = wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest)
    assert request.doRestart is True
    sent = request.config
    assert (sent.serial, sent.heapSizeGb, sent.scriptCode) == (serial, 8.0, SCRIPT)
    assert {"StartTime=06:00:00", "DailyRestart=true"} <= set(sent.scheduling)
    wire.controller.wait_for_status("feed", "PQS_RUNNING")

    renamed = cli(home, "pq", "modify", SYSTEM, str(serial), "--name", "feed2").json()
    assert renamed["name"] == "feed2" and renamed["restarted"] is False
    last = wire.controller.log.last("modifyQuery", controller_pb2.ModifyQueryRequest)
    assert last.doRestart is False and last.config.name == "feed2"
    assert last.config.heapSizeGb == 8.0  # the rest stays as it was

    nothing = cli(home, "pq", "modify", SYSTEM, "feed2")
    assert nothing.code == 2 and "nothing to change" in nothing.err
