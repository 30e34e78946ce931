"""Start real Deephaven workers for tests (never a mock of pydeephaven).

Workers run ``worker_bootstrap.py`` in a subprocess on a port chosen by the OS, so tests
can run in parallel with anything else on the machine and can be killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from deephaven_mcp.demo import demo_script

BOOTSTRAP = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "deephaven_mcp"
    / "launchers"
    / "worker_bootstrap.py"
)
STARTUP_TIMEOUT = 180.0
# If the test process dies (even by a crash), the kernel kills its workers too.
_SETPRIV = shutil.which("setpriv")
_DIE_WITH_PARENT = [_SETPRIV, "--pdeathsig", "KILL", "--"] if _SETPRIV else []


@dataclass
class RunningWorker:
    """A running worker process and how to reach it."""

    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    psk: str | None = None
    table_group: str | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def kill(self) -> None:
        """SIGKILL the worker, like a crash."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(
    workdir: Path,
    *,
    psk: str | None = None,
    table_group: str | None = "all",
    port: int = 0,
    heap: str = "-Xmx1g",
) -> RunningWorker:
    """Launch a worker and block until it is serving."""
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / f"ready-{time.monotonic_ns()}.json"
    args = [
        *_DIE_WITH_PARENT,
        sys.executable,
        str(BOOTSTRAP),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ready-file",
        str(ready),
        f"--jvm-arg={heap}",
    ]
    if table_group:
        script = workdir / f"init-{table_group}.py"
        script.write_text(demo_script(table_group), encoding="utf-8")
        args += ["--init-script", str(script)]
    env = dict(os.environ)
    env.pop("DH_MCP_WORKER_PSK", None)
    if psk:
        env["DH_MCP_WORKER_PSK"] = psk
    log_path = workdir / f"worker-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready.exists():
        if process.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    info = json.loads(ready.read_text())
    return RunningWorker(
        port=int(info["port"]),
        process=process,
        workdir=workdir,
        psk=psk,
        table_group=table_group,
        log_path=log_path,
    )
