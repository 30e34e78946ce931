"""Start the real ``dh-mcp-docs-server`` command as a subprocess for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests._ports import free_port
from tests.mcp_docs_server._support import INKEEP_KEY, OPENAI_KEY, OPENAI_MODEL
from tests.mcp_docs_server.fake_openai import FakeChatServer

SERVER_CMD = str(Path(sys.executable).with_name("dh-mcp-docs-server"))
STARTUP_SECONDS = 60.0


def provider_env(inkeep: FakeChatServer, openai: FakeChatServer | None = None) -> dict[str, str]:
    """Only the docs server's own variables, pointing at the fakes."""
    env = {
        "INKEEP_API_KEY": INKEEP_KEY,
        "INKEEP_BASE_URL": inkeep.base_url,
        "DOCS_REQUEST_TIMEOUT": "10",
        "DOCS_MAX_RETRIES": "0",
        "PYTHONLOGLEVEL": "DEBUG",
    }
    if openai is not None:
        env |= {
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": openai.base_url,
            "OPENAI_MODEL": OPENAI_MODEL,
        }
    return env


def full_env(extra: dict[str, str]) -> dict[str, str]:
    """The test's environment without any provider settings it may carry, plus ``extra``."""
    prefixes = ("INKEEP_", "OPENAI_", "DOCS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k != "PORT"}
    return env | extra


@dataclass
class RunningServer:
    port: int
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextmanager
def http_server(
    transport: str,
    env: dict[str, str],
    tmp_path: Path,
    *,
    host: str = "127.0.0.1",
    extra_args: Sequence[str] = (),
) -> Iterator[RunningServer]:
    """Run the server until the block ends; it is probed (and reached) on 127.0.0.1 only."""
    port = free_port()
    stdout_path, stderr_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = [SERVER_CMD, "--transport", transport, "--port", str(port), "--host", host]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [*command, *extra_args],
            env=full_env(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    server = RunningServer(port, process, stdout_path, stderr_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{server.logs()}")
            try:
                if httpx.get(f"{server.base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server did not become healthy:\n{server.logs()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
