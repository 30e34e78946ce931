"""Each community ``dh-mcp`` command in both of its modes, through the installed script:
on a terminal (a pseudo-terminal) it draws rich tables or panels, piped it prints text a
program parses (CSV rows, or one JSON answer)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests._workers import RunningWorker
from tests.cli._cli import Ran, run, run_in_terminal

pytestmark = pytest.mark.integration

SESSION = "community:config:local"
SCRIPT = 'print("from the script")\n'

# command arguments -> how piped output is read ("json" or "csv"), and a word both show
COMMANDS = {
    "sessions": (("sessions",), "json", "local"),
    "session": (("session", SESSION), "json", "local"),
    "tables": (("tables", SESSION), "json", "trades"),
    "schema": (("schema", SESSION, "trades"), "json", "Timestamp"),
    "read": (("read", SESSION, "trades", "--max-rows", "2"), "csv", "Timestamp"),
    "summary": (("summary", SESSION, "trades", "--columns", "Size"), "json", "Size"),
    "aggregate": (
        ("aggregate", SESSION, "trades", "--by", "Sym", "--agg", "count"),
        "csv",
        "AAPL",
    ),
    "run": (("run", SESSION, "script.py"), "json", "from the script"),
}


@pytest.fixture(scope="module")
def home(dh_worker: RunningWorker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-modes")
    endpoint = {"host": dh_worker.host, "port": dh_worker.port}
    config = {"community": {"sessions": {"local": endpoint}}}
    (path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (path / "script.py").write_text(SCRIPT, encoding="utf-8")
    return path


def with_config(home: Path, args: tuple[str, ...]) -> tuple[str, ...]:
    return (*args, "--config", str(home / "config.json"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_piped_output_is_for_programs(home: Path, command: str) -> None:
    args, kind, word = COMMANDS[command]
    ran: Ran = run(*with_config(home, args), cwd=home)
    assert ran.code == 0, ran.err
    assert "┃" not in ran.out and "\x1b[" not in ran.out  # no drawing, no colour
    if kind == "json":
        assert word in json.dumps(ran.json())
    else:
        parsed = list(csv.DictReader(io.StringIO(ran.out)))
        assert parsed and word in ran.out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_terminal_output_is_for_people(home: Path, command: str) -> None:
    args, _, word = COMMANDS[command]
    ran = run_in_terminal(*with_config(home, args), cwd=home)
    assert ran.code == 0, ran.err
    assert word in ran.out
    if command != "run":  # a script that changes no table prints only its own output
        assert any(frame in ran.out for frame in ("┃", "│", "╭")), ran.out  # table or panel
    with pytest.raises(json.JSONDecodeError):
        json.loads(ran.out)
