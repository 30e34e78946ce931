"""``dh-mcp pip`` against a real worker and ``dh-mcp credentials`` with retrieval refused
and allowed, in a subprocess, piped and on a terminal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests._workers import RunningWorker
from tests.cli._cli import Ran, environment, run, run_in_terminal

pytestmark = pytest.mark.integration

SESSION = "community:config:local"
KEYED = "community:config:keyed"
TOKEN = "cli-test-token-4d9f"


@pytest.fixture(scope="module")
def home(dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.json names the test worker ``local`` and a PSK session ``keyed`` (the API
    answers its credentials without connecting); allowed.json also lets static sessions'
    credentials be retrieved."""
    path = tmp_path_factory.mktemp("cli_info")
    sessions: dict[str, Any] = {
        "local": {"host": dh_worker.host, "port": dh_worker.port},
        "keyed": {
            "host": dh_worker.host,
            "port": dh_worker.port,
            "auth_type": "PSK",
            "auth_token": TOKEN,
        },
    }
    config: dict[str, Any] = {"community": {"sessions": sessions}}
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    config["security"] = {"community": {"credential_retrieval_mode": "static_only"}}
    (path / "allowed.json").write_text(json.dumps(config), encoding="utf-8")
    return path


def cli(home: Path, *args: str, config: str = "config.json", **env: str) -> Ran:
    return run(*args, "--config", str(home / config), cwd=home, env=environment(**env))


def test_pip_piped_terminal_and_csv(home: Path) -> None:
    answer = cli(home, "pip", SESSION).json()
    packages = {item["package"].lower(): item["version"] for item in answer["result"]}
    assert packages.get("deephaven-core")  # a version
    assert set(answer) == {"result"}
    as_csv = cli(home, "pip", SESSION, "--format", "csv")
    assert as_csv.code == 0, as_csv.err
    read = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert {row["package"].lower(): row["version"] for row in read} == packages
    as_json = cli(home, "pip", SESSION, "--format", "json")
    assert as_json.code == 0 and json.loads(as_json.out) == answer["result"]
    shown = run_in_terminal("pip", SESSION, "--config", str(home / "config.json"), cwd=home)
    assert shown.code == 0, shown.err
    assert "┃" in shown.out and "deephaven-core" in shown.out.lower()
    missing = cli(home, "pip", "community:config:nope")
    assert missing.code == 1 and len(missing.err.splitlines()) == 1 and "nope" in missing.err


def test_credentials_refused_by_default(home: Path) -> None:
    refused = cli(home, "credentials", KEYED)
    assert refused.code == 1 and refused.out == ""
    assert refused.err.splitlines() == [
        "dh-mcp: error: Credential retrieval is disabled. Set "
        "security.community.credential_retrieval_mode in config."
    ]
    assert TOKEN not in refused.err


def test_credentials_allowed_print_the_token_on_stdout_only(home: Path) -> None:
    allowed = cli(home, "credentials", KEYED, config="allowed.json")
    assert allowed.code == 0 and allowed.err == ""
    answer = json.loads(allowed.out)
    assert answer["session_id"] == KEYED and answer["auth_type"] == "PSK"
    assert answer["auth_token"] == TOKEN
    assert answer["browser_url"].startswith(answer["connection_url"])
    shown = cli(home, "credentials", KEYED, config="allowed.json", TTY_COMPATIBLE="1")
    assert shown.code == 0 and TOKEN in shown.out and TOKEN not in shown.err
    # An unknown session is still a one-line error when retrieval is allowed.
    unknown = cli(home, "credentials", "community:config:nope", config="allowed.json")
    assert unknown.code == 1 and len(unknown.err.splitlines()) == 1


def test_the_library_log_shows_only_when_asked_for(home: Path) -> None:
    """Without PYTHONLOGLEVEL the refusal is the only line; with it, the API's audit warning
    comes too, through the servers' redacting handler."""
    quiet = cli(home, "credentials", KEYED)
    assert len(quiet.err.splitlines()) == 1
    logged = cli(home, "credentials", KEYED, PYTHONLOGLEVEL="INFO")
    assert logged.code == 1
    lines = logged.err.splitlines()
    assert lines[-1].startswith("dh-mcp: error: Credential retrieval is disabled")
    assert any("WARNING" in line and "credential" in line.lower() for line in lines[:-1])
    assert TOKEN not in logged.err
