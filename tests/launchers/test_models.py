"""Unit tests: request validation, heap flags, volume parsing, container spec, banner."""

from __future__ import annotations

import io
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deephaven_mcp.config.auth_type import AuthType
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.launchers import (
    ANONYMOUS_HANDLER,
    PSK_HANDLER,
    LaunchedWorker,
    LaunchRequest,
    build_container_spec,
    format_access_banner,
    generate_token,
    heap_jvm_arg,
    parse_volume,
    print_access_banner,
)
from deephaven_mcp.launchers.docker_spec import AUTH_ARGS_PATH, container_name
from deephaven_mcp.launchers.python_launcher import build_command, build_environment


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4, "-Xmx4g"), (1, "-Xmx1g"), (2.5, "-Xmx2560m"), (4.0, "-Xmx4096m"), (0.5, "-Xmx512m")],
)
def test_heap_jvm_arg(value: float, expected: str) -> None:
    assert heap_jvm_arg(value) == expected


@pytest.mark.parametrize("value", [0, -1, 0.0, -2.5, float("nan"), float("inf"), True, 0.0001])
def test_heap_jvm_arg_rejects(value: float) -> None:
    with pytest.raises(InvalidArgumentError):
        heap_jvm_arg(value)


def test_request_defaults_and_normalisation() -> None:
    raw = {
        "session_name": "s1",
        "launch_method": "python",
        "auth_type": PSK_HANDLER,
        "extra_jvm_args": ["-XX:+UseG1GC"],
        "environment_vars": {"A": "1"},
    }
    request = LaunchRequest.model_validate(raw)
    assert request.auth_type == "PSK"
    assert request.extra_jvm_args == ("-XX:+UseG1GC",)
    assert request.heap_arg == "-Xmx4g"
    with pytest.raises(TypeError):
        request.environment_vars["B"] = "2"  # type: ignore[index]
    raw = {"session_name": "a", "launch_method": "docker", "auth_type": "anonymous"}
    assert LaunchRequest.model_validate(raw).auth_type == "Anonymous"


def test_token_never_in_repr() -> None:
    request = LaunchRequest(session_name="s", launch_method="python", auth_token="sup3r-secret!")
    assert "sup3r-secret!" not in repr(request)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"session_name": "bad name"}, "invalid session name"),
        ({"session_name": "-x"}, "invalid session name"),
        ({"launch_method": "podman"}, "launch_method"),
        ({"auth_type": "Basic"}, "auth_type"),
        ({"auth_type": "Anonymous", "auth_token": "abcdef"}, "only used with PSK"),
        ({"auth_token": "has space"}, "printable ASCII"),
        ({"auth_token": 'quo"te'}, "printable ASCII"),
        ({"auth_token": ""}, "non-empty"),
        ({"heap_size_gb": 0}, "positive"),
        ({"extra_jvm_args": ("-Dauthentication.psk=x",)}, "auth_type/auth_token"),
        ({"extra_jvm_args": ("",)}, "non-empty"),
        ({"environment_vars": {"DH_MCP_WORKER_PSK": "x"}}, "reserved"),
        ({"environment_vars": {"1BAD": "x"}}, "not valid"),
        ({"docker_volumes": ("/a",)}, "host:container"),
        ({"docker_memory_limit_gb": -1.0}, "positive"),
        ({"docker_cpu_limit": 0}, "positive"),
        ({"startup_timeout_seconds": 0}, "positive"),
        ({"startup_check_interval_seconds": -1}, "positive"),
        ({"startup_retries": -1}, "0 to 10"),
        ({"startup_retries": 1.5}, "0 to 10"),
        ({"docker_image": " "}, "docker_image"),
        ({"host": ""}, "host"),
        ({"host": "localhost"}, "IP address"),
        ({"python_venv_path": " "}, "python_venv_path"),
    ],
)
def test_request_validation(kwargs: dict[str, Any], fragment: str) -> None:
    base: dict[str, Any] = {"session_name": "ok", "launch_method": "docker"}
    base.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=fragment):
        LaunchRequest(**base)


def test_heap_must_fit_docker_memory_limit() -> None:
    with pytest.raises(InvalidArgumentError, match="below docker_memory_limit_gb"):
        LaunchRequest(
            session_name="s", launch_method="docker", heap_size_gb=4, docker_memory_limit_gb=4.0
        )
    # Not applicable to python launches: config defaults may carry docker fields.
    LaunchRequest(
        session_name="s", launch_method="python", heap_size_gb=4, docker_memory_limit_gb=4.0
    )


def test_parse_volume(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_volume("/srv/data:/data").bind == "/srv/data:/data:rw"
    assert parse_volume("/srv/data:/data:ro").bind == "/srv/data:/data:ro"
    assert parse_volume("myvol:/cache:rw,z").bind == "myvol:/cache:rw,z"
    monkeypatch.chdir(str(tmp_path))
    assert parse_volume("./in:/in:ro").source == os.path.join(str(tmp_path), "in")
    assert parse_volume("~/x:/x").source == os.path.expanduser("~/x")
    for bad, fragment in [
        ("/a:relative", "must be absolute"),
        ("/a:/b:rx", "unknown mode"),
        ("/a:/b:ro,rw", "both"),
        ("/a:/b:ro:extra", "host:container"),
        (":/b", "host:container"),
        ("bad name!:/b", "neither a path"),
        ("", "non-empty"),
    ]:
        with pytest.raises(InvalidArgumentError, match=fragment):
            parse_volume(bad)


def test_container_spec_psk() -> None:
    request = LaunchRequest(
        session_name="My_sess.1",
        launch_method="docker",
        heap_size_gb=2.5,
        extra_jvm_args=("-XX:+UseG1GC", "-Dsome.prop=a b"),
        environment_vars={"TZ": "UTC", "START_OPTS": "-Dfrom.user=1"},
        docker_image="ghcr.io/deephaven/server:0.40.0",
        docker_memory_limit_gb=3.0,
        docker_cpu_limit=1.5,
        docker_volumes=("/srv/in:/in:ro", "cachevol:/cache"),
    )
    spec = build_container_spec(request, "tok-en_123", instance_id="abcdef0123456789", key="k1")
    assert spec.image == "ghcr.io/deephaven/server:0.40.0"
    assert spec.name == "dh-mcp-My_sess.1-abcdef01"
    start_opts = spec.environment["START_OPTS"]
    assert start_opts == (
        "-Dfrom.user=1 -Xmx2560m -XX:+UseG1GC '-Dsome.prop=a b' "
        f"-DAuthHandlers={PSK_HANDLER} @{AUTH_ARGS_PATH}"
    )
    assert spec.environment["TZ"] == "UTC"
    assert spec.labels == {
        "deephaven-mcp.managed": "true",
        "deephaven-mcp.instance": "abcdef0123456789",
        "deephaven-mcp.session": "My_sess.1",
        "deephaven-mcp.key": "k1",
    }
    assert spec.ports == {"10000/tcp": ("127.0.0.1", None)}
    assert spec.volumes == ["/srv/in:/in:ro", "cachevol:/cache:rw"]
    assert spec.mem_limit == 3 * 1024**3
    assert spec.nano_cpus == 1_500_000_000
    assert "tok-en_123" not in repr(spec)
    assert "tok-en_123" not in str(spec.environment) + str(spec.labels)
    assert spec.auth_archive is not None
    with tarfile.open(fileobj=io.BytesIO(spec.auth_archive)) as tar:
        member = tar.getmember(AUTH_ARGS_PATH.lstrip("/"))
        assert member.mode == 0o644
        content = tar.extractfile(member)
        assert content is not None
        assert content.read() == b'"-Dauthentication.psk=tok-en_123"\n'


def test_container_spec_anonymous_has_no_auth_file() -> None:
    request = LaunchRequest(
        session_name="anon", launch_method="docker", auth_type=AuthType.ANONYMOUS, heap_size_gb=1
    )
    spec = build_container_spec(request, None, instance_id="i" * 32, key="k")
    assert spec.environment == {"START_OPTS": f"-Xmx1g -DAuthHandlers={ANONYMOUS_HANDLER}"}
    assert spec.auth_archive is None
    assert spec.mem_limit == 2 * 1024**3  # no limit configured: heap + 1 GiB headroom
    assert spec.nano_cpus is None
    assert spec.volumes == []
    assert container_name("a.b_c", "0123456789") == "dh-mcp-a.b_c-01234567"


def test_python_command_and_environment_keep_token_off_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DH_MCP_WORKER_PSK", "inherited-should-be-dropped")
    request = LaunchRequest(
        session_name="p",
        launch_method="python",
        auth_token="the-token-42",
        heap_size_gb=1,
        extra_jvm_args=("-XX:+UseG1GC",),
        environment_vars={"FOO": "bar"},
        init_script="x = 1",
    )
    command = build_command("/usr/bin/python3", request, tmp_path, "inst123")
    assert "the-token-42" not in " ".join(command)
    assert "--jvm-arg=-Xmx1g" in command
    assert "--jvm-arg=-XX:+UseG1GC" in command
    assert "--instance-id=inst123" in command
    assert "--init-script" in command
    env = build_environment(request, "the-token-42")
    assert env["DH_MCP_WORKER_PSK"] == "the-token-42"
    assert env["FOO"] == "bar"
    anonymous = LaunchRequest(
        session_name="p", launch_method="python", auth_type=AuthType.ANONYMOUS
    )
    assert "DH_MCP_WORKER_PSK" not in build_environment(anonymous, None)


class _NoControl:
    async def stop(self, timeout: float) -> None:
        raise AssertionError("not used")

    async def is_running(self) -> bool:
        return False


def _worker(token: str | None, generated: bool, auth: AuthType = AuthType.PSK) -> LaunchedWorker:
    return LaunchedWorker(
        session_name="demo",
        launch_method="python",
        host="127.0.0.1",
        port=45123,
        auth_type=auth,
        auth_token=token,
        pid=1,
        container_id=None,
        started_at=datetime.now(UTC),
        token_generated=generated,
        _control=_NoControl(),
    )


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr does when a person runs the server."""

    def isatty(self) -> bool:
        return True


def test_banner_prints_once_with_generated_token() -> None:
    token = generate_token()
    assert len(token) >= 43
    assert generate_token() != token
    worker = _worker(token, generated=True)
    assert token not in repr(worker)
    stream = _Terminal()
    assert print_access_banner(worker, stream) is True
    assert print_access_banner(worker, stream) is False
    text = stream.getvalue()
    assert text.count(token) == 2  # the token line and the browser URL
    assert f"http://127.0.0.1:45123/?psk={token}" in text
    assert "Port:        45123" in text
    assert "security.community.credential_retrieval_mode" in text
    assert text.startswith("=" * 70)


def test_off_a_terminal_the_token_goes_to_a_private_file(tmp_path: Path) -> None:
    token = generate_token()
    log = io.StringIO()  # e.g. Claude Desktop's log file
    access = tmp_path / "state" / "access" / "inst-demo.txt"
    assert print_access_banner(_worker(token, generated=True), log, access_file=access)
    printed = log.getvalue()
    assert token not in printed
    assert f"Auth token and browser URL: in {access} (readable only by you)" in printed
    assert "Port:        45123" in printed
    assert oct(access.stat().st_mode & 0o777) == oct(0o600)
    assert f"Auth token:  {token}" in access.read_text()
    assert f"/?psk={token}" in access.read_text()
    # Without a file to write, the token is simply not shown.
    withheld = io.StringIO()
    assert print_access_banner(_worker(token, generated=True), withheld)
    assert token not in withheld.getvalue()
    assert "not shown (the output is not a terminal)" in withheld.getvalue()


def test_an_existing_access_file_is_made_private_again(tmp_path: Path) -> None:
    access = tmp_path / "open.txt"
    access.write_text("old")
    access.chmod(0o644)
    assert print_access_banner(_worker("t" * 43, generated=True), io.StringIO(), access_file=access)
    assert oct(access.stat().st_mode & 0o777) == oct(0o600)
    assert "old" not in access.read_text()


def test_banner_skipped_for_user_token_and_anonymous() -> None:
    stream = io.StringIO()
    assert print_access_banner(_worker("user-token", generated=False), stream) is False
    assert (
        print_access_banner(_worker(None, generated=False, auth=AuthType.ANONYMOUS), stream)
        is False
    )
    assert stream.getvalue() == ""
    anon = format_access_banner(_worker(None, generated=False, auth=AuthType.ANONYMOUS))
    assert "Browser URL: http://127.0.0.1:45123/" in anon
    assert "Auth token" not in anon


def test_browser_url_escapes_token_and_brackets_ipv6() -> None:
    worker = _worker("a&b=c", generated=True)
    assert worker.browser_url == "http://127.0.0.1:45123/?psk=a%26b%3Dc"
    worker.host = "::1"
    assert worker.base_url == "http://[::1]:45123"
