"""``dh-mcp launch`` keeps its worker while it runs; ``dh-mcp stop`` from another process, or
Ctrl-C, stops it, and no worker outlives the launch process."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import signal
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests._workers import RunningWorker
from tests.cli._cli import DH_MCP, environment, run

pytestmark = pytest.mark.integration
STARTUP = 240


@pytest.fixture(scope="module")
def home(dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with a config that launches python workers, and a state dir."""
    path = tmp_path_factory.mktemp("cli-launch")
    config = {
        # The API may return the token, so what keeps it off the screen is the CLI.
        "security": {"community": {"credential_retrieval_mode": "dynamic_only"}},
        "community": {
            "sessions": {"local": {"host": dh_worker.host, "port": dh_worker.port}},
            "session_creation": {
                "defaults": {"launch_method": "python", "heap_size_gb": 1, "startup_retries": 0}
            },
        },
    }
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (path / "state").mkdir(mode=0o700)
    return path


def _env(home: Path) -> dict[str, str]:
    return environment(DH_MCP_STATE_DIR=str(home / "state"))


class Launch:
    """A running ``dh-mcp launch NAME`` and what it printed once its worker was up."""

    def __init__(self, home: Path, name: str, *options: str, stderr: int = subprocess.PIPE) -> None:
        self.process = subprocess.Popen(
            [DH_MCP, "launch", name, "--config", str(home / "config.json"), *options],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=home,
            env=_env(home),
        )
        self.answer: dict[str, Any] = {}
        self.err = ""

    def started(self) -> dict[str, Any]:
        line: list[str] = []
        assert self.process.stdout is not None
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(STARTUP)
        assert line and line[0], f"no answer from launch: {self.finish()}"
        self.answer = json.loads(line[0])
        return self.answer

    def finish(self, timeout: float = 120) -> int:
        """Wait for the process to end (killed if it does not); its exit code."""
        try:
            _, self.err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.err = self.process.communicate()
        return self.process.returncode


@pytest.fixture
def launches() -> Iterator[list[Launch]]:
    started: list[Launch] = []
    yield started
    for launch in started:
        if launch.process.poll() is None:
            launch.process.kill()
            launch.process.wait(30)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_from_another_process_stops_the_worker(home: Path, launches: list[Launch]) -> None:
    launch = Launch(home, "cli_stop")
    launches.append(launch)
    answer = launch.started()
    assert answer["session_id"] == "community:dynamic:cli_stop"
    assert answer["connection_url"].startswith("http://127.0.0.1:")
    assert "auth_token" not in answer and "connection_url_with_auth" not in answer
    worker = answer["pid"]
    assert psutil.pid_exists(worker) and not _gone(worker)
    record = home / "state" / "cli-launches" / "cli_stop.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert json.loads(record.read_text())["pid"] == launch.process.pid

    again = run(
        "launch", "cli_stop", "--config", str(home / "config.json"), cwd=home, env=_env(home)
    )
    assert again.code == 2 and "already launched" in again.err

    stopped = run("stop", "cli_stop", cwd=home, env=_env(home))
    assert stopped.code == 0, stopped.err
    assert json.loads(stopped.out) == {
        "session_name": "cli_stop",
        "session_id": "community:dynamic:cli_stop",
        "launch_pid": launch.process.pid,
        "stopped": True,
    }
    assert launch.process.poll() == 0  # stop waited for the launch to end
    assert _gone(worker) and not record.exists()
    assert launch.finish() == 0 and "cli_stop stopped" in launch.err

    missing = run("stop", "cli_stop", cwd=home, env=_env(home))
    assert missing.code == 1 and missing.err.startswith("dh-mcp: error: no running")


def test_ctrl_c_stops_the_worker(home: Path, launches: list[Launch]) -> None:
    launch = Launch(home, "cli_interrupt", "--show-token")
    launches.append(launch)
    answer = launch.started()
    assert answer["auth_token"] and answer["auth_token"] in answer["connection_url_with_auth"]
    worker = answer["pid"]
    launch.process.send_signal(signal.SIGINT)
    assert launch.finish() == 0, launch.err
    assert _gone(worker)
    assert not (home / "state" / "cli-launches" / "cli_interrupt.json").exists()


def test_the_token_stays_off_a_terminal_unless_asked(home: Path, launches: list[Launch]) -> None:
    """The launcher prints a generated token when stderr is a terminal; dh-mcp launch keeps
    it in the private access file unless --show-token."""
    controller, terminal = pty.openpty()
    launch = Launch(home, "cli_tty", stderr=terminal)
    os.close(terminal)
    launches.append(launch)
    shown: list[bytes] = []

    def read_terminal() -> None:
        with contextlib.suppress(OSError):  # EIO once the process has closed it
            while chunk := os.read(controller, 65536):
                shown.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        answer = launch.started()
        assert "auth_token" not in answer
        (access,) = (home / "state" / "access").glob("*cli_tty*")
        token = re.search(r"Auth token:\s+(\S+)", access.read_text(encoding="utf-8"))
        assert token is not None
        launch.process.send_signal(signal.SIGTERM)
        assert launch.finish() == 0
    finally:
        reader.join(30)
        os.close(controller)
    printed = b"".join(shown).decode(errors="replace")
    assert "cli_tty is running" in printed and str(access) in printed
    assert token.group(1) not in printed
