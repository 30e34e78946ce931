"""The official TypeScript MCP SDK client against the real server, over bearer-authenticated HTTP.

``tests/ts_client/client.mjs`` (``@modelcontextprotocol/sdk``, pinned in its package.json)
connects over streamable-http with ``Authorization: Bearer <token>``, lists the tools and
calls ``sessions_list`` and ``session_table_data`` through ``Client.callTool``, which
validates each ``structuredContent`` against the tool's ``outputSchema`` (Ajv) and throws
on a mismatch. It then tries once without the token, which the server must refuse (401).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config
from tests.mcp_systems_server._http import HttpServer, http_server

pytestmark = pytest.mark.integration

NODE = shutil.which("node")
NPM = shutil.which("npm")
CLIENT_DIR = Path(__file__).resolve().parents[1] / "ts_client"
SESSION_ID = "community:config:p"
TABLE = "simple_people"

if NODE is None or NPM is None:
    pytest.skip(
        "node and npm are needed to run the TypeScript MCP SDK client (tests/ts_client)",
        allow_module_level=True,
    )


def _text(output: bytes | str | None) -> str:
    # TimeoutExpired carries the partial output as bytes even when run() had text=True
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


@pytest.fixture(scope="module")
def ts_client() -> Path:
    """``tests/ts_client`` with its locked dependencies installed by ``npm ci``."""
    assert NPM
    try:
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"npm ci timed out after 300 s:\n{_text(error.stdout)}\n{_text(error.stderr)}")
    if result.returncode != 0:
        pytest.fail(f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return CLIENT_DIR / "client.mjs"


@pytest.fixture
def bearer_server(dh_psk_worker: RunningWorker, tmp_path: Path) -> Iterator[tuple[HttpServer, str]]:
    """The console script on streamable-http, requiring a static bearer token."""
    token = secrets.token_urlsafe(32)  # 43 characters
    config = {
        "community": {"sessions": {"p": session_config(dh_psk_worker)}},
        "security": {"http": {"auth": {"type": "bearer", "token_env_var": "DH_MCP_TEST_TOKEN"}}},
    }
    with http_server(tmp_path, config, env={"DH_MCP_TEST_TOKEN": token}) as server:
        yield server, token
    # Neither the bearer token nor the worker's PSK may reach the server's log.
    text = server.log()
    assert token not in text
    assert dh_psk_worker.psk and dh_psk_worker.psk not in text


def _run_client(script: Path, server: HttpServer, token: str) -> dict[str, Any]:
    assert NODE
    env = dict(os.environ)
    env.pop("DH_MCP_TEST_TOKEN", None)
    env["MCP_BEARER_TOKEN"] = token  # the environment, never argv
    result = subprocess.run(
        [NODE, str(script), server.url, SESSION_ID, TABLE],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"client.mjs failed ({result.returncode}):\n{result.stderr}\n"
            f"--- server log ---\n{server.log()[-4000:]}"
        )
    assert token not in result.stdout
    return dict(json.loads(result.stdout))


def test_typescript_sdk_client_with_bearer_token(
    ts_client: Path, bearer_server: tuple[HttpServer, str]
) -> None:
    report = _run_client(ts_client, *bearer_server)

    assert {"sessions_list", "session_table_data"} <= set(report["tool_names"])
    # Both tools declare an output schema, so callTool() validated their structuredContent.
    assert {"sessions_list", "session_table_data"} <= set(report["tools_with_output_schema"])

    sessions = report["sessions_list"]
    assert sessions["isError"] is False
    assert sessions["structuredContent"]["success"] is True
    assert SESSION_ID in {s["session_id"] for s in sessions["structuredContent"]["sessions"]}

    table = report["session_table_data"]
    assert table["isError"] is False
    content = table["structuredContent"]
    assert content["success"] is True, content
    data = content["data"]
    assert isinstance(data, str)
    header = data.splitlines()[0].strip()
    assert header
    assert header.split(",") == ["Name", "Age", "City"]
    assert "Zoë" in data and "李雷" in data  # UTF-8 survives the round trip

    refused = report["unauthenticated"]
    assert refused["connected"] is False, refused
    assert refused["refused_401"] is True, refused
    assert refused["error_code"] == 401, refused
