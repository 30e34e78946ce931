"""Agent code in a python worker cannot reach the server's secrets, and workers never outlive
the server: the real console script over stdio, real sandboxed workers, a real MCP client.

The attacks are the ones that worked before the sandbox: read the server's environment
through ``/proc/<ppid>/environ``, its ``.env``, its config directory, the state directory
with every other worker's record, and another worker's pre-shared key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from deephaven_mcp.config import McpConfig
from deephaven_mcp.launchers import sandbox
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests.mcp_systems_server._helpers import ToolCaller

pytestmark = pytest.mark.integration

SERVER = shutil.which("dh-mcp-systems-server")
BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(
    BWRAP is None, reason="bubblewrap is not installed (.ci/run installs it)"
)

ENV_SECRET = "env-secret-5d1e0b7a93"
DOTENV_SECRET = "dotenv-secret-c2f8a61e07"
CONFIG_SECRET = "config-secret-9a47d3e215"

# Run in the worker: look for each needle everywhere an attacker would, report the hits
# and what could be opened at all. Paths and needles are substituted below.
PROBE = """
import json, os
needles = {needles}
paths = {paths}
state_dir = {state_dir}
hits, opened = [], []

def look(path, record=True):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return
    if record:
        opened.append(path)
    for name, needle in needles.items():
        if needle.encode() in data:
            hits.append([name, path])

for pid in os.listdir("/proc"):
    if pid.isdigit():
        for part in ("environ", "cmdline"):
            look(f"/proc/{{pid}}/{{part}}", record=False)
for path in paths:
    look(path)
try:
    listing = os.listdir(state_dir)
except OSError:
    listing = None
for root, _dirs, files in os.walk(state_dir):
    for name in files:
        look(os.path.join(root, name))
print(json.dumps({{"hits": hits, "opened": opened, "state_listing": listing,
                  "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}}))
"""


def _probe(needles: dict[str, str], paths: list[str], state_dir: Path) -> str:
    return PROBE.format(needles=repr(needles), paths=repr(paths), state_dir=repr(str(state_dir)))


def _layout(tmp_path: Path, sandbox_mode: str) -> tuple[Path, Path, Path, dict[str, str]]:
    """The server's working directory (with a .env), config directory, state directory and
    environment, each holding a secret."""
    work, conf, state = tmp_path / "work", tmp_path / "conf", tmp_path / "state"
    work.mkdir()
    conf.mkdir()
    state.mkdir(mode=0o700)
    (work / ".env").write_text(f"DH_MCP_DOTENV_SECRET={DOTENV_SECRET}\n")
    config = {
        "community": {
            "session_creation": {
                "max_concurrent_sessions": 2,
                "defaults": {
                    "launch_method": "python",
                    "heap_size_gb": 1,
                    "startup_retries": 0,
                    "sandbox": sandbox_mode,
                },
            }
        },
        "security": {"community": {"credential_retrieval_mode": "dynamic_only"}},
    }
    config_file = conf / "deephaven_mcp.json5"
    config_file.write_text(f"// operator notes: {CONFIG_SECRET}\n{json.dumps(config)}\n")
    (conf / "notes.txt").write_text(CONFIG_SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DH_MCP_")}
    env.update(
        DH_MCP_CONFIG_FILE=str(config_file),
        DH_MCP_STATE_DIR=str(state),
        DH_MCP_SERVER_SECRET=ENV_SECRET,
        OPENAI_API_KEY=ENV_SECRET,
    )
    return work, conf, state, env


async def _run_probe(tools: ToolCaller, session_id: str, script: str) -> dict[str, Any]:
    answer = await tools.ok("session_script_run", session_id=session_id, script=script)
    result: dict[str, Any] = json.loads(answer["stdout"])
    return result


@needs_bwrap
async def test_agent_code_cannot_reach_the_servers_secrets(tmp_path: Path) -> None:
    assert SERVER
    work, conf, state, env = _layout(tmp_path, "required")
    transport = StdioTransport(
        command=SERVER, args=[], env=env, cwd=str(work), log_file=tmp_path / "err.log"
    )
    async with Client(transport, timeout=600) as client:
        tools = ToolCaller(client)
        first = await tools.ok("session_community_create", session_name="first")
        second = await tools.ok("session_community_create", session_name="second")
        secrets = {"env": ENV_SECRET, "dotenv": DOTENV_SECRET, "config": CONFIG_SECRET}
        paths = [
            str(work / ".env"),
            str(conf / "deephaven_mcp.json5"),
            str(conf / "notes.txt"),
            f"/proc/{os.getpid()}/environ",
        ]

        seen = await _run_probe(
            tools,
            first["session_id"],
            _probe({**secrets, "other worker's key": second["auth_token"]}, paths, state),
        )
        assert seen["hits"] == []
        assert seen["opened"] == []
        assert seen["state_listing"] is None  # the state directory is not there at all
        assert len(seen["pids"]) <= 3, seen["pids"]  # its own PID namespace

        seen = await _run_probe(
            tools, second["session_id"], _probe({"first's key": first["auth_token"]}, paths, state)
        )
        assert seen["hits"] == [] and seen["opened"] == []

        # The sandboxed worker still does its job.
        await tools.ok(
            "session_script_run",
            session_id=first["session_id"],
            script="from deephaven import empty_table\nt = empty_table(3).update('X = i * 2')",
        )
        rows = await tools.ok(
            "session_table_data",
            session_id=first["session_id"],
            table_name="t",
            format="json-column",
        )
        assert rows["data"] == {"X": [0, 2, 4]}
        names = await tools.ok("session_tables_list", session_id=first["session_id"])
        assert names["table_names"] == ["t"]
    log = (tmp_path / "err.log").read_text()
    assert ENV_SECRET not in log and DOTENV_SECRET not in log


def _refusing_config(mode: str) -> McpConfig:
    return McpConfig.model_validate(
        {
            "community": {
                "session_creation": {
                    "defaults": {"launch_method": "python", "heap_size_gb": 1, "sandbox": mode}
                }
            }
        }
    )


async def test_required_sandbox_refuses_without_the_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # bwrap hidden
    async with Client(build_systems_server(config=_refusing_config("required"))) as client:
        message = await ToolCaller(client).error("session_community_create", session_name="boxed")
    assert "bwrap is not on PATH" in message
    assert "install bubblewrap" in message
    assert "community.session_creation.defaults.sandbox" in message
    assert "'required'" in message


def test_auto_warns_once_when_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    support = sandbox.probe()
    assert not support.available and support.problem is not None
    assert sandbox.choose("auto", support) is None
    assert sandbox.choose("off", sandbox.SandboxSupport("/usr/bin/bwrap")) is None
    sandbox.warn_if_unavailable("auto", support)
    sandbox.warn_if_unavailable("required", support)
    sandbox.warn_if_unavailable("off", support)
    warnings = [r for r in caplog.records if "without a sandbox" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


def _worker_tree(server: psutil.Process) -> list[int]:
    return [child.pid for child in server.children(recursive=True)]


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def _wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, f"left running: {[p for p in pids if not _gone(p)]}"
        await asyncio.sleep(0.1)


def _start_demo(tmp_path: Path, mode: str) -> subprocess.Popen[bytes]:
    assert SERVER
    work, _conf, _state, env = _layout(tmp_path, mode)
    log = (tmp_path / "err.log").open("ab")
    with log:
        return subprocess.Popen(
            [SERVER, "--demo"],
            env=env,
            cwd=work,
            stdin=subprocess.PIPE,  # kept open: the server must stop on the signal alone
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


@pytest.mark.parametrize("mode", [pytest.param("required", marks=needs_bwrap), "off"])
async def test_sigterm_while_the_demo_worker_launches_leaves_nothing(
    tmp_path: Path, mode: str
) -> None:
    server = _start_demo(tmp_path, mode)
    try:
        process = psutil.Process(server.pid)
        deadline = time.monotonic() + 60
        while not _worker_tree(process):
            assert time.monotonic() < deadline, "the demo worker never started"
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # well inside its start-up (about 10 s here)
        pids = _worker_tree(process)
        assert not list((tmp_path / "state").glob("workers/*/*/ready.json")), "already up"
        server.send_signal(signal.SIGTERM)
        await asyncio.to_thread(server.wait, 60)
        await _wait_gone(pids, 10)
        log = (tmp_path / "err.log").read_text()
        assert "could not be stopped" not in log, log[-3000:]
    finally:
        if server.poll() is None:
            server.kill()
        if server.stdin is not None:
            server.stdin.close()


@pytest.mark.parametrize("mode", [pytest.param("required", marks=needs_bwrap), "off"])
async def test_sigkill_of_the_server_takes_its_ready_worker_along(
    tmp_path: Path, mode: str
) -> None:
    assert SERVER
    work, _conf, _state, env = _layout(tmp_path, mode)
    transport = StdioTransport(
        command=SERVER, args=[], env=env, cwd=str(work), log_file=tmp_path / "err.log"
    )
    pids: list[int] = []
    # Closing the client of a killed server may raise; a failure before the kill leaves
    # ``pids`` empty, which the assertion below reports.
    with contextlib.suppress(Exception):
        async with Client(transport, timeout=600) as client:
            created = await ToolCaller(client).ok("session_community_create", session_name="live")
            worker = psutil.Process(created["pid"])
            server = worker.parent()
            assert server is not None
            pids = [worker.pid] + [child.pid for child in worker.children(recursive=True)]
            server.send_signal(signal.SIGKILL)
    assert pids, (tmp_path / "err.log").read_text()[-3000:]
    await _wait_gone(pids, 10)
