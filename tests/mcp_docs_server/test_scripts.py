"""The operator scripts, run as subprocesses against a real docs server backed by a fake."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._ports import free_port
from tests.mcp_docs_server._subprocess import RunningServer, http_server, provider_env
from tests.mcp_docs_server.fake_openai import FakeChatServer

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
TOKEN = secrets.token_urlsafe(32)
TOKEN_VAR = "DOCS_TEST_CLIENT_TOKEN"  # what the scripts are told to read


@pytest.fixture(scope="module")
def docs_server(
    module_fake: FakeChatServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with http_server(
        "streamable-http", provider_env(module_fake), tmp_path_factory.mktemp("docs")
    ) as server:
        yield server


@pytest.fixture(scope="module")
def authed_server(
    module_fake: FakeChatServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    env = provider_env(module_fake) | {"DOCS_AUTH_TOKEN": TOKEN}
    with http_server("streamable-http", env, tmp_path_factory.mktemp("authed")) as server:
        yield server


def run_script(
    name: str, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=None if env is None else os.environ | env,
    )


def test_test_client_prints_the_answer(
    docs_server: RunningServer, module_fake: FakeChatServer
) -> None:
    history = [{"role": "user", "content": "How do I create a table?"}]
    done = run_script(
        "mcp_docs_test_client.py",
        "--url",
        f"{docs_server.base}/mcp",
        "--prompt",
        "How do I filter it?",
        "--history",
        json.dumps(history),
        "--language",
        "python",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[inkeep] How do I filter it?"
    assert module_fake.last.messages[1] == history[0]
    assert "code example in Python" in module_fake.last.system_prompt


def test_test_client_reports_tool_errors(docs_server: RunningServer) -> None:
    done = run_script(
        "mcp_docs_test_client.py", "--url", f"{docs_server.base}/mcp", "--prompt", "   "
    )
    assert done.returncode == 1
    assert "docs_chat failed: prompt must not be empty" in done.stderr


def test_stress_test_writes_results(docs_server: RunningServer, tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = run_script(
        "mcp_docs_stress_test.py",
        "--url",
        f"{docs_server.base}/mcp",
        "--requests",
        "30",
        "--output",
        str(output),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success rate:  100.0%" in done.stdout
    results = json.loads(output.read_text())
    assert results["summary"]["successes"] == 30
    assert set(results["summary"]["latency_seconds"]) >= {"p50", "p95", "p99"}
    assert len(results["calls"]) == 30


def test_stress_http_passes_and_fails(docs_server: RunningServer) -> None:
    common = ["--concurrency", "4", "--requests-per-conn", "5", "--max-response-time", "10"]
    passed = run_script("mcp_docs_stress_http.py", "--url", f"{docs_server.base}/mcp", *common)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip().splitlines()[-1] == "PASSED"
    assert "20 completed of 20 planned" in passed.stdout

    nobody = f"http://127.0.0.1:{free_port()}/mcp"
    failed = run_script("mcp_docs_stress_http.py", "--url", nobody, *common)
    assert failed.returncode == 1
    assert failed.stdout.strip().splitlines()[-1].startswith("FAILED")


def test_scripts_send_a_token_from_the_environment(authed_server: RunningServer) -> None:
    url = f"{authed_server.base}/mcp"
    with_token = {TOKEN_VAR: TOKEN}

    refused = run_script("mcp_docs_test_client.py", "--url", url, "--prompt", "Hi?")
    assert refused.returncode == 2  # 401: the server cannot be used without the token
    assert "--token-env DOCS_AUTH_TOKEN" in refused.stderr
    answered = run_script(
        "mcp_docs_test_client.py",
        "--url",
        url,
        "--token-env",
        TOKEN_VAR,
        "--prompt",
        "Hi?",
        env=with_token,
    )
    assert answered.returncode == 0, answered.stderr
    assert answered.stdout.strip() == "[inkeep] Hi?"
    unset = run_script(
        "mcp_docs_test_client.py", "--url", url, "--token-env", "DOCS_NO_SUCH_VAR", "--prompt", "x"
    )
    assert unset.returncode != 0
    assert "DOCS_NO_SUCH_VAR is not set" in unset.stderr

    common = ["--concurrency", "2", "--requests-per-conn", "3", "--max-response-time", "10"]
    no_token = run_script("mcp_docs_stress_http.py", "--url", url, *common)
    assert no_token.returncode == 1
    assert no_token.stdout.strip().splitlines()[-1] == "FAILED: no request completed"
    stress = run_script(
        "mcp_docs_stress_http.py",
        "--url",
        url,
        "--token-env",
        TOKEN_VAR,
        *common,
        "--operation",
        "docs_chat",
        env=with_token,
    )
    assert stress.returncode == 0, stress.stdout + stress.stderr
    assert "6 completed of 6 planned" in stress.stdout

    for done in (refused, answered, stress):
        assert TOKEN not in done.stdout + done.stderr
    assert TOKEN not in authed_server.logs()


def test_stress_test_with_token(authed_server: RunningServer, tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = run_script(
        "mcp_docs_stress_test.py",
        "--url",
        f"{authed_server.base}/mcp",
        "--token-env",
        TOKEN_VAR,
        "--requests",
        "10",
        "--output",
        str(output),
        env={TOKEN_VAR: TOKEN},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(output.read_text())["summary"]["successes"] == 10
