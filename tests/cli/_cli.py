"""Run the installed ``dh-mcp`` script in a subprocess, piped or under a pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.cli import main

DH_MCP = str(Path(sys.executable).parent / "dh-mcp")
TIMEOUT = 180
# Variables that would make rich treat a pipe as a terminal (or the reverse).
_TERMINAL_HINTS = ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "DH_MCP_CONFIG_FILE")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _TERMINAL_HINTS}
    env.update(COLUMNS="200", **extra)
    return env


def run(*args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
    """``dh-mcp args`` with stdout and stderr piped."""
    done = subprocess.run(
        [DH_MCP, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or environment(),
        timeout=TIMEOUT,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def run_in_terminal(*args: str, cwd: Path) -> Ran:
    """``dh-mcp args`` with stdout on a pseudo-terminal (stderr piped), as a person runs it."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [DH_MCP, *args],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=environment(),
    ) as process:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(controller)
        assert process.stderr is not None
        err = process.stderr.read().decode()
        code = process.wait(TIMEOUT)
    return Ran(code, b"".join(chunks).decode(errors="replace"), err)


def run_here(
    *args: str, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Ran:
    """``dh-mcp args`` in this process (its main function): the same code without the cost
    of starting Python again, for the variations of a command tested in a subprocess."""
    monkeypatch.chdir(cwd)
    for name in _TERMINAL_HINTS:
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)
