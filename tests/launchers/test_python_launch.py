"""Real python-method launches: real JVM workers, real pydeephaven connections.

At most two workers run at once (the machine is shared): every test stops what it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydeephaven import Session

from deephaven_mcp.errors import (
    DeephavenTimeoutError,
    DependencyMissingError,
    InvalidArgumentError,
    SessionUnavailableError,
)
from deephaven_mcp.launchers import (
    PSK_HANDLER,
    InstanceTracker,
    LaunchedWorker,
    LaunchRequest,
    launch_worker,
    print_access_banner,
)
from deephaven_mcp.launchers.instance_tracker import read_record
from deephaven_mcp.runtime.logging import RedactingFormatter
from tests.launchers._helpers import recorded_workers

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
INIT_SCRIPT = "from deephaven import empty_table\nlaunch_demo = empty_table(5).update(['X = i'])\n"


def _request(name: str, **overrides: Any) -> LaunchRequest:
    values: dict[str, Any] = {
        "session_name": name,
        "launch_method": "python",
        "heap_size_gb": 1,
        "startup_timeout_seconds": 180.0,
        "startup_check_interval_seconds": 0.25,
        "startup_retries": 0,
    }
    values.update(overrides)
    return LaunchRequest(**values)


def _session(worker: LaunchedWorker, token: str | None = None) -> Session:
    return Session(
        host=worker.host,
        port=worker.port,
        auth_type=worker.client_auth_type,
        auth_token=token if token is not None else (worker.auth_token or ""),
        never_timeout=False,
    )


def _tables_after_script(worker: LaunchedWorker) -> list[str]:
    session = _session(worker)
    try:
        session.run_script("launch_doubled = launch_demo.update(['Y = X * 2'])")
        return sorted(session.tables)
    finally:
        session.close()


def _marked_processes(instance_id: str) -> list[int]:
    flag = f"--instance-id={instance_id}"
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if flag in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process.info["pid"])
    return found


async def test_psk_launch_with_generated_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[tuple[str, float]] = []

    async def progress(message: str, fraction: float) -> None:
        events.append((message, fraction))

    tracker = InstanceTracker(tmp_path / "state")
    started = time.monotonic()
    worker = await launch_worker(_request("psk-gen", init_script=INIT_SCRIPT), tracker, progress)
    elapsed = time.monotonic() - started
    pid = worker.pid
    token = worker.auth_token
    try:
        assert pid is not None
        assert token is not None
        assert worker.token_generated
        assert worker.auth_type == "PSK"
        assert len(token) >= 43
        assert worker.client_auth_type == PSK_HANDLER
        assert 0 < worker.startup_seconds <= elapsed
        # The token is on no command line: not the worker's, not any process of its group.
        for member in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            assert token.encode() not in Path(f"/proc/{member.pid}/cmdline").read_bytes()
        assert (
            f"--instance-id={tracker.instance_id}".encode()
            in Path(f"/proc/{pid}/cmdline").read_bytes()
        )

        tables = await asyncio.to_thread(_tables_after_script, worker)
        assert tables == ["launch_demo", "launch_doubled"]
        with pytest.raises(Exception, match=r"(?i)fail|unauth"):
            await asyncio.to_thread(_session, worker, "wrong-token")
        assert await worker.is_running()

        assert [w.pid for w in recorded_workers(tracker)] == [pid]
        assert worker.log_path is not None
        assert worker.log_path.parent.parent == tracker.workers_dir
        assert "deephaven-mcp worker ready" in worker.log_path.read_text()
        assert oct(worker.log_path.stat().st_mode & 0o777) == oct(0o600)

        banner = io.StringIO()
        access = tracker.access_file(worker.key)
        assert print_access_banner(worker, banner, access_file=access)
        assert token not in banner.getvalue()  # a StringIO is no terminal
        assert f"/?psk={token}" in access.read_text()

        # Progress: starts, reports waiting, ends at 1.0 with the port.
        assert events[0][1] < 0.1
        assert "Starting python worker" in events[0][0]
        assert events[-1] == (f"Session 'psk-gen' ready on port {worker.port}", 1.0)
        fractions = [fraction for _, fraction in events]
        assert fractions == sorted(set(fractions))  # strictly increasing
    finally:
        await worker.stop()
    # Stop really ends the process (reaped, so the PID is gone), and forgets the worker.
    assert not psutil.pid_exists(pid)
    assert not await worker.is_running()
    await worker.stop()  # idempotent
    assert recorded_workers(tracker) == ()
    assert not worker.log_path.parent.exists()
    await tracker.shutdown()
    assert not tracker.record_path.exists()

    # Nothing the launcher logged (even at DEBUG, unformatted) nor the stdio stream shows
    # the token; the worker's output went to its log file, not to our stdout.
    assert token not in caplog.text
    formatter = RedactingFormatter()
    assert all(token not in formatter.format(r) for r in caplog.records)
    out, err = capfd.readouterr()
    assert token not in out
    assert token not in err
    assert "deephaven-mcp worker ready" not in out
    print(f"\npython worker (-Xmx1g) ready {elapsed:.2f} s after launch_worker was called")


async def test_concurrent_launches_anonymous_and_given_token(tmp_path: Path) -> None:
    tracker = InstanceTracker(tmp_path / "state")
    anonymous, psk = await asyncio.gather(
        launch_worker(_request("anon", auth_type="Anonymous"), tracker),
        launch_worker(_request("given", auth_token="given-token-123"), tracker),
    )
    pids = [anonymous.pid, psk.pid]
    try:
        assert anonymous.port != psk.port
        assert anonymous.auth_token is None
        assert not anonymous.token_generated
        assert psk.auth_token == "given-token-123"
        assert not psk.token_generated
        assert not print_access_banner(psk, io.StringIO())
        for worker in (anonymous, psk):
            session = await asyncio.to_thread(_session, worker)
            await asyncio.to_thread(session.close)
        assert sorted(w.session_name for w in recorded_workers(tracker)) == [
            "anon",
            "given",
        ]
        assert {w.key for w in tracker.workers} == {anonymous.key, psk.key}
    finally:
        await tracker.shutdown()
    assert all(pid is not None and not psutil.pid_exists(pid) for pid in pids)
    assert not tracker.record_path.exists()
    assert not tracker.workers_dir.exists()


async def test_startup_timeout_cleans_up_and_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deephaven_mcp")
    tracker = InstanceTracker(tmp_path / "state")
    events: list[tuple[str, float]] = []

    async def progress(message: str, fraction: float) -> None:
        events.append((message, fraction))

    request = _request("too-slow", startup_timeout_seconds=1.0, startup_retries=1)
    started = time.monotonic()
    with pytest.raises(
        DeephavenTimeoutError, match=r"'too-slow' did not start after 2 attempt\(s\)"
    ):
        await launch_worker(request, tracker, progress)
    assert time.monotonic() - started < 30
    assert [m for m, _ in events if m.startswith("Starting")] == [
        "Starting python worker for 'too-slow' (attempt 1/2)",
        "Starting python worker for 'too-slow' (attempt 2/2)",
    ]
    assert "attempt 1 failed" in caplog.text
    fractions = [fraction for _, fraction in events]
    assert fractions == sorted(set(fractions))  # strictly increasing across attempts
    assert fractions[-1] < 1.0
    assert _marked_processes(tracker.instance_id) == []
    assert recorded_workers(tracker) == ()
    assert list(tracker.workers_dir.iterdir()) == []
    await tracker.shutdown()


async def test_worker_that_exits_fails_fast_with_log_tail_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="deephaven_mcp")
    tracker = InstanceTracker(tmp_path / "state")
    request = _request("bad-jvm", extra_jvm_args=("-XX:+NoSuchJvmOptionForSure",))
    started = time.monotonic()
    with pytest.raises(SessionUnavailableError, match="exited with code") as info:
        await launch_worker(request, tracker)
    assert time.monotonic() - started < 60
    assert len(str(info.value)) < 200  # a short human message, no Java stack
    assert "NoSuchJvmOptionForSure" in caplog.text  # the log tail, at DEBUG
    assert _marked_processes(tracker.instance_id) == []
    await tracker.shutdown()


async def test_python_venv_path_is_validated(tmp_path: Path) -> None:
    tracker = InstanceTracker(tmp_path / "state")
    with pytest.raises(InvalidArgumentError, match="not a directory"):
        await launch_worker(_request("v1", python_venv_path=str(tmp_path / "missing")), tracker)
    (tmp_path / "novenv").mkdir()
    with pytest.raises(InvalidArgumentError, match="no bin/python"):
        await launch_worker(_request("v2", python_venv_path=str(tmp_path / "novenv")), tracker)
    venv = tmp_path / "bare"
    (venv / "bin").mkdir(parents=True)
    # An interpreter without deephaven-server (python -I ignores this venv's site-packages).
    fake = venv / "bin" / "python"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    fake.chmod(0o755)
    with pytest.raises(DependencyMissingError, match="deephaven-server is not installed"):
        await launch_worker(_request("v3", python_venv_path=str(venv)), tracker)
    record = read_record(tracker.record_path)
    assert record is None or record.workers == ()
    await tracker.shutdown()


_CHILD = textwrap.dedent(
    """
    import asyncio, json, psutil, sys
    from deephaven_mcp.launchers import InstanceTracker, LaunchRequest, launch_worker

    async def main() -> None:
        tracker = InstanceTracker(sys.argv[1])
        request = LaunchRequest(session_name="orphan", launch_method="python", heap_size_gb=1,
                                startup_timeout_seconds=180, startup_retries=0,
                                sandbox=sys.argv[2])
        worker = await launch_worker(request, tracker)
        tree = [worker.pid] + [p.pid for p in psutil.Process(worker.pid).children(recursive=True)]
        print(json.dumps({"pids": tree, "instance": tracker.instance_id}), flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            "required",
            marks=pytest.mark.skipif(
                shutil.which("bwrap") is None, reason="bubblewrap is not installed"
            ),
        ),
        "off",
    ],
)
async def test_workers_die_with_a_killed_server(tmp_path: Path, mode: str) -> None:
    """SIGKILL of the server: bwrap's --die-with-parent (sandboxed) or the bootstrap's own
    parent-death signal (not sandboxed) ends the worker at once; the next start-up only
    removes the record."""
    state = tmp_path / "state"
    # the with block closes the stdout pipe (else a ResourceWarning at collection)
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(state), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    ) as child:
        pids: list[int] = []
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 240)
            info = json.loads(line)
            pids = info["pids"]
            # The sandbox adds bwrap and its PID-namespace init around the worker.
            assert len(pids) == (3 if mode == "required" else 1)
            child.send_signal(signal.SIGKILL)  # the MCP server crashes
            child.wait(10)
            deadline = time.monotonic() + 10
            while not all(_gone(pid) for pid in pids):
                assert time.monotonic() < deadline, f"worker outlived the server: {pids}"
                await asyncio.sleep(0.1)

            report = await InstanceTracker(state).cleanup_orphans()
            assert report.instances_cleaned == [info["instance"]]
            assert report.processes_stopped == 0
            assert not (state / "instances" / f"{info['instance']}.json").exists()
            assert not (state / "workers" / info["instance"]).exists()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


_ENV_PROBE = textwrap.dedent(
    """
    import os
    from deephaven import new_table
    from deephaven.column import string_col
    env_probe = new_table([
        string_col("Secret", [os.environ.get("DH_MCP_TEST_SECRET", "<absent>")]),
        string_col("Requested", [os.environ.get("DH_MCP_TEST_REQUESTED", "<absent>")]),
        string_col("HasPath", ["yes" if os.environ.get("PATH") else "no"]),
        string_col("Names", [" ".join(sorted(os.environ))]),
    ])
    """
)


def _probe_environment(worker: LaunchedWorker) -> dict[str, str]:
    session = _session(worker)
    try:
        session.run_script(_ENV_PROBE)
        rows = session.open_table("env_probe").to_arrow().to_pylist()
    finally:
        session.close()
    assert len(rows) == 1
    return {str(key): str(value) for key, value in rows[0].items()}


async def test_worker_gets_a_minimal_environment_not_the_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "do-not-leak-0f3c9a"
    monkeypatch.setenv("DH_MCP_TEST_SECRET", secret)
    monkeypatch.setenv("LC_MESSAGES", "C")
    tracker = InstanceTracker(tmp_path / "state")
    request = _request("env", environment_vars={"DH_MCP_TEST_REQUESTED": "from-request"})
    worker = await launch_worker(request, tracker)
    try:
        assert worker.pid is not None
        probe = await asyncio.to_thread(_probe_environment, worker)
        # The environment the process was started with, as the kernel keeps it.
        initial = Path(f"/proc/{worker.pid}/environ").read_bytes()
    finally:
        await worker.stop()
        await tracker.shutdown()
    assert probe["Secret"] == "<absent>"
    assert probe["Requested"] == "from-request"
    assert probe["HasPath"] == "yes"
    names = set(probe["Names"].split())
    allowed = {"PATH", "HOME", "LANG", "TZ", "JAVA_HOME", "TMPDIR", "PYTHONUNBUFFERED"}
    allowed.add("PWD")  # the sandbox's --chdir sets it: the worker's own directory
    extra = {n for n in names - allowed if not n.startswith("LC_")} - {"DH_MCP_TEST_REQUESTED"}
    assert extra == set()
    assert "LC_MESSAGES" in names
    assert secret.encode() not in initial
    assert b"DH_MCP_TEST_REQUESTED=from-request" in initial
    # The key was handed over in the environment, and the bootstrap removed it once read.
    assert b"DH_MCP_WORKER_PSK=" in initial
    assert "DH_MCP_WORKER_PSK" not in names
