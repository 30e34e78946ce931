"""``dh-mcp doctor``: one line per check, FAIL with a fix for what the configuration needs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from deephaven_mcp.cli.doctor import doctor, java_version
from tests._ports import free_port
from tests._workers import RunningWorker

PYTHON_LAUNCH = {"community": {"session_creation": {"defaults": {"launch_method": "python"}}}}


@pytest.fixture(autouse=True)
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No configuration from the environment, a fresh private state directory, and a docker
    endpoint where nothing listens (so the docker check is the same on every machine)."""
    monkeypatch.delenv("DH_MCP_CONFIG_FILE", raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("DH_MCP_STATE_DIR", str(state))
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    return state


def write_config(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "deephaven_mcp.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def lines_of(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Each printed line by its subject (the words before the first colon)."""
    found: dict[str, str] = {}
    for line in capsys.readouterr().out.splitlines():
        verdict, rest = line.split(None, 1)
        assert verdict in {"ok", "warn", "FAIL"}, line
        found[rest.split(":")[0].split(" /")[0]] = line
    return found


def fake_java(directory: Path, version_line: str) -> None:
    """A ``java`` that reports ``version_line`` on stderr, as the JVM does."""
    directory.mkdir(exist_ok=True)
    java = directory / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n", encoding="utf-8")
    java.chmod(0o755)


def test_java_missing_fails_when_workers_launch_with_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert doctor(write_config(tmp_path, PYTHON_LAUNCH)) == 1
    java = lines_of(capsys)["java"]
    assert java.startswith("FAIL  java: not found on PATH -> fix: install a JDK 17 or newer")


def test_java_missing_is_only_a_warning_without_the_python_launch_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert doctor(write_config(tmp_path, {})) == 0
    found = lines_of(capsys)
    assert found["java"].startswith("warn  java: not found on PATH (needed only for the python")
    assert found["sandbox"].startswith("ok    sandbox: not used")


@pytest.mark.parametrize(
    ("reported", "major"),
    [
        ('openjdk version "21.0.1" 2023-10-17', 21),
        ('openjdk version "17" 2021-09-14', 17),
        ('java version "1.8.0_392"', 8),
        ("something else", None),
    ],
)
def test_java_version_reads_every_numbering(tmp_path: Path, reported: str, major: int) -> None:
    fake_java(tmp_path, reported)
    assert java_version(str(tmp_path / "java")) == major


def test_an_old_java_fails_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_java(tmp_path / "bin", 'openjdk version "11.0.2" 2019-01-15')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert doctor(write_config(tmp_path, PYTHON_LAUNCH)) == 1
    java = lines_of(capsys)["java"]
    assert java.startswith(f"FAIL  java: {tmp_path / 'bin' / 'java'} is Java 11, older than 17")
    assert "-> fix: install a JDK 17" in java


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK on PATH")
def test_a_good_setup_prints_ok_lines(
    tmp_path: Path, private_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert doctor(write_config(tmp_path, PYTHON_LAUNCH)) == 0
    found = lines_of(capsys)
    assert found["configuration"].startswith("ok    configuration: ")
    assert found["java"].startswith("ok    java: ")
    assert found["deephaven-server"] == f"ok    deephaven-server: importable by {sys.executable}"
    assert found["state directory"] == (
        f"ok    state directory: {private_env} will be created (mode 700)"
    )
    assert not private_env.exists()  # the doctor changes nothing
    # No engine at DOCKER_HOST: a warning, since this configuration never uses docker.
    assert found["docker"].startswith("warn  docker: no engine answers at tcp://127.0.0.1:")
    assert found["sandbox"].split()[0] in {"ok", "warn"}


def test_docker_fails_when_the_configuration_launches_with_docker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {"community": {"session_creation": {"defaults": {"launch_method": "docker"}}}}
    assert doctor(write_config(tmp_path, config)) == 1
    docker = lines_of(capsys)["docker"]
    assert docker.startswith("FAIL  docker: no engine answers at tcp://127.0.0.1:")
    assert "-> fix: start a docker engine or set DOCKER_HOST" in docker


def test_a_session_on_a_closed_port_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = {"community": {"sessions": {"local": {"host": "127.0.0.1", "port": port}}}}
    assert doctor(write_config(tmp_path, config)) == 1
    line = lines_of(capsys)["community session 'local'"]
    assert line == (
        f"FAIL  community session 'local': no Deephaven worker at 127.0.0.1:{port} "
        "(connection refused) -> fix: start that worker, or correct "
        "community.sessions.local (host, port, auth)"
    )


def test_a_world_writable_state_directory_fails(
    tmp_path: Path, private_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private_env.mkdir()
    os.chmod(private_env, 0o777)  # noqa: S103  # the unsafe mode under test
    assert doctor(write_config(tmp_path, {})) == 1
    assert lines_of(capsys)["state directory"] == (
        f"FAIL  state directory {private_env} is open to other users (mode 777; it must be "
        f"700, like ~/.ssh) -> fix: run `chmod 700 {private_env}` or set DH_MCP_STATE_DIR "
        "to a private directory"
    )


def test_an_invalid_configuration_fails_and_points_at_config_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, {"community": {"sessions": {"a": {"port": "x"}}}})
    assert doctor(path) == 1
    line = lines_of(capsys)["configuration"]
    assert line == (
        f"FAIL  configuration: {path}: invalid configuration (1 problem, first: "
        "community.sessions.a.port: expected integer) -> fix: run "
        f"`dh-mcp config check {path}`"
    )


def test_a_real_worker_is_reached_and_a_wrong_key_fails(
    tmp_path: Path,
    dh_psk_worker: RunningWorker,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DH_MCP_CONNECT_TIMEOUT", "10")
    endpoint = {"host": dh_psk_worker.host, "port": dh_psk_worker.port, "auth_type": "PSK"}
    config = {
        "community": {
            "sessions": {
                "good": {**endpoint, "auth_token": dh_psk_worker.psk},
                "wrong_key": {**endpoint, "auth_token": "not-the-key"},
            }
        }
    }
    assert doctor(write_config(tmp_path, config)) == 1
    found = lines_of(capsys)
    where = f"{dh_psk_worker.host}:{dh_psk_worker.port}"
    assert found["community session 'good'"].startswith(
        "ok    community session 'good': Deephaven "
    )
    assert found["community session 'good'"].endswith(f" at {where}")
    wrong = found["community session 'wrong_key'"]
    assert wrong.startswith(
        f"FAIL  community session 'wrong_key': no Deephaven worker at {where} ("
    )
    assert "-> fix: start that worker, or correct community.sessions.wrong_key" in wrong
    assert "not-the-key" not in wrong and str(dh_psk_worker.psk) not in capsys.readouterr().out
