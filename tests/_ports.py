"""Loopback ports for tests: one nobody listens on, and waiting for a server to listen."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (also: one nobody listens on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listening(
    port: int,
    process: subprocess.Popen[bytes] | subprocess.Popen[str],
    log: Path,
    *,
    seconds: float = 60.0,
    pause: float = 0.2,
) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``.

    Fails (with ``log``, the process's output) if the process exits first, or after
    ``seconds``.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(pause)
