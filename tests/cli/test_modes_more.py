"""The rest of ``dh-mcp``'s commands in both modes, through the installed script: the
Enterprise ones against the wire fakes (drawn with ``TTY_COMPATIBLE=1``, as rich reads a
terminal), and the set-up commands, which print the same lines either way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli._cli import Ran, environment, run
from tests.enterprise.wire.fixtures import wire, wire_database, wire_tls  # noqa: F401
from tests.enterprise.wire.harness import WireHarness

pytestmark = pytest.mark.integration

SYSTEM = "prod"
DRAWN = ("┃", "│", "╭")


@pytest.fixture
def home(wire: WireHarness, tmp_path: Path) -> Path:  # noqa: F811
    wire.check_clients_closed = False  # the clients are in the CLI's processes
    config = {"enterprise": {"systems": {SYSTEM: wire.system_config()}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return tmp_path


def cli(home: Path, *args: str, terminal: bool) -> Ran:
    env = environment(TTY_COMPATIBLE="1" if terminal else "0", HOME=str(home))
    return run(*args, "--config", str(home / "config.json"), cwd=home, env=env)


def test_enterprise_commands_in_both_modes(wire: WireHarness, home: Path) -> None:  # noqa: F811
    serial = wire.controller.add_query("nightly")
    steps = [
        ("systems", "--connect"),
        ("pq", "details", SYSTEM, "nightly"),
        ("pq", "start", SYSTEM, "nightly", "--timeout", "30"),
        ("pq", "restart", SYSTEM, "nightly", "--timeout", "30"),
        ("pq", "stop", SYSTEM, "nightly", "--timeout", "30"),
    ]
    for step in steps:
        drawn = cli(home, *step, terminal=True)
        assert drawn.code == 0, (step, drawn.err)
        assert any(frame in drawn.out for frame in DRAWN), (step, drawn.out)
        piped = cli(home, *step, terminal=False)
        assert piped.code == 0, (step, piped.err)
        assert isinstance(json.loads(piped.out), dict), step
    both = cli(home, "pq", "delete", SYSTEM, "nightly", str(serial), terminal=True)
    assert both.code == 1  # the second name is the same query, gone by then
    assert any(frame in both.out for frame in DRAWN) and "1 succeeded, 1 failed" in both.out
    assert wire.controller.queries() == {}


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "piped"])
def test_set_up_commands_in_both_modes(home: Path, terminal: bool) -> None:
    checked = cli(home, "config", "check", terminal=terminal)
    assert checked.code == 0 and "valid" in checked.out and "1 enterprise system" in checked.out
    printed = cli(home, "install", "cursor", "--print", terminal=terminal)
    assert printed.code == 0 and json.loads(printed.out)["mcpServers"]["deephaven"]["command"]
    assert not (home / ".cursor").exists()  # --print writes nothing
    doctor = cli(home, "doctor", terminal=terminal)
    system_line = [line for line in doctor.out.splitlines() if f"system '{SYSTEM}'" in line]
    verdict = re.sub(r"\x1b\[[0-9;]*m", "", system_line[0]) if system_line else ""
    assert verdict.startswith("ok"), doctor.out  # coloured on a terminal, plain when piped
    assert ("\x1b[" in doctor.out) == terminal
    # Nothing this configuration needs is missing here (no launches: java, docker and
    # the sandbox are at most warnings), so the doctor passes.
    assert doctor.code == 0, doctor.out
