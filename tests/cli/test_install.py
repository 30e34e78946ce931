"""``dh-mcp install``: each client's file written, merged, backed up and idempotent; the
snippets of docs/clients.md are what ``--print`` prints."""

from __future__ import annotations

import json
import re
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.cli.install import CLIENTS, install_app, server_command

DOCS = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
COMMAND_PLACEHOLDER = "/path/to/venv/bin/dh-mcp-systems-server"
CONFIG_PLACEHOLDER = "/path/to/deephaven_mcp.json"
VALID_CONFIG = '{"community": {"sessions": {"local": {"host": "127.0.0.1", "port": 10000}}}}'

# client -> (the file written for --scope user, relative to HOME; the servers key)
USER_FILES = {
    "claude-desktop": (".config/Claude/claude_desktop_config.json", "mcpServers"),
    "claude-code": (".claude.json", "mcpServers"),
    "cursor": (".cursor/mcp.json", "mcpServers"),
    "vscode": (".config/Code/User/mcp.json", "servers"),
}
PROJECT_FILES = {
    "claude-code": ".mcp.json",
    "cursor": ".cursor/mcp.json",
    "vscode": ".vscode/mcp.json",
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME and working directory (Linux file locations)."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "deephaven_mcp.json"
    path.write_text(VALID_CONFIG, encoding="utf-8")
    return path


def run(tokens: list[str]) -> int:
    code = install_app(tokens, result_action="return_value")
    assert isinstance(code, int)
    return code


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


@pytest.mark.parametrize("client", sorted(USER_FILES))
def test_a_new_file_holds_the_entry_with_mode_0600(
    client: str, home: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relative, key = USER_FILES[client]
    assert run([client, "--config", str(config_file), "--read-only"]) == 0
    path = home / relative
    entry = json.loads(path.read_text(encoding="utf-8"))[key]["deephaven"]
    assert entry["command"] == server_command()
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).is_file()
    assert entry["args"] == ["--read-only"]
    assert entry["env"] == {"DH_MCP_CONFIG_FILE": str(config_file)}
    assert ("type" in entry) == CLIENTS[client].typed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not backups(path)
    assert f"wrote ~/{relative}: added 'deephaven' (new file)" in capsys.readouterr().out


@pytest.mark.parametrize("client", sorted(USER_FILES))
def test_an_existing_file_is_merged_backed_up_and_keeps_its_mode(
    client: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relative, key = USER_FILES[client]
    path = home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    original: dict[str, Any] = {
        "theme": "dark",
        key: {"other": {"command": "other-server", "args": ["-v"], "env": {"A": "1"}}},
    }
    path.write_text(json.dumps(original), encoding="utf-8")
    path.chmod(0o640)

    assert run([client]) == 0
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["theme"] == "dark"
    assert written[key]["other"] == original[key]["other"]
    assert written[key]["deephaven"]["command"] == server_command()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    [backup] = backups(path)
    assert json.loads(backup.read_text(encoding="utf-8")) == original
    out = capsys.readouterr().out
    assert f"wrote ~/{relative}: added 'deephaven' (backup: ~/{relative}." in out

    # The same install again: nothing written, no second backup.
    before = path.read_bytes()
    assert run([client]) == 0
    assert path.read_bytes() == before
    assert backups(path) == [backup]
    assert f"~/{relative}: 'deephaven' already up to date" in capsys.readouterr().out


def test_a_changed_entry_replaces_only_the_entry_of_that_name(
    home: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = home / ".cursor" / "mcp.json"
    assert run(["cursor"]) == 0
    assert run(["cursor", "--name", "dh-prod", "--read-only"]) == 0
    assert run(["cursor", "--config", str(config_file)]) == 0
    servers = json.loads(path.read_text(encoding="utf-8"))["mcpServers"]
    assert servers["deephaven"]["env"] == {"DH_MCP_CONFIG_FILE": str(config_file)}
    assert servers["dh-prod"]["args"] == ["--read-only"]
    assert "env" not in servers["dh-prod"]
    assert len(backups(path)) == 2
    assert "replaced 'deephaven'" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("client", sorted(PROJECT_FILES))
def test_project_scope_writes_into_the_working_directory(client: str, home: Path) -> None:
    assert run([client, "--scope", "project"]) == 0
    path = Path.cwd() / PROJECT_FILES[client]
    key = CLIENTS[client].servers_key
    assert json.loads(path.read_text(encoding="utf-8"))[key]["deephaven"]["args"] == []
    assert not any(home.iterdir())


def test_a_file_with_comments_is_read_as_json5_and_the_output_says_so(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path.cwd() / ".vscode" / "mcp.json"
    path.parent.mkdir()
    path.write_text(
        '{\n  // mine\n  "servers": {"other": {"type": "stdio", "command": "x",},},\n}\n',
        encoding="utf-8",
    )
    assert run(["vscode", "--scope", "project"]) == 0
    servers = json.loads(path.read_text(encoding="utf-8"))["servers"]
    assert set(servers) == {"other", "deephaven"}
    assert "comments and trailing commas were not preserved" in capsys.readouterr().out
    [backup] = backups(path)
    assert "// mine" in backup.read_text(encoding="utf-8")


def test_print_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for client in USER_FILES:
        assert run([client, "--print"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert printed == {
            CLIENTS[client].servers_key: {
                "deephaven": {
                    **({"type": "stdio"} if CLIENTS[client].typed else {}),
                    "command": server_command(),
                    "args": [],
                }
            }
        }
    assert not any(home.iterdir())
    assert not any(Path.cwd().iterdir())


def test_a_bad_config_exits_2_and_writes_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"community": {"sessions": {"local": {"port": "x"}}}}', encoding="utf-8")
    assert run(["cursor", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "community.sessions.local.port: expected integer" in err
    assert len(err.strip().splitlines()) == 1
    assert run(["cursor", "--config", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not any(home.iterdir())


def test_a_file_that_is_not_an_object_or_not_json_is_left_alone(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    for text in ("[1, 2]", '{"mcpServers": []}', "{not json"):
        path.write_text(text, encoding="utf-8")
        assert run(["cursor"]) == 1
        assert path.read_text(encoding="utf-8") == text
        assert "mcp.json" in capsys.readouterr().err
    assert run(["cursor", "--name", "a b"]) == 1
    assert "--name" in capsys.readouterr().err
    assert not backups(path)


def test_file_option_targets_an_explicit_file(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "inspector.json"
    assert run(["claude-desktop", "--file", str(target)]) == 0
    assert set(json.loads(target.read_text(encoding="utf-8"))["mcpServers"]) == {"deephaven"}


def _doc_examples() -> list[tuple[str, str]]:
    """Each ``dh-mcp install`` command of docs/clients.md with the JSON block after it."""
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", DOCS.read_text(encoding="utf-8"), re.M | re.S)
    pairs: list[tuple[str, str]] = []
    command: str | None = None
    for language, body in blocks:
        if language == "sh" and body.startswith("dh-mcp install ") and "{" not in body:
            command = body.strip()
        elif language == "json" and command is not None:
            pairs.append((command, body))
            command = None
    return pairs


def test_the_docs_show_an_example_for_every_client() -> None:
    commands = [command for command, _ in _doc_examples()]
    assert {shlex.split(command)[2] for command in commands} == set(CLIENTS)
    assert len(commands) == 6


@pytest.mark.parametrize(("command", "expected"), _doc_examples())
def test_the_docs_json_is_what_install_print_gives(
    command: str,
    expected: str,
    home: Path,
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = [
        str(config_file) if token == CONFIG_PLACEHOLDER else token
        for token in shlex.split(command)[2:]
    ]
    assert run([*tokens, "--print"]) == 0
    printed = capsys.readouterr().out
    printed = printed.replace(server_command(), COMMAND_PLACEHOLDER)
    printed = printed.replace(str(config_file), CONFIG_PLACEHOLDER)
    assert json.loads(printed) == json.loads(expected)
    assert printed == expected  # the same layout too: indent 2, one key per line


def test_claude_desktop_has_no_project_scope(home: Path) -> None:
    assert run(["claude-desktop", "--scope", "project"]) == 2
    assert not any(home.rglob("*.json"))
