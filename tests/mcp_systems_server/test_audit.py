"""Which calls are audited, what a record holds, and that it cannot be forged or silenced.

In-process through a real MCP client (no Java needed); the audit file's rules are tested
on real files. The console script's stream is in test_audit_stream.py.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import re
import stat
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from deephaven_mcp.config import McpConfig
from deephaven_mcp.config.systems_tools import SYSTEMS_TOOLS
from deephaven_mcp.errors import ConfigError
from deephaven_mcp.mcp_systems_server._audit import AUDITED_TOOLS
from deephaven_mcp.mcp_systems_server._audit_stream import (
    AUDIT_LOGGER_NAME,
    MAX_FIELD_CHARS,
    AuditEvent,
    arguments_digest,
    bounded,
    configure_audit_file,
    write_audit,
)
from deephaven_mcp.mcp_systems_server._server import build_systems_server
from deephaven_mcp.mcp_systems_server.tools import ALL_TOOLS
from deephaven_mcp.runtime.logging import (
    CONTINUATION,
    REDACTED,
    RedactingFormatter,
    register_secret,
)

FIELDS = ["time", "tool", "session", "caller", "transport", "outcome", "duration_ms", "args_sha256"]
FORGED_AUDIT = (
    '\n{"time": "2030-01-01T00:00:00.000Z", "tool": "pq_delete", "session": "-", '
    '"caller": "alice", "transport": "stdio", "outcome": "ok", "duration_ms": 1.0, '
    '"args_sha256": "0"}'
)
FORGED_LOG = "\n12:00:00 INFO [deephaven_mcp.audit] AUDIT tool=pq_delete caller=alice"
FORGED = FORGED_AUDIT + FORGED_LOG + "\r\u2028"


def _event(**overrides: Any) -> AuditEvent:
    fields: dict[str, Any] = {
        "tool": "session_script_run",
        "session": "community:config:a",
        "caller": "stdio",
        "transport": "stdio",
        "outcome": "ok",
        "duration_ms": 12.345,
        "args_sha256": "ab" * 32,
        "time": datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
    }
    return AuditEvent(**(fields | overrides))


def _audit_lines(stderr: str) -> list[dict[str, Any]]:
    """The audit records in a stderr capture: the lines that are JSON objects."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture
def audit_file() -> Iterator[None]:
    """Leave no audit file configured behind a test."""
    yield
    configure_audit_file(None)


# --- which calls ------------------------------------------------------------------------


async def test_every_state_changing_tool_is_audited() -> None:
    async with Client(build_systems_server(config=McpConfig())) as client:
        tools = await client.list_tools()
    names = {tool.name for tool in tools}
    changing = {
        tool.name
        for tool in tools
        if tool.annotations is None or tool.annotations.read_only_hint is not True
    }
    assert changing <= set(AUDITED_TOOLS), changing - set(AUDITED_TOOLS)
    assert set(AUDITED_TOOLS) <= names  # no stale names
    assert "session_community_credentials" in AUDITED_TOOLS  # reveals a secret


def test_targets_name_arguments_the_tool_takes() -> None:
    """A misspelt argument in a table's target template would make every record read '?'."""
    parameters = {fn.__name__: set(inspect.signature(fn).parameters) for fn in ALL_TOOLS}
    for tool in SYSTEMS_TOOLS:
        if tool.target is None:
            assert not tool.effect.audited or tool.name == "mcp_reload", tool.name
            continue
        named = {field for _, field, _, _ in string.Formatter().parse(tool.target) if field}
        assert named and named <= parameters[tool.name], tool.name


def test_targets_name_what_the_call_acts_on() -> None:
    assert AUDITED_TOOLS["session_script_run"]({"session_id": "community:config:a"}) == (
        "community:config:a"
    )
    assert AUDITED_TOOLS["session_community_create"]({"session_name": "w1"}) == (
        "community:dynamic:w1"
    )
    assert AUDITED_TOOLS["pq_stop"]({"system_name": "prod", "pq_identifier": "42"}) == (
        "enterprise:prod:42"
    )
    assert AUDITED_TOOLS["pq_modify"]({"pq_id": "enterprise:prod:q"}) == "enterprise:prod:q"
    batch = {"system_name": "prod", "pq_identifier": ["a", 17, "c"]}
    assert AUDITED_TOOLS["pq_restart"](batch) == "enterprise:prod:a,17,c"
    assert AUDITED_TOOLS["session_script_run"]({}) == "?"
    assert AUDITED_TOOLS["session_enterprise_create"]({"system_name": "prod"}) == (
        "enterprise:prod:?"  # the name is generated when omitted
    )
    assert AUDITED_TOOLS["mcp_reload"]({}) == "-"


# --- the JSON line ----------------------------------------------------------------------


def test_a_record_is_one_json_line_with_every_field() -> None:
    line = _event().line()
    assert line == (
        '{"time": "2025-03-04T05:06:07.890Z", "tool": "session_script_run", '
        '"session": "community:config:a", "caller": "stdio", "transport": "stdio", '
        '"outcome": "ok", "duration_ms": 12.3, "args_sha256": "' + "ab" * 32 + '"}'
    )
    assert list(json.loads(line)) == FIELDS


def test_the_time_is_utc_whatever_zone_it_was_taken_in() -> None:
    local = datetime(2025, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2)))
    assert json.loads(_event(time=local).line())["time"] == "2025-03-04T05:06:07.000Z"


@pytest.mark.parametrize(
    "value",
    [
        "x" + FORGED,
        "a\rb\x00c\x1b[2K\x85d\u2028e\u2029f\x0b\x0c",
        'quote"\\backslash',
        "\u202eevil é 表 \U0001f600",
    ],
)
def test_every_field_is_escaped_to_one_ascii_line(value: str) -> None:
    line = _event(session=value, caller=value, tool=value, transport=value).line()
    assert line.isascii() and line.isprintable()
    assert len(line.splitlines()) == 1
    parsed = json.loads(line)
    assert parsed["session"] == parsed["caller"] == bounded(value)


def test_long_fields_are_bounded() -> None:
    parsed = json.loads(_event(session="s" * 10_000, caller="c" * 10_000).line())
    assert len(parsed["session"]) == len(parsed["caller"]) == MAX_FIELD_CHARS
    assert parsed["session"].endswith("…")


def test_registered_secrets_are_redacted_before_bounding() -> None:
    secret = "audit-secret-" + "q" * 20
    register_secret(secret)
    # the secret straddles the cut: redacting after cutting would leave its head visible
    value = "p" * (MAX_FIELD_CHARS - 10) + secret
    parsed = json.loads(_event(session=value, caller=f"{secret} (token)").line())
    assert "audit-secret" not in json.dumps(parsed)
    assert parsed["caller"] == f"{REDACTED} (token)"


def test_the_arguments_digest_follows_the_documented_recipe() -> None:
    arguments = {"session_id": "community:config:a", "script": "print('é')\nx = 1"}
    expected = hashlib.sha256(
        json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert arguments_digest(arguments) == expected
    assert arguments_digest(dict(reversed(arguments.items()))) == expected  # order-free
    assert arguments_digest({**arguments, "script": "x = 2"}) != expected


# --- over a real MCP client -------------------------------------------------------------


async def test_a_forged_name_leaves_exactly_one_audit_line(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    script = "secret_script_body_marker = 1"
    capsys.readouterr()
    with caplog.at_level(logging.DEBUG):
        async with Client(build_systems_server(config=McpConfig())) as client:
            ran = await client.call_tool_mcp(
                "session_script_run",
                {"session_id": "community:config:nope" + FORGED, "script": script},
            )
            deleted = await client.call_tool_mcp(
                "session_community_delete", {"session_name": "nope" + FORGED}
            )
            stopped = await client.call_tool_mcp(  # its error echoes the name as it is
                "pq_stop", {"system_name": "prod" + FORGED, "pq_identifier": "1"}
            )
            await client.call_tool_mcp("sessions_list", {})  # reading is not audited
    assert ran.is_error and deleted.is_error and stopped.is_error
    stderr = capsys.readouterr().err
    records = _audit_lines(stderr)
    assert [(r["tool"], r["outcome"]) for r in records] == [
        ("session_script_run", "error"),
        ("session_community_delete", "error"),
        ("pq_stop", "error"),
    ]
    assert len(stderr.splitlines()) == 3  # nothing else, no forged line
    run, delete, stop = records
    assert list(run) == FIELDS
    assert run["session"] == bounded("community:config:nope" + FORGED)
    assert delete["session"] == bounded("community:dynamic:nope" + FORGED)
    assert stop["session"] == bounded("enterprise:prod" + FORGED + ":1")
    assert run["caller"] == run["transport"] == "in-process"
    assert run["args_sha256"] == arguments_digest(
        {"session_id": "community:config:nope" + FORGED, "script": script}
    )
    assert isinstance(run["duration_ms"], float) and run["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", run["time"])
    assert "secret_script_body_marker" not in stderr

    # The ordinary log, as the server's formatter renders it: no line of its own either.
    # (pytest hooks its capture into non-propagating loggers too; the audit records in it
    # are the ones checked above.)
    formatter = RedactingFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s", "%H:%M:%S")
    ordinary = [r for r in caplog.records if r.name != AUDIT_LOGGER_NAME]
    rendered = "\n".join(formatter.format(record) for record in ordinary)
    assert "enterprise system 'prod\\n{" in rendered  # the forged name reached the log...
    for line in rendered.splitlines():  # ...but began no line there
        assert re.match(r"\d\d:\d\d:\d\d ", line) or line.startswith(CONTINUATION), line
    assert "secret_script_body_marker" not in rendered


def test_the_audit_logger_keeps_to_its_own_handlers_and_level() -> None:
    audit = logging.getLogger(AUDIT_LOGGER_NAME)
    assert audit.propagate is False
    assert audit.level == logging.INFO
    assert "deephaven-mcp-audit-stderr" in {h.get_name() for h in audit.handlers}


async def test_audit_lines_survive_a_quiet_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.level
    root.setLevel(logging.CRITICAL)  # what PYTHONLOGLEVEL=CRITICAL does
    try:
        capsys.readouterr()
        async with Client(build_systems_server(config=McpConfig())) as client:
            await client.call_tool_mcp("session_script_run", {"session_id": "x", "script": "1"})
    finally:
        root.setLevel(saved)
    assert [r["tool"] for r in _audit_lines(capsys.readouterr().err)] == ["session_script_run"]


def test_a_registered_token_never_reaches_the_audit_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "registered-token-0123456789"
    register_secret(token)
    capsys.readouterr()
    write_audit(_event(session=f"community:config:{token}", caller=f"{token} (token)"))
    stderr = capsys.readouterr().err
    assert token not in stderr
    assert _audit_lines(stderr)[0]["session"] == f"community:config:{REDACTED}"


# --- the audit file ---------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("audit_file")
def test_the_file_is_created_0600_and_appended_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    old_umask = os.umask(0)  # a permissive umask must not widen the mode
    try:
        configure_audit_file(str(path))
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
    write_audit(_event(tool="first"))
    configure_audit_file(str(path))  # a second start: appended to, never truncated
    write_audit(_event(tool="second"))
    configure_audit_file(None)
    write_audit(_event(tool="stderr only"))
    assert [json.loads(line)["tool"] for line in path.read_text().splitlines()] == [
        "first",
        "second",
    ]
    assert [r["tool"] for r in _audit_lines(capsys.readouterr().err)] == [
        "first",
        "second",
        "stderr only",
    ]


@pytest.mark.usefixtures("audit_file")
def test_a_user_path_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    configure_audit_file("~/audit.jsonl")
    write_audit(_event())
    assert json.loads((tmp_path / "audit.jsonl").read_text())["tool"] == "session_script_run"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666, 0o602])
def test_a_file_open_to_group_or_others_stops_the_start(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("kept\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*chmod 600"):
        configure_audit_file(str(path))
    assert path.read_text() == "kept\n"


def test_only_a_regular_file_is_accepted(tmp_path: Path) -> None:
    target = tmp_path / "real.jsonl"
    target.write_text("")
    target.chmod(0o600)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    directory = tmp_path / "dir"
    directory.mkdir(mode=0o700)
    for path in (link, fifo, directory):
        with pytest.raises(ConfigError, match="not a regular file"):
            configure_audit_file(str(path))
    with pytest.raises(ConfigError, match="does not exist"):
        configure_audit_file(str(tmp_path / "missing" / "audit.jsonl"))


def test_an_unwritable_file_stops_the_start(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write any file")
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    path.chmod(0o400)
    with pytest.raises(ConfigError, match="cannot open it"):
        configure_audit_file(str(path))


@pytest.mark.usefixtures("audit_file")
def test_a_failing_file_warns_once_and_stderr_carries_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    configure_audit_file(str(path))
    (handler,) = [
        h
        for h in logging.getLogger(AUDIT_LOGGER_NAME).handlers
        if h.get_name() == "deephaven-mcp-audit-file"
    ]
    assert isinstance(handler, logging.StreamHandler)
    good = handler.stream
    handler.stream = broken = open(os.devnull, "w")  # noqa: SIM115 - closed right away
    broken.close()  # every write now raises ValueError
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        write_audit(_event(tool="lost 1"))
        write_audit(_event(tool="lost 2"))
        handler.stream = good
        write_audit(_event(tool="kept"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert f"cannot write the audit file {path}" in warnings[0]
    assert "written to again" in warnings[1]
    assert [r["tool"] for r in _audit_lines(capsys.readouterr().err)] == [
        "lost 1",
        "lost 2",
        "kept",
    ]
    assert [json.loads(line)["tool"] for line in path.read_text().splitlines()] == ["kept"]
