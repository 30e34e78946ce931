"""The real ``dh-mcp-docs-server`` command as a subprocess, over every transport."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import SSETransport, StdioTransport, StreamableHttpTransport

from tests._mcp_http import INITIALIZE
from tests.mcp_docs_server._subprocess import SERVER_CMD, full_env, http_server, provider_env
from tests.mcp_docs_server._support import INKEEP_KEY, OPENAI_KEY
from tests.mcp_docs_server.fake_openai import FakeChatServer


async def test_streamable_http_health_answer_fallback_and_error(
    fake_inkeep: FakeChatServer, fake_openai: FakeChatServer, tmp_path: Path
) -> None:
    with http_server("streamable-http", provider_env(fake_inkeep, fake_openai), tmp_path) as srv:
        health = httpx.get(f"{srv.base}/health", timeout=5)
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}

        async with Client(StreamableHttpTransport(f"{srv.base}/mcp")) as client:
            answered = await client.call_tool(
                "docs_chat",
                {"prompt": "What is Deephaven?", "programming_language": "python"},
                raise_on_error=False,
            )
            fake_inkeep.fail(500)
            fallback = await client.call_tool("docs_chat", {"prompt": "Again?"})
            fake_openai.fail(500)
            failed = await client.call_tool("docs_chat", {"prompt": "Third?"}, raise_on_error=False)

    assert answered.structured_content == {
        "success": True,
        "response": "[inkeep] What is Deephaven?",
    }
    assert "code example in Python" in fake_inkeep.requests[0].system_prompt
    assert fallback.structured_content == {"success": True, "response": "[openai] Again?"}
    assert failed.is_error
    assert failed.structured_content is not None
    error = failed.structured_content["error"]
    assert "Inkeep returned HTTP 500; OpenAI returned HTTP 500" in error

    logs = srv.logs()
    assert "docs_chat: Inkeep returned HTTP 500" in logs  # logging reaches stderr ...
    assert srv.stdout_path.read_text() == ""  # ... and only stderr
    assert INKEEP_KEY not in logs
    assert OPENAI_KEY not in logs


async def test_sse_transport(fake_inkeep: FakeChatServer, tmp_path: Path) -> None:
    with http_server("sse", provider_env(fake_inkeep), tmp_path) as srv:
        assert httpx.get(f"{srv.base}/health", timeout=5).json() == {"status": "ok"}
        async with Client(SSETransport(f"{srv.base}/sse")) as client:
            result = await client.call_tool("docs_chat", {"prompt": "Over SSE?"})
    assert result.structured_content == {"success": True, "response": "[inkeep] Over SSE?"}


async def test_server_without_keys_starts_and_explains(tmp_path: Path) -> None:
    with http_server("streamable-http", {}, tmp_path) as srv:
        async with Client(StreamableHttpTransport(f"{srv.base}/mcp")) as client:
            result = await client.call_tool("docs_chat", {"prompt": "Hi"}, raise_on_error=False)
    assert result.is_error
    assert result.structured_content is not None
    assert "INKEEP_API_KEY" in result.structured_content["error"]
    assert "no provider" in srv.logs()


async def test_stdio_transport(fake_inkeep: FakeChatServer, fake_openai: FakeChatServer) -> None:
    transport = StdioTransport(
        command=SERVER_CMD,
        args=["--transport", "stdio"],
        env=provider_env(fake_inkeep, fake_openai),
        keep_alive=False,
        log_file=Path(os.devnull),
    )
    fake_inkeep.fail(503)
    async with Client(transport) as client:
        result = await client.call_tool(
            "docs_chat", {"prompt": "Via stdio?", "deephaven_core_version": "0.40.0"}
        )
    assert result.structured_content == {"success": True, "response": "[openai] Via stdio?"}
    assert "Community Core version 0.40.0" in fake_openai.last.system_prompt


def test_stdio_stdout_carries_only_protocol(fake_inkeep: FakeChatServer, tmp_path: Path) -> None:
    """Even at DEBUG, every stdout line is a JSON-RPC message; logs go to stderr."""
    requests = [
        INITIALIZE,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "docs_chat", "arguments": {"prompt": "Raw stdio?"}},
        },
    ]
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("wb") as err:  # a file, so DEBUG output can never fill a pipe
        process = subprocess.Popen(
            [SERVER_CMD, "--transport", "stdio"],
            env=full_env(provider_env(fake_inkeep)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(json.dumps(requests[0]).encode() + b"\n")
        process.stdin.flush()
        lines = [process.stdout.readline()]
        for request in requests[1:]:
            process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        while line := process.stdout.readline():  # until the tools/call answer (or EOF)
            lines.append(line)
            if json.loads(line).get("id") == 2:
                break
        process.stdin.close()  # end of input: the server shuts down
        lines += process.stdout.read().splitlines()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    stderr = stderr_path.read_bytes()
    assert process.returncode == 0  # end of stdin is a clean shutdown

    messages = [json.loads(line) for line in lines if line.strip()]
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    call = next(m for m in messages if m.get("id") == 2)
    assert call["result"]["structuredContent"] == {
        "success": True,
        "response": "[inkeep] Raw stdio?",
    }
    assert b"DEBUG" in stderr
    assert INKEEP_KEY.encode() not in stderr


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--port", "70000"], {}, "port must be between 1 and 65535"),
        (["--transport", "websocket"], {}, "invalid choice"),
        ([], {"PORT": "eighty"}, "PORT: input should be a valid integer"),
        (
            [],
            {"DOCS_REQUEST_TIMEOUT": "soon"},
            "DOCS_REQUEST_TIMEOUT: input should be a valid number",
        ),
    ],
)
def test_cli_rejects_bad_configuration(args: list[str], env: dict[str, str], expected: str) -> None:
    done = subprocess.run(
        [SERVER_CMD, *args], env=full_env(env), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_help_lists_options() -> None:
    done = subprocess.run([SERVER_CMD, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--transport", "--port", "--host", "INKEEP_API_KEY"):
        assert option in done.stdout
