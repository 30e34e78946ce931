"""scripts/mcp_community_test_client.py end to end: the console script serves streamable
HTTP from a config with a real worker, and the script calls every tool it can."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config
from tests.mcp_systems_server._http import http_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "mcp_community_test_client.py"
# Tools the script calls without Enterprise; the Enterprise ones it reports as skipped.
COMMUNITY_TOOLS = (
    "enterprise_systems_status",
    "sessions_list",
    "session_details",
    "session_tables_list",
    "session_tables_schema",
    "session_table_data",
    "session_script_run",
    "session_pip_list",
    "session_community_create",
    "session_community_credentials",
    "session_community_delete",
    "mcp_reload",
)


@pytest.fixture
def server_url(dh_worker: RunningWorker, tmp_path: Path) -> Iterator[str]:
    config = {
        "community": {
            "sessions": {"local": session_config(dh_worker)},
            # The operator picks how workers launch; callers only name them (launch policy).
            "session_creation": {
                "defaults": {"launch_method": "python", "startup_retries": 0},
            },
        },
        "security": {"community": {"credential_retrieval_mode": "dynamic_only"}},
    }
    with http_server(tmp_path, config) as server:
        yield server.url


def test_the_script_calls_every_community_tool(server_url: str) -> None:
    finished = subprocess.run(
        [sys.executable, str(SCRIPT), "--url", server_url, "--rows", "3"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=REPO,
    )
    out = finished.stdout
    assert finished.returncode == 0, out + finished.stderr
    for name in COMMUNITY_TOOLS:
        assert f"[ok] {name}(" in out, f"{name} not called:\n{out}"
    assert "[ERROR]" not in out
    # real rows: the portfolio table of the test worker, and the launched worker's table
    assert "AAPL" in out or "simple_" in out
    assert re.search(r"session_table_data\(.*mcp_test_client.*\): \{.*\"row_count\": 3", out)
    # resources and a completion are exercised too
    assert "[ok] resources/read deephaven://community%3Aconfig%3Alocal/tables" in out
    assert "[ok] completion/complete session_id" in out
    # listed tools it cannot call are reported with a reason, never silently left out
    listed = re.search(r"^\d+ tools: (.*)$", out, re.MULTILINE)
    assert listed is not None
    called = set(re.findall(r"^\[(?:ok|refused by policy)\] (\w+)\(", out, re.MULTILINE))
    skipped = set(re.findall(r"^\[skipped\] (\w+): \S", out, re.MULTILINE))
    assert set(listed.group(1).split(", ")) == called | skipped
    assert "[skipped] pq_list: Enterprise tool" in out
    # secrets of the launched worker are masked
    assert '"auth_token": "***"' in out
    token = re.search(r"[?&]psk=([^\"&\s]+)", out)
    assert token is None, "a worker's token reached the output"
