"""The console script's audit stream over stdio: always on, one JSON line per call, the file.

Real ``dh-mcp-systems-server`` processes, spoken to with raw JSON-RPC over stdio. The
audited calls fail (unknown sessions), so no Deephaven worker (and no Java) is needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.mcp_systems_server._helpers import write_config

SERVER = shutil.which("dh-mcp-systems-server")
PROTOCOL = "2025-11-25"
TOKEN = "configured-psk-token-5b1e9c"  # registered as a secret when the config is read
MARKER = "script_body_marker_77d1"
FORGED = (
    '\n{"time": "2030-01-01T00:00:00.000Z", "tool": "pq_delete", "session": "-", '
    '"caller": "alice", "transport": "stdio", "outcome": "ok", "duration_ms": 1.0, '
    '"args_sha256": "0"}'
    "\n12:00:00 INFO [deephaven_mcp.audit] AUDIT tool=pq_delete caller=alice\r"
)
TIME = re.compile(r"\d\d:\d\d:\d\d ")

Call = Callable[[str, dict[str, Any]], dict[str, Any]]


def _config(audit_path: Path) -> dict[str, Any]:
    session = {"host": "127.0.0.1", "port": 1, "auth_type": "PSK", "auth_token": TOKEN}
    return {
        "community": {"sessions": {"w": session}},
        "security": {"audit": {"path": str(audit_path)}},
    }


@contextmanager
def _stdio_server(
    tmp_path: Path, config_path: str, level: str, stderr_path: Path
) -> Iterator[Call]:
    """A server on stdio until the block ends; yields ``call(tool, arguments)``."""
    assert SERVER, "console script not installed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DH_MCP_")}
    env |= {
        "DH_MCP_CONFIG_FILE": config_path,
        "DH_MCP_STATE_DIR": str(tmp_path / "state"),
        "PYTHONLOGLEVEL": level,
    }
    next_id = iter(range(1, 1000))

    with (
        stderr_path.open("a") as stderr,
        subprocess.Popen(
            [SERVER, "--transport", "stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        ) as process,
    ):
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        def send(method: str, params: dict[str, Any], *, notify: bool = False) -> dict[str, Any]:
            message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
            if not notify:
                message["id"] = next(next_id)
            stdin.write(json.dumps(message) + "\n")
            stdin.flush()
            if notify:
                return {}
            while True:
                line = stdout.readline()
                assert line, f"server closed stdout:\n{stderr_path.read_text()}"
                reply: dict[str, Any] = json.loads(line)
                if reply.get("id") == message["id"]:
                    return reply

        def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            reply = send("tools/call", {"name": tool, "arguments": arguments})
            result: dict[str, Any] = reply["result"]
            return result

        try:
            init = send(
                "initialize",
                {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "audit-test", "version": "1"},
                },
            )
            assert "result" in init, init
            send("notifications/initialized", {}, notify=True)
            yield call
        finally:
            stdin.close()
            process.wait(30)
    assert process.returncode == 0, stderr_path.read_text()


def _audit_records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _assert_every_line_is_accounted_for(stderr: str) -> None:
    """A line is an audit record (one JSON object), a log record or its continuation."""
    for line in stderr.splitlines():
        if line.startswith("{"):
            assert isinstance(json.loads(line), dict)
        else:
            assert TIME.match(line) or line.startswith("  | "), line


def _forging_calls(call: Call) -> None:
    ran = call(
        "session_script_run",
        {"session_id": f"community:config:{TOKEN}{FORGED}", "script": f"{MARKER} = '{TOKEN}'"},
    )
    assert ran["isError"] is True
    deleted = call("session_community_delete", {"session_name": f"nope{FORGED}"})
    assert deleted["isError"] is True
    # This error message echoes the name as it is (no repr): only the formatter escapes it.
    stopped = call("pq_stop", {"system_name": f"prod{FORGED}", "pq_identifier": "1"})
    assert stopped["isError"] is True
    call("sessions_list", {})  # reading: not audited


def test_audit_lines_are_written_at_log_level_warning(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit" / "audit.jsonl"
    audit_path.parent.mkdir(mode=0o700)
    config_path = write_config(tmp_path / "c.json", _config(audit_path))
    stderr_path = tmp_path / "stderr.log"
    with _stdio_server(tmp_path, config_path, "WARNING", stderr_path) as call:
        _forging_calls(call)
        assert call("mcp_reload", {})["isError"] is False
    stderr = stderr_path.read_text()

    records = _audit_records(stderr)
    assert [(r["tool"], r["outcome"]) for r in records] == [
        ("session_script_run", "error"),
        ("session_community_delete", "error"),
        ("pq_stop", "error"),
        ("mcp_reload", "ok"),
    ]
    run, delete, stop, reload = records
    # the forged text stays inside one field (bounded: it is cut short)
    assert run["session"].startswith("community:config:[REDACTED]" + FORGED[:40])
    assert delete["session"].startswith("community:dynamic:nope" + FORGED[:40])
    assert stop["session"].startswith("enterprise:prod" + FORGED[:40])
    assert len(run["session"]) == len(delete["session"]) == len(stop["session"]) == 160
    assert reload["session"] == "-"
    assert {(r["caller"], r["transport"]) for r in records} == {("stdio", "stdio")}
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["args_sha256"]) for r in records)
    assert len(stderr.splitlines()) == len(stderr.split("\n")) - 1  # every line ended
    _assert_every_line_is_accounted_for(stderr)
    assert " INFO " not in stderr  # the ordinary log did honour WARNING

    assert stat.S_IMODE(audit_path.stat().st_mode) == 0o600
    in_file = audit_path.read_text()
    assert in_file.splitlines() == [line for line in stderr.splitlines() if line[:1] == "{"]
    for text in (stderr, in_file):
        assert TOKEN not in text and MARKER not in text


def test_the_audit_file_is_appended_to_across_starts(tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    config = _config(audit_path)
    config_path = write_config(tmp_path / "c.json", config)
    stderr_path = tmp_path / "stderr.log"
    with _stdio_server(tmp_path, config_path, "INFO", stderr_path) as call:
        assert call("mcp_reload", {})["isError"] is False
    first = audit_path.read_text()
    assert [json.loads(line)["tool"] for line in first.splitlines()] == ["mcp_reload"]

    with _stdio_server(tmp_path, config_path, "DEBUG", stderr_path) as call:
        _forging_calls(call)
        config["security"]["audit"]["path"] = str(tmp_path / "elsewhere.jsonl")
        write_config(Path(config_path), config)
        assert call("mcp_reload", {})["isError"] is False
    second = audit_path.read_text()
    assert second.startswith(first)  # appended, never truncated
    assert [json.loads(line)["tool"] for line in second.splitlines()] == [
        "mcp_reload",
        "session_script_run",
        "session_community_delete",
        "pq_stop",
        "mcp_reload",  # the file stays until a restart...
    ]
    assert not (tmp_path / "elsewhere.jsonl").exists()
    stderr = stderr_path.read_text()
    assert "security.audit changed in the configuration file" in stderr  # ...and says so
    assert stat.S_IMODE(audit_path.stat().st_mode) == 0o600

    # The ordinary log at DEBUG saw the forged names, escaped, and began no line with them.
    assert 'enterprise system \'prod\\n{"time": "2030-01-01' in stderr
    assert "AUDIT tool=pq_delete caller=alice\\r' not found" in stderr
    _assert_every_line_is_accounted_for(stderr)
    assert len(_audit_records(stderr)) == 5
    assert TOKEN not in stderr and MARKER not in stderr


def test_an_audit_file_open_to_others_stops_the_start(tmp_path: Path) -> None:
    assert SERVER, "console script not installed"
    audit_path = tmp_path / "audit.jsonl"
    audit_path.write_text("earlier line\n")
    audit_path.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DH_MCP_")}
    env |= {
        "DH_MCP_CONFIG_FILE": write_config(tmp_path / "c.json", _config(audit_path)),
        "DH_MCP_STATE_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [SERVER], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert str(audit_path) in done.stderr and "chmod 600" in done.stderr
    assert "Traceback" not in done.stderr
    assert audit_path.read_text() == "earlier line\n"
