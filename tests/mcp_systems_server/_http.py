"""Run the real ``dh-mcp-systems-server`` console script over HTTP for tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests._ports import free_port, wait_until_listening
from tests.mcp_systems_server._helpers import write_config

SERVER = shutil.which("dh-mcp-systems-server")


@dataclass
class HttpServer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def server_env(config_path: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["DH_MCP_CONFIG_FILE"] = config_path
    env["PYTHONLOGLEVEL"] = "DEBUG"  # secrets must stay out of even the noisiest log
    env.pop("PORT", None)
    env.update(extra or {})
    return env


@contextmanager
def http_server(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    transport: str = "streamable-http",
) -> Iterator[HttpServer]:
    """Start the server on a free loopback port; stop it (SIGTERM) on exit."""
    assert SERVER, "console script not installed"
    config_path = write_config(tmp_path / "server-config.json", config)
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [SERVER, "--transport", transport, "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env(config_path, env),
        )
    server = HttpServer(port, process, log_path)
    try:
        wait_until_listening(port, process, log_path, pause=0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def run_to_exit(
    tmp_path: Path,
    config: dict[str, Any],
    args: tuple[str, ...],
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the server expecting it to refuse to start; returns the finished process."""
    assert SERVER, "console script not installed"
    config_path = write_config(tmp_path / "refused-config.json", config)
    return subprocess.run(
        [SERVER, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=server_env(config_path, env),
        timeout=timeout,
        check=False,
    )
