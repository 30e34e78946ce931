"""``dh-mcp launch NAME --system SYSTEM`` keeps an Enterprise worker while it runs; ``dh-mcp
stop NAME`` from another process, or Ctrl-C, deletes it (the wire fake sees the delete)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deephaven_enterprise.proto import controller_pb2

from tests.cli._cli import DH_MCP, environment, run
from tests.enterprise.wire.fixtures import wire, wire_database, wire_tls  # noqa: F401
from tests.enterprise.wire.harness import WireHarness

pytestmark = pytest.mark.integration

SYSTEM = "prod"
STARTUP = 120


@pytest.fixture
def home(wire: WireHarness, tmp_path: Path) -> Path:  # noqa: F811
    """A config naming the fake install ``prod``, and a state directory."""
    wire.check_clients_closed = False  # the clients are in the CLI's process, not this one
    config = {"enterprise": {"systems": {SYSTEM: wire.system_config()}}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "state").mkdir(mode=0o700)
    return tmp_path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return environment(DH_MCP_STATE_DIR=str(home / "state"), **extra)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _launch(
    home: Path, name: str, *options: str, stdout: int, stderr: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            DH_MCP,
            "launch",
            name,
            "--system",
            SYSTEM,
            "--config",
            str(home / "config.json"),
            *options,
        ],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        cwd=home,
        env=_env(home),
    )


def _deleted(wire: WireHarness, serial: int) -> bool:  # noqa: F811
    removed = wire.controller.log.requests("removeQuery", controller_pb2.RemoveQueryRequest)
    return any(request.serial == serial for request in removed)


def test_stop_from_another_process_deletes_the_worker(
    wire: WireHarness,  # noqa: F811
    home: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    launch = _launch(home, "probe", "--heap", "2", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(launch)
    line: list[bytes] = []
    assert launch.stdout is not None
    reader = threading.Thread(target=lambda: line.append(launch.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(STARTUP)
    assert line and line[0], launch.communicate(timeout=30)
    answer = json.loads(line[0])
    assert answer["session_id"] == f"enterprise:{SYSTEM}:probe"
    assert answer["system_name"] == SYSTEM and answer["session_name"] == "probe"
    query = wire.controller.query("probe")  # the fake holds the worker, with our heap
    assert query.config.heapSizeGb == 2.0
    record = json.loads((home / "state" / "cli-launches" / "probe.json").read_text())
    assert (record["system_name"], record["pid"]) == (SYSTEM, launch.pid)

    again = run(
        "launch", "probe", "--system", SYSTEM, "--config", str(home / "config.json"),
        cwd=home, env=_env(home),
    )  # fmt: skip
    assert again.code == 2 and "already launched" in again.err

    stopped = run("stop", "probe", cwd=home, env=_env(home))
    assert stopped.code == 0, stopped.err
    assert json.loads(stopped.out) == {
        "session_name": "probe",
        "session_id": f"enterprise:{SYSTEM}:probe",
        "system_name": SYSTEM,
        "launch_pid": launch.pid,
        "stopped": True,
    }
    assert launch.poll() == 0  # stop waited for the launch to end
    assert _deleted(wire, query.config.serial)
    assert query.config.serial not in wire.controller.queries()
    _, err = launch.communicate(timeout=30)
    assert f"probe deleted from {SYSTEM}" in err.decode()
    assert not (home / "state" / "cli-launches" / "probe.json").exists()


def test_ctrl_c_on_a_terminal_deletes_the_worker(
    wire: WireHarness,  # noqa: F811
    home: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    controller, terminal = pty.openpty()
    launch = _launch(home, "interactive", stdout=terminal, stderr=terminal)
    os.close(terminal)
    processes.append(launch)
    shown: list[bytes] = []
    running = threading.Event()

    def read_terminal() -> None:
        with contextlib.suppress(OSError):  # EIO once the process has closed it
            while chunk := os.read(controller, 65536):
                shown.append(chunk)
                if b"is running" in b"".join(shown):
                    running.set()

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        assert running.wait(STARTUP), b"".join(shown).decode(errors="replace")
        serial = wire.controller.query("interactive").config.serial
        launch.send_signal(signal.SIGINT)
        assert launch.wait(60) == 0
    finally:
        reader.join(30)
        os.close(controller)
    printed = b"".join(shown).decode(errors="replace")
    assert "╭" in printed and f"enterprise:{SYSTEM}:interactive" in printed  # a panel
    assert "interactive deleted" in printed
    assert _deleted(wire, serial) and serial not in wire.controller.queries()


def test_enterprise_only_options_need_a_system(home: Path) -> None:
    ran = run("launch", "x", "--server", "s1", cwd=home, env=_env(home))
    assert ran.code == 2 and "--system" in ran.err
    token = run("launch", "x", "--system", SYSTEM, "--show-token", cwd=home, env=_env(home))
    assert token.code == 2 and "--show-token" in token.err
