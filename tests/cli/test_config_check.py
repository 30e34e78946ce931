"""``dh-mcp config check``: every problem listed with its key; the default path found as the
server finds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deephaven_mcp.cli.config_check import config_app

VALID = {
    "community": {
        "sessions": {
            "local": {"host": "127.0.0.1", "port": 10000},
            "other": {"port": 10001},
        },
        "session_creation": {"defaults": {"launch_method": "python"}},
    },
    "security": {"read_only": True},
}
# Four problems in three places: each must be reported, with its key.
INVALID = {
    "community": {
        "sessions": {
            "local": {"port": "ten", "hostt": "x"},
            "b": {"port": 70000},
        }
    },
    "limits": {"max_response_bytes": 1},
}


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DH_MCP_CONFIG_FILE", raising=False)
    monkeypatch.chdir(tmp_path)


def run(tokens: list[str]) -> int:
    code = config_app(tokens, result_action="return_value")
    assert isinstance(code, int)
    return code


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_valid_file_is_summarised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "ok.json", VALID)
    assert run(["check", str(path)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{path}: valid (2 community sessions, 0 enterprise systems, "
        "on-demand community sessions via python, read-only)"
    )


def test_every_problem_is_listed_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "bad.json", INVALID)
    assert run(["check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines[0] == f"{path}: invalid configuration:"
    assert sorted(line.strip() for line in lines[1:]) == [
        "community.sessions.b.port: input should be less than or equal to 65535",
        "community.sessions.local.hostt: unknown key",
        "community.sessions.local.port: expected integer",
        "limits.max_response_bytes: input should be greater than or equal to 1024",
    ]


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", str(tmp_path / "nope.json")]) == 2
    assert "not found" in capsys.readouterr().err


def test_json5_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.json5"
    path.write_text("{community: {sessions: {a: {port: 1,},},}, // note\n}", encoding="utf-8")
    assert run(["check", str(path)]) == 0
    assert "valid (1 community session, 0 enterprise systems" in capsys.readouterr().out


def test_without_a_path_the_servers_variable_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "from_env.json", VALID)
    monkeypatch.setenv("DH_MCP_CONFIG_FILE", str(path))
    assert run(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: valid")


def test_without_a_path_the_working_directorys_env_file_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "from_dotenv.json", INVALID)
    (tmp_path / ".env").write_text(f"DH_MCP_CONFIG_FILE={path}\n", encoding="utf-8")
    assert run(["check"]) == 2
    assert "community.sessions.local.hostt: unknown key" in capsys.readouterr().err


def test_nothing_to_check_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check"]) == 2
    assert "DH_MCP_CONFIG_FILE is not set" in capsys.readouterr().err
