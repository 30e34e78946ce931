"""Operator policy, fast unit tests (no Java, no Docker): container hardening values and the
default memory rule, the python worker's minimal environment, and the state-directory and
instance-id rules of the tracker."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.errors import ConfigError, InvalidArgumentError
from deephaven_mcp.launchers import InstanceRecord, InstanceTracker, LaunchRequest
from deephaven_mcp.launchers.docker_spec import (
    PIDS_LIMIT,
    build_container_spec,
    default_memory_limit_bytes,
)
from deephaven_mcp.launchers.instance_tracker import (
    LOG_EXCERPT_CHARS,
    UnsafeStateDirError,
    check_state_dir,
    ensure_state_dir,
    is_instance_id,
    record_id_problem,
)
from deephaven_mcp.launchers.python_launcher import (
    _check_venv,
    build_environment,
    inherited_environment,
)

GIB = 1024**3
MIB = 1024**2


def _docker(**overrides: Any) -> LaunchRequest:
    values: dict[str, Any] = {"session_name": "d", "launch_method": "docker", "heap_size_gb": 1}
    values.update(overrides)
    return LaunchRequest(**values)


def _python(**overrides: Any) -> LaunchRequest:
    values: dict[str, Any] = {"session_name": "p", "launch_method": "python", "heap_size_gb": 1}
    values.update(overrides)
    return LaunchRequest(**values)


# -- container hardening --------------------------------------------------------------------


def test_every_container_spec_is_hardened() -> None:
    for request in (_docker(), _docker(auth_type="Anonymous", docker_memory_limit_gb=8)):
        spec = build_container_spec(request, "tok", instance_id="abc", key="k")
        assert spec.cap_drop == ("ALL",)
        assert spec.security_opt == ("no-new-privileges",)
        assert spec.pids_limit == PIDS_LIMIT == 4096


@pytest.mark.parametrize(
    ("heap_size_gb", "expected_bytes"),
    [
        (0.5, 512 * MIB + GIB),  # small heaps get the 1 GiB minimum headroom
        (1, 2 * GIB),
        (2.5, 2560 * MIB + GIB),
        (3.9, 3994 * MIB + GIB),  # 25 % of 3994 MiB is still below 1 GiB
        (4, 5 * GIB),  # the two rules meet: 25 % of 4 GiB is exactly 1 GiB
        (6, 6 * GIB + round(1.5 * GIB)),  # above that, a quarter of the heap
        (16, 20 * GIB),
    ],
)
def test_default_memory_limit_is_heap_plus_headroom(
    heap_size_gb: float, expected_bytes: int
) -> None:
    assert default_memory_limit_bytes(heap_size_gb) == expected_bytes
    spec = build_container_spec(
        _docker(heap_size_gb=heap_size_gb), None, instance_id="abc", key="k"
    )
    assert spec.mem_limit == expected_bytes


def test_configured_memory_limit_wins_over_the_default() -> None:
    # Below the default for this heap (2.5 GiB + 1 GiB) and far above it: both are kept.
    for configured, expected in [(3.0, 3 * GIB), (64, 64 * GIB)]:
        request = _docker(heap_size_gb=2.5, docker_memory_limit_gb=configured)
        spec = build_container_spec(request, None, instance_id="abc", key="k")
        assert spec.mem_limit == expected


# -- python worker environment ------------------------------------------------------------

_SERVER_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/op",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "LC_TIME": "en_GB.UTF-8",
    "TZ": "Europe/Zurich",
    "JAVA_HOME": "/opt/jdk",
    "JPY_JVM_DLL": "/opt/jdk/lib/server/libjvm.so",
    "TMPDIR": "/var/tmp/op",
    # Everything below must stay in the server.
    "DH_MCP_TEST_SECRET": "s3cret",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "OPENAI_API_KEY": "sk-x",
    "DH_MCP_CONFIG_FILE": "/etc/dh/mcp.json",
    "PYTHONPATH": "/somewhere",
    "LD_PRELOAD": "/evil.so",
    "XLC_ALL": "prefix must be at the start",
    "LC": "no underscore",
    "lc_all": "case matters",
    "DH_MCP_WORKER_PSK": "inherited-key",
}
_ALLOWED = {
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_TIME",
    "TZ",
    "JAVA_HOME",
    "JPY_JVM_DLL",
    "TMPDIR",
}


def test_inherited_environment_is_an_allow_list() -> None:
    assert inherited_environment(_SERVER_ENV) == {name: _SERVER_ENV[name] for name in _ALLOWED}


def test_unset_variables_are_not_invented() -> None:
    assert inherited_environment({"SECRET": "x"}) == {}
    env = build_environment(_python(auth_type="Anonymous"), None, {"SECRET": "x"})
    assert env == {"PYTHONUNBUFFERED": "1"}


def test_worker_environment_layers_request_and_launcher_variables() -> None:
    request = _python(
        environment_vars={"DH_MCP_TEST_REQUESTED": "yes", "TZ": "UTC", "PYTHONUNBUFFERED": "0"}
    )
    env = build_environment(request, "the-key", _SERVER_ENV)
    expected = {name: _SERVER_ENV[name] for name in _ALLOWED}
    expected.update(
        DH_MCP_TEST_REQUESTED="yes",
        TZ="UTC",  # the request overrides an inherited value
        DH_MCP_WORKER_PSK="the-key",  # the launcher's own key, not the inherited one
        PYTHONUNBUFFERED="1",  # the launcher's needs win over the request
    )
    assert env == expected
    # A request may name a variable the server has: it is passed because it was asked for.
    asked = build_environment(_python(environment_vars={"PYTHONPATH": "/x"}), "k", _SERVER_ENV)
    assert asked["PYTHONPATH"] == "/x"
    assert "OPENAI_API_KEY" not in asked


def test_anonymous_worker_gets_no_key_even_if_the_server_has_one() -> None:
    env = build_environment(_python(auth_type="Anonymous"), None, _SERVER_ENV)
    assert "DH_MCP_WORKER_PSK" not in env


def test_worker_environment_defaults_to_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DH_MCP_TEST_SECRET", "do-not-leak-7d1e")
    monkeypatch.setenv("LC_MESSAGES", "C")
    env = build_environment(_python(), "k")
    assert "DH_MCP_TEST_SECRET" not in env
    assert env["LC_MESSAGES"] == "C"
    assert env["PATH"] == os.environ["PATH"]


# -- state directory ------------------------------------------------------------------------


def _private_dir(tmp_path: Path, name: str = "state") -> Path:
    path = tmp_path / name
    path.mkdir(mode=0o700)
    path.chmod(0o700)
    return path


@pytest.mark.parametrize(
    "mode", [0o777, 0o770, 0o720, 0o702, 0o1777, 0o711, 0o750, 0o755, 0o740, 0o701]
)
async def test_state_dir_open_to_others_is_refused_at_start(tmp_path: Path, mode: int) -> None:
    state = _private_dir(tmp_path)
    state.chmod(mode)
    tracker = InstanceTracker(state)
    with pytest.raises(UnsafeStateDirError) as info:
        await tracker.start()
    message = str(info.value)
    assert str(state) in message
    assert f"chmod 700 {state}" in message
    assert "open to other users" in message and "must be 700" in message
    assert isinstance(info.value, ConfigError)
    with pytest.raises(UnsafeStateDirError):
        await tracker.cleanup_orphans()
    assert not (state / "instances").exists()  # nothing was written into it


async def test_private_state_dir_is_accepted(tmp_path: Path) -> None:
    state = _private_dir(tmp_path)
    tracker = InstanceTracker(state)
    await tracker.start()
    assert tracker.record_path.exists()
    await tracker.shutdown()


def test_state_dir_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    state = _private_dir(tmp_path)
    check_state_dir(state)  # ours: fine
    check_state_dir(state, expected_uid=os.getuid())
    stranger = os.getuid() + 1
    with pytest.raises(UnsafeStateDirError) as info:
        check_state_dir(state, expected_uid=stranger)
    message = str(info.value)
    assert str(state) in message
    assert f"owned by uid {os.getuid()}" in message
    assert f"(uid {stranger})" in message
    assert "DH_MCP_STATE_DIR" in message


async def test_start_checks_ownership_against_the_server_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = _private_dir(tmp_path)
    real_uid = os.getuid()
    tracker = InstanceTracker(state)
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)
    with pytest.raises(UnsafeStateDirError, match="owned by uid"):
        await tracker.start()


async def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.write_text("")
    with pytest.raises(UnsafeStateDirError, match="is not a directory"):
        await InstanceTracker(state).start()


def test_state_dir_can_be_checked_before_serving(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    assert ensure_state_dir(fresh) == fresh
    assert oct(fresh.stat().st_mode & 0o777) == oct(0o700)
    shared = _private_dir(tmp_path, "shared")
    shared.chmod(0o777)
    with pytest.raises(UnsafeStateDirError, match=re.escape(f"chmod 700 {shared}")):
        ensure_state_dir(str(shared))


async def test_state_dir_created_by_the_server_is_private(tmp_path: Path) -> None:
    state = tmp_path / "new" / "state"
    previous = os.umask(0)  # without the explicit mode, the directory would be 0777
    try:
        tracker = InstanceTracker(state)
        await tracker.start()
    finally:
        os.umask(previous)
    assert oct(state.stat().st_mode & 0o7777) == oct(0o700)
    assert oct(tracker.records_dir.stat().st_mode & 0o7777) == oct(0o700)
    for directory in (tracker.workers_dir.parent, tracker.workers_dir):
        assert oct(directory.stat().st_mode & 0o7777) == oct(0o700), directory
    await tracker.shutdown()


# -- instance ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "../../x", "a/b", "a.b", "abc\n", "\nabc", "a b", "x" * 65, "é", "..", "a\x00"],
)
def test_malformed_instance_ids_are_rejected(value: str) -> None:
    assert not is_instance_id(value)
    if value:  # an empty id means "generate one"
        with pytest.raises(InvalidArgumentError, match="invalid instance id"):
            InstanceTracker("/nonexistent", instance_id=value)


def test_record_must_be_named_after_its_instance_id(tmp_path: Path) -> None:
    def record(instance_id: str) -> InstanceRecord:
        return InstanceRecord(instance_id, 1, 1.0, 1.0)

    ok = "0123abcd" * 4
    assert is_instance_id(ok)
    assert record_id_problem(tmp_path / f"{ok}.json", record(ok)) is None
    mismatch = record_id_problem(tmp_path / "other.json", record(ok))
    assert mismatch is not None
    assert "does not match the file name" in mismatch
    travel = record_id_problem(tmp_path / "x.json", record("../../x"))
    assert travel == "invalid instance id '../../x'"
    huge = record_id_problem(tmp_path / "x.json", record("../" * 10_000))
    assert huge is not None
    assert len(huge) < LOG_EXCERPT_CHARS + 60


def test_venv_check_sees_the_workers_environment_not_the_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "venv" whose interpreter passes the import check only when the secret is unset:
    # the check must run with the environment the worker will get.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(
        '#!/bin/sh\n[ -z "$DH_MCP_TEST_SECRET" ] || exit 3\necho \'{"dirs": ["/opt/py"]}\'\n'
    )
    python.chmod(0o755)
    monkeypatch.setenv("DH_MCP_TEST_SECRET", "do-not-leak")
    checked = _check_venv(venv)
    assert checked.executable == str(python)
    assert checked.directories == ("/opt/py",)  # what a sandbox will show it
