"""The real Core+ client (``deephaven_enterprise``) against the wire-level fakes.

These tests pin what the client does on the wire, independently of deephaven-mcp: they are
the harness's own checks, and they document the protocol facts the adapter relies on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from deephaven_enterprise.client.auth import AuthClient, AuthenticationFailedException
from deephaven_enterprise.client.session_manager import SessionManager
from deephaven_enterprise.proto import auth_pb2, controller_pb2, persistent_query_pb2
from pydeephaven import DHError

from tests._workers import RunningWorker
from tests.enterprise.catalog_data import CATALOG_ROWS
from tests.enterprise.wire.connection import CONNECTION_PATH, TRUSTSTORE_PATH
from tests.enterprise.wire.controller_service import StartBehavior
from tests.enterprise.wire.harness import PASSWORD, USERNAME, WireHarness
from tests.enterprise.wire.tls import TlsMaterial

RPC_TIMEOUT = 5
SIMPLE_TABLES = {"simple_numbers", "simple_people", "simple_awkward"}


@contextlib.contextmanager
def manager(wire: WireHarness, login: bool = True) -> Iterator[SessionManager]:
    """A SessionManager as the adapter opens one; always closed."""
    session_manager = SessionManager(
        url=wire.connection_json_url, client_name="wire-test", rpc_timeout_seconds=RPC_TIMEOUT
    )
    try:
        if login:
            session_manager.password(USERNAME, PASSWORD)
        yield session_manager
    finally:
        session_manager.close()


def test_connection_json_truststore_and_tls(wire: WireHarness) -> None:
    with manager(wire, login=False) as session_manager:
        assert wire.web.requests == [CONNECTION_PATH, TRUSTSTORE_PATH]
        # The CA from truststore_url is what the client trusts for every gRPC channel.
        assert session_manager.frontend_truststore == wire.tls.ca_pem
        assert session_manager.internal_truststore == wire.tls.ca_pem
        # Both clients ping on construction, before any login.
        assert wire.auth.log.methods() == ["ping"]
        assert wire.controller.log.methods() == ["ping"]


def test_password_login_authenticates_the_controller_with_a_token(wire: WireHarness) -> None:
    with manager(wire):
        login = wire.auth.log.last("authenticateByPassword", auth_pb2.AuthenticateByPasswordRequest)
        assert login.password == PASSWORD
        assert (login.user_context.authenticatedUser, login.user_context.effectiveUser) == (
            USERNAME,
            USERNAME,
        )
        # With a truststore, coreplus drops client_name from the auth client's id.
        assert login.client_id.name.startswith("Python:") and len(login.client_id.uuid) == 16
        # The controller session comes from a one-use token for PersistentQueryController.
        assert [token.service for token in wire.auth.tokens_verified] == [
            "PersistentQueryController"
        ]
        authenticate = wire.controller.log.last(
            "authenticate", controller_pb2.AuthenticationRequest
        )
        assert authenticate.getConfiguration is True
        assert wire.controller.subscriber_count == 1
    # close() logs out of both services.
    assert wire.auth.log.methods()[-1] == "invalidateCookie"
    assert wire.controller.log.methods()[-1] == "invalidateCookie"
    assert wire.auth.live_cookies == 0


def test_wrong_password(wire: WireHarness) -> None:
    session_manager = SessionManager(url=wire.connection_json_url, rpc_timeout_seconds=RPC_TIMEOUT)
    try:
        with pytest.raises(AuthenticationFailedException):
            session_manager.password(USERNAME, "not-the-password")
        wire.auth.reject_with_status = True
        with pytest.raises(grpc.RpcError) as failure:
            session_manager.password(USERNAME, "not-the-password")
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        session_manager.close()
    assert "authenticate" not in wire.controller.log.methods()


def test_private_key_login(wire: WireHarness, tmp_path: Path) -> None:
    private_text, public_text = AuthClient.generate_keypair(USERNAME)
    key_file = tmp_path / "priv-alice.base64.txt"
    key_file.write_text(private_text, encoding="utf-8")

    session_manager = SessionManager(url=wire.connection_json_url, rpc_timeout_seconds=RPC_TIMEOUT)
    try:
        with pytest.raises(AuthenticationFailedException):  # not registered yet
            session_manager.private_key(str(key_file))
        wire.auth.add_public_key(public_text)
        session_manager.private_key(str(key_file))
        assert session_manager.controller_client.map() == {}
    finally:
        session_manager.close()
    methods = wire.auth.log.methods()
    assert methods.count("getNonce") == 2 and methods.count("authenticateByPublicKey") == 2


def test_the_subscription_map_follows_the_controller(wire: WireHarness) -> None:
    existing = wire.controller.add_query("etl", running=True)
    with manager(wire) as session_manager:
        controller = session_manager.controller_client
        snapshot, version = controller.map_and_version()
        assert list(snapshot) == [existing]
        assert snapshot[existing].state.status == persistent_query_pb2.PQS_RUNNING

        added = wire.controller.add_query("report")
        assert controller.wait_for_change_from_version(map_version=version, timeout_seconds=5)
        assert controller.get(added, timeout_seconds=5).config.name == "report"
        assert controller.get_serial_for_name("report", timeout_seconds=5) == added

        controller.start_and_wait(added, timeout_seconds=10)
        running = controller.get(added)
        assert running.state.status == persistent_query_pb2.PQS_RUNNING
        assert running.state.connectionDetails.grpcUrl == f"https://127.0.0.1:{wire.proxy.port}"

        controller.stop_and_wait(added, timeout_seconds=10)
        assert controller.get(added).state.status == persistent_query_pb2.PQS_STOPPED

        controller.delete_query(added)
        _, version = controller.map_and_version()
        while added in controller.map():
            assert controller.wait_for_change_from_version(version, timeout_seconds=5)
            _, version = controller.map_and_version()
    restart = wire.controller.log.last("restartQuery", controller_pb2.RestartQueryRequest)
    assert list(restart.serials) == [added] and restart.cookie


def test_start_and_wait_timeout_is_an_attribute_error(wire: WireHarness) -> None:
    """coreplus reads ``info.config`` of ``None`` when the wait times out: the adapter gets an
    AttributeError, not the RuntimeError the method documents (issue 10)."""
    serial = wire.controller.add_query("stuck", behavior=StartBehavior.HANG)
    with manager(wire) as session_manager, pytest.raises(AttributeError):
        session_manager.controller_client.start_and_wait(serial, timeout_seconds=1)
    assert wire.controller.status_name(serial) == "PQS_INITIALIZING"


def test_connect_to_a_running_query_reads_data_through_the_proxy(wire: WireHarness) -> None:
    serial = wire.controller.add_query("dashboard", running=True)
    with manager(wire) as session_manager:
        session = session_manager.connect_to_persistent_query(serial=serial)
        try:
            assert set(session.tables) >= SIMPLE_TABLES
            table = session.open_table("simple_people")
            try:
                assert table.to_arrow().num_rows == 5
            finally:
                table.close()
        finally:
            session.close()  # type: ignore[no-untyped-call]
        assert serial in wire.controller.queries()  # not ours: closing leaves it alone
    calls = wire.proxy.calls
    # The first call presents a one-use RemoteQueryProcessor token; then the worker's bearer.
    assert (calls[0].auth, calls[0].user) == ("token", USERNAME)
    assert {call.auth for call in calls[1:]} == {"bearer"}
    assert any(call.method.endswith("FlightService/DoGet") for call in calls)
    assert all("envoy-prefix" in call.headers for call in calls)
    assert [token.service for token in wire.auth.tokens_verified].count("RemoteQueryProcessor") == 1


def test_a_new_worker_is_a_temporary_query_deleted_on_close(wire: WireHarness) -> None:
    with manager(wire) as session_manager:
        session = session_manager.connect_to_new_worker(
            name="scratch", heap_size_gb=1.5, timeout_seconds=10
        )
        serial = session.pqinfo().config.serial
        try:
            assert set(session.tables) >= SIMPLE_TABLES
        finally:
            session.close()  # type: ignore[no-untyped-call]
    added = wire.controller.log.last("addQuery", controller_pb2.AddQueryRequest).config
    assert (added.name, added.heapSizeGb, added.serverName) == ("scratch", 1.5, "Query_1")
    assert added.configurationType == "InteractiveConsole"
    assert "TemporaryAutoDelete=true" in added.scheduling
    assert added.serial == -(2**63)  # the controller assigns the serial
    assert wire.controller.removed == [serial]


def test_authorities_can_be_overridden(dh_psk_worker: RunningWorker, wire_tls: TlsMaterial) -> None:
    assert dh_psk_worker.psk is not None
    harness = WireHarness(
        dh_psk_worker.host,
        dh_psk_worker.port,
        dh_psk_worker.psk,
        tls=wire_tls,
        override_authorities=True,
    ).start()
    try:
        with manager(harness) as session_manager:
            assert session_manager.ping()
    finally:
        harness.close()


def test_query_states_in_the_map(wire: WireHarness) -> None:
    failing = wire.controller.add_query("broken", behavior=StartBehavior.FAIL)
    wire.controller.set_behavior(failing, message="boom")
    with manager(wire) as session_manager:
        controller = session_manager.controller_client
        controller.start_and_wait(failing, timeout_seconds=10)  # terminal counts as done
        info = controller.get(failing)
        assert info.state.status == persistent_query_pb2.PQS_FAILED
        assert info.state.exceptionDetails.errorMessage == "boom"
        assert info.state.numFailures == 1


def test_database_tables_through_the_proxy(wire: WireHarness) -> None:
    """The worker proxy plays the database the way the client reads it: a missing table is
    INVALID_ARGUMENT ("no table by the name"), a refusal keeps its status and reason."""
    serial = wire.controller.add_query("reader", running=True)
    wire.proxy.forbidden_namespaces["Internal"] = "not yours"
    with manager(wire) as session_manager:
        session = session_manager.connect_to_persistent_query(serial=serial)
        try:
            for table, rows in (
                (session.catalog_table(), len(CATALOG_ROWS)),
                (session.historical_table("MarketUS", "Trades"), 250),
                (session.live_table("MarketUS", "LiveTicks"), 20),
            ):
                try:
                    assert table.to_arrow().num_rows == rows
                finally:
                    table.close()
            with pytest.raises(DHError, match="no table by the name"):
                session.historical_table("MarketUS", "LiveTicks")
            with pytest.raises(DHError) as refused:
                session.historical_table("Internal", "AuditLog")
            cause = refused.value.__cause__
            assert isinstance(cause, grpc.RpcError)
            assert cause.code() == grpc.StatusCode.PERMISSION_DENIED
            assert cause.details() == "not yours"
        finally:
            session.close()  # type: ignore[no-untyped-call]
    assert wire.proxy.database_fetches[0] == b"d/catalog"
