"""Start a throwaway Deephaven worker for a benchmark (same bootstrap the launcher uses)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deephaven_mcp.launchers import worker_bootstrap

BOOTSTRAP = Path(worker_bootstrap.__file__)


def start(init_script: str, heap: str = "-Xmx2g") -> tuple[subprocess.Popen[bytes], int]:
    """Launch a worker that runs ``init_script``; return (process, port) once serving."""
    workdir = Path(tempfile.mkdtemp(prefix="dh-bench-"))
    script = workdir / "init.py"
    script.write_text(init_script, encoding="utf-8")
    ready = workdir / "ready.json"
    log = (workdir / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(BOOTSTRAP),
            "--port",
            "0",
            "--ready-file",
            str(ready),
            f"--jvm-arg={heap}",
            "--init-script",
            str(script),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"worker failed; see {workdir / 'worker.log'}")
        time.sleep(0.2)
    return process, int(json.loads(ready.read_text())["port"])
