"""The real console script over stdio and streamable-http, against a real worker."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from tests._workers import RunningWorker
from tests.mcp_systems_server import _http
from tests.mcp_systems_server._helpers import session_config, write_config

pytestmark = pytest.mark.integration

SERVER = shutil.which("dh-mcp-systems-server")
PROTOCOL = "2025-11-25"


def _exchange(process: subprocess.Popen[str], message: dict[str, Any]) -> dict[str, Any] | None:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()
    if "id" not in message:
        return None
    while True:
        line = process.stdout.readline()
        assert line, "server closed stdout"
        reply = json.loads(line)  # every stdout line must be a JSON-RPC message
        assert reply.get("jsonrpc") == "2.0"
        if reply.get("id") == message["id"]:
            return dict(reply)


def _initialize(process: subprocess.Popen[str]) -> None:
    init = _exchange(
        process,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "1"},
            },
        },
    )
    assert init is not None and "result" in init
    _exchange(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})


def test_stdio_speaks_only_protocol_on_stdout(dh_worker: RunningWorker, tmp_path: Path) -> None:
    assert SERVER, "console script not installed"
    # HTTP auth naming an unset variable: stdio needs no auth, so it must not matter here.
    http_auth = {"auth": {"type": "bearer", "token_env_var": "DH_MCP_UNSET_TOKEN_VAR"}}
    config = write_config(
        tmp_path / "c.json",
        {
            "community": {"sessions": {"w": session_config(dh_worker)}},
            "security": {"http": http_auth},
        },
    )
    stderr_path = tmp_path / "stderr.log"
    # Popen as a context manager closes the stdout pipe too (else a ResourceWarning)
    with (
        stderr_path.open("w") as stderr,
        subprocess.Popen(
            [SERVER, "--transport", "stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=_http.server_env(config),  # DEBUG: the noisiest must keep stdout clean
        ) as process,
    ):
        try:
            _initialize(process)
            reply = _exchange(
                process,
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {
                        "name": "session_table_data",
                        "arguments": {
                            "session_id": "community:config:w",
                            "table_name": "portfolio",
                            "format": "csv",
                        },
                    },
                },
            )
            assert reply is not None
            result = reply["result"]
            assert result["isError"] is False
            assert result["structuredContent"]["data"].startswith("Sym,Shares,CostBasis")
            reload = _exchange(
                process,
                {
                    "jsonrpc": "2.0",
                    "id": 3,
                    "method": "tools/call",
                    "params": {"name": "mcp_reload", "arguments": {}},
                },
            )
            assert reload is not None and reload["result"]["isError"] is False
        finally:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(30)
    stderr_text = stderr_path.read_text()
    assert "DEBUG" in stderr_text  # logs went to stderr
    assert (
        '"tool": "mcp_reload", "session": "-", "caller": "stdio", "transport": "stdio", '
        '"outcome": "ok"'
    ) in stderr_text  # the audit line, one JSON object


@pytest.fixture
def http_server(dh_psk_worker: RunningWorker, tmp_path: Path) -> Iterator[str]:
    config = {"community": {"sessions": {"p": session_config(dh_psk_worker)}}}
    with _http.http_server(tmp_path, config) as server:
        yield server.url
    # The PSK must not leak into the server's log, even at DEBUG.
    assert dh_psk_worker.psk and dh_psk_worker.psk not in server.log()


async def test_streamable_http_end_to_end(http_server: str) -> None:
    async with Client(http_server) as client:
        names = {tool.name for tool in await client.list_tools()}
        assert "session_table_data" in names
        result = await client.call_tool("session_tables_list", {"session_id": "community:config:p"})
        assert "simple_people" in result.structured_content["table_names"]
        failed = await client.call_tool_mcp("session_tables_list", {"session_id": "x"})
        assert failed.is_error and failed.structured_content["success"] is False


def _call(process: subprocess.Popen[str], call_id: int, name: str, **arguments: Any) -> Any:
    reply = _exchange(
        process,
        {
            "jsonrpc": "2.0",
            "id": call_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        },
    )
    assert reply is not None
    return reply["result"]


def test_stdio_large_answer_and_sigterm_with_a_session_open(
    dh_worker: RunningWorker, tmp_path: Path
) -> None:
    assert SERVER, "console script not installed"
    config = write_config(
        tmp_path / "c.json", {"community": {"sessions": {"w": session_config(dh_worker)}}}
    )
    with subprocess.Popen(
        [SERVER, "--transport", "stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_http.server_env(config),  # DEBUG: the noisiest must keep stdout clean
    ) as process:
        try:
            _initialize(process)
            script = (
                "from deephaven import empty_table\n"
                'e2e_big = empty_table(300_000).update(["Id = i", "Note = `a,\\"b\\"` + i"])'
            )
            ran = _call(
                process, 2, "session_script_run", session_id="community:config:w", script=script
            )
            assert ran["isError"] is False
            # About 6 MB of csv: the answer crosses the writer's 1 MB pieces many times.
            result = _call(
                process,
                3,
                "session_table_data",
                session_id="community:config:w",
                table_name="e2e_big",
                max_rows=None,
                format="csv",
            )
            structured = result["structuredContent"]
            assert structured["row_count"] == 300_000
            lines = structured["data"].split("\n")
            assert lines[0] == "Id,Note" and lines[-1] == '299999,"a,""b""299999"'
            assert json.loads(result["content"][0]["text"]) == structured
            _call(
                process,
                4,
                "session_script_run",
                session_id="community:config:w",
                script="globals().pop('e2e_big', None)",
            )
            # stdin stays open, a session is connected: SIGTERM alone must end the server.
            started = time.monotonic()
            process.terminate()
            assert process.wait(30) == 0
            assert time.monotonic() - started < 15
        finally:
            if process.poll() is None:
                process.kill()
