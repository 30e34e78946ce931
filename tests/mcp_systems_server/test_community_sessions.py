"""Dynamic community sessions through the MCP tools, with real python-launched workers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastmcp import Client

from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import ToolCaller, mcp_tools, session_config, write_config

pytestmark = pytest.mark.integration


def creation_config(worker: RunningWorker, *, mode: str, limit: int = 2) -> dict[str, Any]:
    return {
        "security": {"community": {"credential_retrieval_mode": mode}},
        "community": {
            "sessions": {"static": session_config(worker)},
            "session_creation": {
                "max_concurrent_sessions": limit,
                "defaults": {
                    "launch_method": "python",
                    "heap_size_gb": 1,
                    "startup_retries": 0,
                    "environment_vars": {"DH_MCP_VISIBLE": "yes"},
                },
                # The tests below choose these per call, to check what each one does.
                "agent_may_set": ["launch_method", "auth_type", "python_venv_path"],
            },
        },
    }


class Progress:
    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("state")
    old = os.environ.get("DH_MCP_STATE_DIR")
    os.environ["DH_MCP_STATE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("DH_MCP_STATE_DIR", None)
    else:
        os.environ["DH_MCP_STATE_DIR"] = old


@pytest.fixture(scope="module")
async def tools(
    dh_worker: RunningWorker, state_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ToolCaller]:
    config = creation_config(dh_worker, mode="dynamic_only")
    async with mcp_tools(tmp_path_factory.mktemp("cfg") / "c.json", config, timeout=600) as caller:
        yield caller


async def test_create_use_and_delete(
    tools: ToolCaller,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A secret in the server's environment must not reach the worker (issue 11).
    monkeypatch.setenv("DH_MCP_TEST_SERVER_SECRET", "s3cr3t-of-the-server")
    progress = Progress()
    with caplog.at_level(logging.DEBUG):
        result = await tools.client.call_tool_mcp(
            "session_community_create", {"session_name": "alpha"}, progress_handler=progress
        )
    created = result.structured_content
    assert created is not None and created["success"] is True, created
    assert created["session_id"] == "community:dynamic:alpha"
    assert created["launch_method"] == "python" and created["auth_type"] == "PSK"
    token = created["auth_token"]
    assert created["connection_url"] == f"http://127.0.0.1:{created['port']}"
    assert created["connection_url_with_auth"].endswith(f"/?psk={token}")
    assert progress.events and progress.events[-1][0] == 100
    assert all(total == 100 for _, total, _ in progress.events)

    # The generated token: stderr here is no terminal (a log file in real use), so the banner
    # names a 0600 file holding it; never in a log line or argv.
    err = capsys.readouterr().err
    assert token not in err
    access = Path(err.split("Auth token and browser URL: in ", 1)[1].split(" (readable", 1)[0])
    assert oct(access.stat().st_mode & 0o777) == oct(0o600)
    assert access.read_text().count(f"Auth token:  {token}") == 1
    assert token not in caplog.text
    cmdline = " ".join(psutil.Process(created["pid"]).cmdline())
    assert token not in cmdline

    sid = created["session_id"]
    listed = {s["session_id"]: s for s in (await tools.ok("sessions_list"))["sessions"]}
    assert listed[sid]["launch_method"] == "python"
    assert listed[sid]["port"] == created["port"] and listed[sid]["status"] == "running"
    details = (await tools.ok("session_details", session_id=sid))["session"]
    assert details["available"] is True and details["status"] == "running"

    await tools.ok(
        "session_script_run",
        session_id=sid,
        script="from deephaven import empty_table\nfresh = empty_table(3).update('Y = i + 10')",
    )
    rows = await tools.ok(
        "session_table_data", session_id=sid, table_name="fresh", format="json-column"
    )
    assert rows["data"]["Y"] == [10, 11, 12]
    assert (await tools.ok("session_tables_schema", session_id=sid))["count"] == 1
    await tools.ok(
        "session_script_run",
        session_id=sid,
        script="import os\nfrom deephaven import new_table\nfrom deephaven.column import "
        "string_col\nenv_probe = new_table([string_col('Secret', "
        "[str(os.environ.get('DH_MCP_TEST_SERVER_SECRET'))]), string_col('Visible', "
        "[str(os.environ.get('DH_MCP_VISIBLE'))])])",
    )
    probe = await tools.ok(
        "session_table_data", session_id=sid, table_name="env_probe", format="json-column"
    )
    assert probe["data"] == {"Secret": ["None"], "Visible": ["yes"]}

    credentials = await tools.ok("session_community_credentials", session_id=sid)
    assert credentials["auth_token"] == token and credentials["auth_type"] == "PSK"
    assert credentials["browser_url"] == created["connection_url_with_auth"]

    assert "already exists" in await tools.error("session_community_create", session_name="alpha")

    deleted = await tools.ok("session_community_delete", session_name="alpha")
    assert deleted == {"success": True, "session_id": sid, "session_name": "alpha"}
    assert (
        not psutil.pid_exists(created["pid"])
        or psutil.Process(created["pid"]).status() == psutil.STATUS_ZOMBIE
    )
    ids = {s["session_id"] for s in (await tools.ok("sessions_list"))["sessions"]}
    assert sid not in ids
    assert "not found" in await tools.error("session_community_delete", session_name="alpha")


async def test_credentials_mode_denies_static_and_audits(
    tools: ToolCaller, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        message = await tools.error(
            "session_community_credentials", session_id="community:config:static"
        )
    assert "does not allow static" in message
    assert "denied by credential_retrieval_mode" in caplog.text
    # pytest's capture also hooks the audit logger, which does not propagate
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "deephaven_mcp.audit"]
    assert [(a["tool"], a["session"], a["caller"], a["outcome"]) for a in audit] == [
        ("session_community_credentials", "community:config:static", "in-process", "error")
    ]


async def test_bad_requests(tools: ToolCaller) -> None:
    assert "Basic" in await tools.error(
        "session_community_create", session_name="b", auth_type="Basic"
    )
    assert "docker" in await tools.error(
        "session_community_create", session_name="b", programming_language="Groovy"
    )
    assert "invalid session name" in await tools.error(
        "session_community_create", session_name="bad name"
    )
    assert "static session" in await tools.error("session_community_delete", session_name="static")
    assert "python_venv_path" in await tools.error(
        "session_community_create", session_name="b", launch_method="docker", python_venv_path="/x"
    )


async def test_limit_is_enforced_atomically(tools: ToolCaller) -> None:
    first = await tools.ok("session_community_create", session_name="keep", auth_type="Anonymous")
    results = await asyncio.gather(
        tools.call("session_community_create", session_name="race1", auth_type="Anonymous"),
        tools.call("session_community_create", session_name="race2", auth_type="Anonymous"),
    )
    winners = [r for r in results if r["success"]]
    losers = [r for r in results if not r["success"]]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0]["error"] == "Session limit reached: 2/2 sessions active"
    assert "auth_token" not in first and first["auth_type"] == "Anonymous"
    for name in ("keep", winners[0]["session_name"]):
        await tools.ok("session_community_delete", session_name=name)


async def test_mode_none_hides_tokens_and_shutdown_stops_workers(
    dh_worker: RunningWorker, state_dir: Path, tmp_path: Path
) -> None:
    path = write_config(tmp_path / "c.json", creation_config(dh_worker, mode="none"))
    async with Client(build_systems_server(path), timeout=600) as client:
        tools = ToolCaller(client)
        created = await tools.ok("session_community_create", session_name="hidden")
        assert "auth_token" not in created and "connection_url_with_auth" not in created
        assert "credential_retrieval_mode" in created["note"]
        assert "disabled" in await tools.error(
            "session_community_credentials", session_id="community:dynamic:hidden"
        )
        pid = created["pid"]
        assert psutil.pid_exists(pid)
    # Leaving the client context shuts the server down: the worker must be gone.
    for _ in range(100):
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("worker still running after server shutdown")
