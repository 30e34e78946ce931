"""``dh-mcp systems`` and ``dh-mcp pq ...`` in a subprocess against the Enterprise wire fakes
(gRPC and HTTP on 127.0.0.1, so another process reaches them as a real install)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._cli import Ran, environment, run
from tests.enterprise.wire.fixtures import wire, wire_database, wire_tls  # noqa: F401
from tests.enterprise.wire.harness import WireHarness

pytestmark = pytest.mark.integration

SYSTEM = "prod"


@pytest.fixture
def home(wire: WireHarness, tmp_path: Path) -> Path:  # noqa: F811
    """A working directory whose config.json names the fake install ``prod``."""
    wire.check_clients_closed = False  # the clients are in the CLI's process, not this one
    config = {"enterprise": {"systems": {SYSTEM: wire.system_config()}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return tmp_path


def cli(home: Path, *args: str, **env: str) -> Ran:
    return run(*args, "--config", str(home / "config.json"), cwd=home, env=environment(**env))


def test_systems_and_the_life_of_a_query(wire: WireHarness, home: Path) -> None:  # noqa: F811
    status = cli(home, "systems", "--connect").json()
    assert [(item["name"], item["status"]) for item in status["systems"]] == [(SYSTEM, "ONLINE")]
    from tests.enterprise.wire.harness import PASSWORD

    assert PASSWORD not in json.dumps(status)  # the config is redacted
    serial = wire.controller.add_query("nightly")
    wire.controller.add_query("hourly")

    listed = cli(home, "pq", "list", SYSTEM).json()
    assert listed["system_name"] == SYSTEM
    assert sorted(item["name"] for item in listed["pqs"]) == ["hourly", "nightly"]

    started = cli(home, "pq", "start", SYSTEM, "nightly", "--timeout", "30").json()
    assert started["serial"] == serial and started["state"] == "RUNNING"
    assert started["session_id"] == f"enterprise:{SYSTEM}:nightly"
    details = cli(home, "pq", "details", SYSTEM, str(serial)).json()
    assert details["name"] == "nightly" and details["state"] == "RUNNING"

    restarted = cli(home, "pq", "restart", SYSTEM, "nightly").json()
    assert restarted["state"] == "RUNNING"
    stopped = cli(home, "pq", "stop", SYSTEM, "nightly").json()
    assert stopped["state"] == "STOPPED"
    asked = cli(home, "pq", "start", SYSTEM, "nightly", "--no-wait").json()
    assert asked["serial"] == serial
    wire.controller.wait_for_status("nightly", "PQS_RUNNING")

    # Several at once answer per query; one failure makes the exit code 1.
    batch = cli(home, "pq", "stop", SYSTEM, "nightly", "nope")
    assert batch.code == 1
    answer = json.loads(batch.out)
    assert (answer["succeeded"], answer["failed"]) == (1, 1)
    assert [entry["success"] for entry in answer["results"]] == [True, False]

    deleted = cli(home, "pq", "delete", SYSTEM, "nightly", "hourly").json()
    assert deleted["succeeded"] == 2 and wire.controller.queries() == {}
    assert wire.logged_out()  # every CLI process logged out as it ended


def test_terminal_tables_and_errors(wire: WireHarness, home: Path) -> None:  # noqa: F811
    wire.controller.add_query("nightly", running=True)
    shown = cli(home, "pq", "list", SYSTEM, TTY_COMPATIBLE="1")
    assert (
        shown.code == 0 and "┃" in shown.out and "nightly" in shown.out and "RUNNING" in shown.out
    )
    missing = cli(home, "pq", "details", SYSTEM, "nope")
    assert missing.code == 1 and missing.err.startswith("dh-mcp: error: ")
    assert len(missing.err.splitlines()) == 1 and "nope" in missing.err
    unknown = cli(home, "pq", "list", "elsewhere")
    assert unknown.code == 1 and "elsewhere" in unknown.err
    refused = cli(home, "pq", "stop", SYSTEM, "nightly", "--read-only")
    assert refused.code == 1 and "read-only" in refused.err
    assert cli(home, "pq", "start", SYSTEM).code == 2  # no query named
