"""enterprise_systems_status: statuses come from exception types, never from message text.

Two kinds of evidence: the fake backend raising the exception types the real client raises,
and the REAL coreplus adapter pointed at local endpoints that fail the way a broken or
unreachable server does (no Enterprise server needed).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import certifi
import grpc
import httpx
import pytest
from deephaven_enterprise.client.auth import AuthenticationFailedException

from deephaven_mcp.enterprise import (
    CoreplusBackend,
    EnterpriseSystem,
    ManagerHandle,
    SystemStatus,
    SystemUnavailableError,
    classify_failure,
)
from deephaven_mcp.errors import ConfigError, DeephavenMcpError
from tests._ports import free_port
from tests.enterprise.conftest import PASSWORD, make_config
from tests.enterprise.fake_backend import FakeEnterpriseBackend


def real_grpc_error() -> grpc.RpcError:
    """A genuine grpc error (UNAVAILABLE) from calling a closed local port."""
    channel = grpc.insecure_channel("127.0.0.1:1")
    # no serializers: grpc sends and returns raw bytes
    ping: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        "/io.deephaven.Nothing/Ping"
    )
    try:
        ping(b"", timeout=5)
    except grpc.RpcError as exc:
        return exc
    finally:
        channel.close()
    raise AssertionError("the call to a closed port succeeded")


class CodedRpcError(grpc.RpcError):
    """A gRPC error with a status code, shaped like grpc's own (``code()``)."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(f"rpc failed with {code.name}: ONLINE UNAUTHORIZED misleading text")
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


async def test_not_connected_yet_is_unknown_without_connecting(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    report = await system.status()
    assert report.status is SystemStatus.UNKNOWN
    assert not report.is_alive
    assert fake.calls == []  # nothing was contacted


async def test_attempt_to_connect_reports_online_then_pings(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    report = await system.status(attempt_to_connect=True)
    assert (report.status, report.is_alive, report.name) == (SystemStatus.ONLINE, True, "prod")
    assert [op for op, _ in fake.calls] == ["open_manager", "login_password"]
    # Controller calls keep the operation timeout (30) for the manager's lifetime (issue 10);
    # the 5 s connect timeout bounds connecting, logging in and the auth server's calls.
    assert fake.calls[0][1] == ("https://enterprise.test/iris/connection.json", 30, 5)
    again = await system.status()
    assert again.status is SystemStatus.ONLINE
    assert [op for op, _ in fake.calls][-1] == "ping"
    assert [op for op, _ in fake.calls].count("open_manager") == 1


@pytest.mark.parametrize(
    ("method", "exc", "expected"),
    [
        (
            "open_manager",
            httpx.ConnectError("All connection attempts failed"),
            SystemStatus.OFFLINE,
        ),
        ("open_manager", httpx.ReadTimeout("timed out"), SystemStatus.OFFLINE),
        ("open_manager", httpx.UnsupportedProtocol("ftp"), SystemStatus.MISCONFIGURED),
        (
            "open_manager",
            json.JSONDecodeError("Expecting value", "<html>", 0),
            SystemStatus.MISCONFIGURED,
        ),
        ("open_manager", RuntimeError("auth_port is not defined"), SystemStatus.MISCONFIGURED),
        ("open_manager", CodedRpcError(grpc.StatusCode.UNAVAILABLE), SystemStatus.OFFLINE),
        ("open_manager", CodedRpcError(grpc.StatusCode.UNIMPLEMENTED), SystemStatus.MISCONFIGURED),
        ("login_password", AuthenticationFailedException("bad"), SystemStatus.UNAUTHORIZED),
        (
            "login_password",
            CodedRpcError(grpc.StatusCode.UNAUTHENTICATED),
            SystemStatus.UNAUTHORIZED,
        ),
        (
            "login_password",
            CodedRpcError(grpc.StatusCode.PERMISSION_DENIED),
            SystemStatus.UNAUTHORIZED,
        ),
        ("login_password", CodedRpcError(grpc.StatusCode.DEADLINE_EXCEEDED), SystemStatus.OFFLINE),
        (
            "login_password",
            RuntimeError("Could not authenticate to controller."),
            SystemStatus.UNKNOWN,
        ),
        ("login_password", KeyError("x"), SystemStatus.UNKNOWN),
    ],
)
async def test_failure_types_map_to_statuses(
    fake: FakeEnterpriseBackend, method: str, exc: BaseException, expected: SystemStatus
) -> None:
    fake.fail_always[method] = exc
    system = EnterpriseSystem("prod", make_config(), fake)
    report = await system.status(attempt_to_connect=True)
    assert report.status is expected, report.detail
    assert report.is_alive is False
    # the last failure is remembered for cheap status calls
    assert (await system.status()).status is expected
    with pytest.raises(SystemUnavailableError) as raised:
        await system.pq_list()
    assert raised.value.status is expected
    if method == "login_password":
        assert [op for op, _ in fake.calls].count("close_manager") >= 1  # no leaked manager


def test_message_text_does_not_drive_the_status() -> None:
    misleading = RuntimeError("UNAUTHORIZED: password rejected, server OFFLINE")
    assert classify_failure(misleading, "login")[0] is SystemStatus.UNKNOWN
    assert classify_failure(misleading, "open")[0] is SystemStatus.MISCONFIGURED
    assert classify_failure(Exception("ONLINE"), "ping")[0] is SystemStatus.UNKNOWN


def test_a_real_grpc_error_is_offline() -> None:
    status, detail = classify_failure(real_grpc_error(), "login")
    assert status is SystemStatus.OFFLINE
    assert "UNAVAILABLE" in detail


async def test_wrong_password_is_unauthorized(fake: FakeEnterpriseBackend) -> None:
    system = EnterpriseSystem("prod", make_config(password="wrong-password"), fake)
    report = await system.status(attempt_to_connect=True)
    assert report.status is SystemStatus.UNAUTHORIZED
    assert "wrong-password" not in repr(report)


async def test_missing_password_env_var_is_misconfigured(
    fake: FakeEnterpriseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DH_TEST_ENTERPRISE_PW", raising=False)
    config = make_config(password=None, password_env_var="DH_TEST_ENTERPRISE_PW")
    system = EnterpriseSystem("prod", config, fake)
    report = await system.status(attempt_to_connect=True)
    assert report.status is SystemStatus.MISCONFIGURED
    assert "DH_TEST_ENTERPRISE_PW" in report.detail
    with pytest.raises(ConfigError):
        await system.pq_list()
    monkeypatch.setenv("DH_TEST_ENTERPRISE_PW", PASSWORD)
    assert (await system.status(attempt_to_connect=True)).status is SystemStatus.ONLINE


async def test_private_key_auth(fake: FakeEnterpriseBackend, tmp_path: Path) -> None:
    key = tmp_path / "svc.pem"
    key.write_text("user alice\noperateas alice\npublic AAAA\nprivate BBBB\n", encoding="utf-8")
    config = make_config(
        auth_type="private_key", username=None, password=None, private_key_path=str(key)
    )
    assert (await EnterpriseSystem("k", config, fake).status(True)).status is SystemStatus.ONLINE
    missing = config.model_copy(update={"private_key_path": str(tmp_path / "nope.pem")})
    report = await EnterpriseSystem("k", missing, fake).status(True)
    assert report.status is SystemStatus.MISCONFIGURED
    key.write_text("not a key\n", encoding="utf-8")
    report = await EnterpriseSystem("k", config, fake).status(True)
    assert report.status is SystemStatus.MISCONFIGURED


async def test_ping_failures_on_an_open_connection(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    await system.status(attempt_to_connect=True)
    # A ping that raises (server-side expiry, unreachable): the manager is not kept, since
    # coreplus never recovers such a login by itself; the next use opens a new one.
    fake.fail_next["ping"] = real_grpc_error()
    assert (await system.status()).status is SystemStatus.OFFLINE
    assert (await system.status(attempt_to_connect=True)).status is SystemStatus.ONLINE
    assert [op for op, _ in fake.calls].count("open_manager") == 2
    fake.ping_result = False  # logged out: the connection is dropped and reopened on demand
    report = await system.status()
    assert report.status is SystemStatus.OFFLINE
    fake.ping_result = True
    assert (await system.status(attempt_to_connect=True)).status is SystemStatus.ONLINE
    assert [op for op, _ in fake.calls].count("open_manager") == 3


async def test_a_stuck_subscription_is_not_online_and_is_rebuilt(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    """Issue 10, bug 6: a re-subscription that never completes still answers ping."""
    await system.status(attempt_to_connect=True)
    fake.managers[-1].subscription_stuck = True
    report = await system.status()
    assert report.status is SystemStatus.OFFLINE and "subscription is down" in report.detail
    await system.pq_list()  # works again: a fresh connection with a live subscription
    assert [op for op, _ in fake.calls].count("open_manager") == 2
    assert (await system.status()).status is SystemStatus.ONLINE


async def test_a_stale_subscription_is_replaced_before_reading_the_map(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend
) -> None:
    fake.add_existing_pq("svc")
    await system.pq_list()
    fake.managers[-1].subscription_stuck = True
    assert [query.name for query in await system.pq_list()] == ["svc"]
    assert [op for op, _ in fake.calls].count("open_manager") == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE])
async def test_an_operation_that_finds_the_login_gone_reconnects_next_time(
    system: EnterpriseSystem, fake: FakeEnterpriseBackend, code: grpc.StatusCode
) -> None:
    serial = fake.add_existing_pq("svc")
    await system.pq_list()
    fake.fail_next["delete_query"] = CodedRpcError(code)
    with pytest.raises(DeephavenMcpError):
        await system.pq_delete(serial)
    await system.pq_delete(serial)  # a new connection, not the dead one
    assert [op for op, _ in fake.calls].count("open_manager") == 2


async def test_connect_timeout_is_offline(
    fake: FakeEnterpriseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = fake.open_manager

    def slow_open(url: str, rpc_timeout: int, connect_timeout: int) -> ManagerHandle:
        time.sleep(1.5)
        return original(url, rpc_timeout, connect_timeout)

    monkeypatch.setattr(fake, "open_manager", slow_open)
    system = EnterpriseSystem("slow", make_config(connection_timeout=0.3), fake)
    report = await system.status(attempt_to_connect=True)
    assert report.status is SystemStatus.OFFLINE
    assert "timed out" in report.detail
    time.sleep(1.6)
    # the manager that arrived after the timeout was closed, not leaked
    assert fake.managers and all(manager.closed for manager in fake.managers)


# -- the real coreplus adapter against local endpoints ----------------------------------------


@pytest.fixture
def connection_json_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local HTTP server; tests put the body of /iris/connection.json in the dict."""
    bodies: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path, b"not found")
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


async def _real_status(url: str, timeout: float = 5) -> tuple[SystemStatus, str]:
    config = make_config(connection_json_url=url, connection_timeout=timeout)
    system = EnterpriseSystem("real", config, CoreplusBackend())
    report = await system.status(attempt_to_connect=True)
    assert PASSWORD not in repr(report)
    return report.status, report.detail


async def test_real_adapter_unreachable_url_is_offline() -> None:
    status, detail = await _real_status(f"http://127.0.0.1:{free_port()}/iris/connection.json")
    assert status is SystemStatus.OFFLINE, detail
    assert "ConnectError" in detail


async def test_real_adapter_non_json_is_misconfigured(
    connection_json_server: tuple[str, dict[str, bytes]],
) -> None:
    base, bodies = connection_json_server
    bodies["/iris/connection.json"] = b"<html>login page</html>"
    status, detail = await _real_status(f"{base}/iris/connection.json")
    assert status is SystemStatus.MISCONFIGURED, detail
    assert "JSONDecodeError" in detail


async def test_real_adapter_incomplete_json_is_misconfigured(
    connection_json_server: tuple[str, dict[str, bytes]],
) -> None:
    base, bodies = connection_json_server
    bodies["/iris/connection.json"] = json.dumps({"controller_host": "x"}).encode()
    status, detail = await _real_status(f"{base}/iris/connection.json")
    assert status is SystemStatus.MISCONFIGURED, detail


async def test_real_adapter_dead_auth_server_is_offline(
    connection_json_server: tuple[str, dict[str, bytes]],
) -> None:
    base, bodies = connection_json_server
    port = free_port()
    bodies["/iris/connection.json"] = json.dumps(
        {
            "auth_host": ["127.0.0.1"],
            "auth_port": port,
            "controller_host": "127.0.0.1",
            "controller_port": port,
            "truststore_url": certifi.where(),  # a local PEM: TLS channel with our RPC timeout
        }
    ).encode()
    status, detail = await _real_status(f"{base}/iris/connection.json", timeout=1.5)
    assert status is SystemStatus.OFFLINE, detail
