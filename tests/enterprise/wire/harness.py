"""One fake Enterprise install on 127.0.0.1, assembled from the wire-level fakes.

=================  ===========================================================
auth server        :class:`~.auth_service.FakeAuthService`, gRPC over TLS
controller         :class:`~.controller_service.FakeControllerService`, gRPC over TLS
workers            :class:`~.worker_proxy.WorkerProxy` in front of a real worker
web server         :class:`~.connection.ConnectionJsonServer`: connection.json and
                   the truststore (plain HTTP)
=================  ===========================================================

The real ``deephaven_enterprise`` client talks to all of it exactly as to a real install.

Faults (issue 19): the controller goes down and comes back on the same port with its queries
(:meth:`WireHarness.stop_controller`, :meth:`~WireHarness.start_controller`); one worker
fails alone behind its own proxy (:meth:`~WireHarness.add_worker_proxy`,
:meth:`~WireHarness.serving_from`, then ``die`` / ``revive`` on it); the auth server forgets
every login (:meth:`~WireHarness.restart_services`) or hands out short-lived cookies
(``auth.cookie_lifetime``).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from deephaven_enterprise.proto import auth_service_pb2_grpc, controller_service_pb2_grpc

from tests.enterprise.wire.auth_service import FakeAuthService
from tests.enterprise.wire.connection import TRUSTSTORE_PATH, ConnectionJsonServer
from tests.enterprise.wire.controller_service import FakeControllerService
from tests.enterprise.wire.tls import TlsMaterial, make_tls_material
from tests.enterprise.wire.worker_proxy import WorkerProxy

USERNAME = "alice"
PASSWORD = "wire-pw-7c1e"
HOST = "127.0.0.1"


def _tls_server(
    tls: TlsMaterial, pool: ThreadPoolExecutor
) -> tuple[grpc.Server, grpc.ServerCredentials]:
    return grpc.server(pool), grpc.ssl_server_credentials([(tls.key_pem, tls.chain_pem)])


def _logged_in(session_manager: Any) -> bool:
    """Whether a SessionManager holds a login; one whose constructor failed (the controller
    was down) has no controller client, nor any login."""
    clients = (
        getattr(session_manager, name, None) for name in ("auth_client", "controller_client")
    )
    return any(client is not None and client.cookie is not None for client in clients)


class WireHarness:
    """Start with :meth:`start`, stop with :meth:`close`; see the module docstring."""

    def __init__(
        self,
        worker_host: str,
        worker_port: int,
        worker_psk: str,
        *,
        tls: TlsMaterial | None = None,
        users: dict[str, str] | None = None,
        transition_delay: float = 0.05,
        override_authorities: bool = False,
    ) -> None:
        self.tls = tls or make_tls_material()
        self.auth = FakeAuthService(users if users is not None else {USERNAME: PASSWORD})
        self.controller = FakeControllerService(self.auth, HOST, transition_delay)
        self.proxy = WorkerProxy(self.tls, self.auth, worker_host, worker_port, worker_psk)
        self.extra_proxies: list[WorkerProxy] = []  # see add_worker_proxy
        self._worker_psk = worker_psk
        self.web = ConnectionJsonServer()
        # grpc.server never shuts its pool down; close() does, so no thread outlives a test.
        self._pools = [
            ThreadPoolExecutor(max_workers=32, thread_name_prefix=name)
            for name in ("fake-auth", "fake-controller")
        ]
        self._auth_server, credentials = _tls_server(self.tls, self._pools[0])
        auth_service_pb2_grpc.add_AuthApiServicer_to_server(self.auth, self._auth_server)  # type: ignore[no-untyped-call]
        self.auth_port = self._auth_server.add_secure_port(f"{HOST}:0", credentials)
        self._controller_server, self.controller_port = self._controller_listening(0)
        self.controller.worker_endpoint = (self.proxy.host, self.proxy.port)
        self.connection_json: dict[str, Any] = {
            "auth_host": [HOST],
            "auth_port": self.auth_port,
            "controller_host": HOST,
            "controller_port": self.controller_port,
            "truststore_url": self.web.url(TRUSTSTORE_PATH),
        }
        if override_authorities:
            self.connection_json |= {
                "override_authorities": True,
                "auth_authority": "authserver",
                "controller_authority": "authserver",
            }
        self.web.set_connection_json(self.connection_json)
        self.check_clients_closed = True  # the fixture fails a test that leaves clients open
        self.web.set_truststore(self.tls.ca_pem)

    @property
    def connection_json_url(self) -> str:
        return self.web.connection_json_url

    def system_config(self, **overrides: Any) -> dict[str, Any]:
        """An ``EnterpriseSystemConfig``-shaped dict for this install (password login)."""
        config: dict[str, Any] = {
            "connection_json_url": self.connection_json_url,
            "auth_type": "password",
            "username": USERNAME,
            "password": PASSWORD,
            "connection_timeout": 10,
            "session_creation": {"max_concurrent_sessions": 2, "defaults": {"heap_size_gb": 1}},
        }
        config.update(overrides)
        return {key: value for key, value in config.items() if value is not None}

    def _controller_listening(self, port: int) -> tuple[grpc.Server, int]:
        server, credentials = _tls_server(self.tls, self._pools[1])
        controller_service_pb2_grpc.add_ControllerApiServicer_to_server(  # type: ignore[no-untyped-call]
            self.controller, server
        )
        bound = server.add_secure_port(f"{HOST}:{port}", credentials)
        assert bound, f"port {port} could not be bound again"
        return server, bound

    # -- faults ---------------------------------------------------------------------------------

    def stop_controller(self) -> None:
        """The controller process goes down: its streams end, its port refuses connections
        and the sessions it knew (cookies) are forgotten. Its queries stay, as a real
        controller keeps them in its configuration store."""
        self.controller.restart()
        self._controller_server.stop(grace=None).wait(10)

    def start_controller(self) -> None:
        """The controller is back, on the same port, with the queries it had."""
        self._controller_server, _ = self._controller_listening(self.controller_port)
        self._controller_server.start()

    def restart_controller(self) -> None:
        self.stop_controller()
        self.start_controller()

    def add_worker_proxy(self) -> WorkerProxy:
        """Another worker endpoint in front of the same test worker, to fail one worker alone
        (see :meth:`serving_from`); closed with the harness."""
        host, port = self.proxy.upstream
        proxy = WorkerProxy(self.tls, self.auth, host, port, self._worker_psk)
        proxy.database = self.proxy.database
        proxy.start()
        self.extra_proxies.append(proxy)
        return proxy

    @contextlib.contextmanager
    def serving_from(self, proxy: WorkerProxy) -> Iterator[WorkerProxy]:
        """Queries that reach RUNNING inside the block are served by ``proxy``."""
        previous = self.controller.worker_endpoint
        self.controller.worker_endpoint = (proxy.host, proxy.port)
        try:
            yield proxy
        finally:
            self.controller.worker_endpoint = previous

    @property
    def proxies(self) -> list[WorkerProxy]:
        return [self.proxy, *self.extra_proxies]

    def restart_services(self) -> None:
        """As a restart of the auth server and controller looks to connected clients:
        every cookie is forgotten and the subscription streams end with UNAVAILABLE."""
        self.auth.expire_all_cookies()
        self.controller.restart()

    def logged_out(self, timeout: float = 5.0) -> bool:
        """Whether every client logged out of both services (waits: closing may be queued)."""
        deadline = time.monotonic() + timeout
        while self.auth.live_cookies or self.controller.live_cookies:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close_leaked_clients(self) -> int:
        """Close the client objects a test left open against these servers: worker sessions
        (their keep-alive timers raise in a thread once the worker is gone) and logged-in
        SessionManagers (their threads ping and re-subscribe forever). How many there were.
        """
        from deephaven_enterprise.client.session_manager import SessionManager
        from pydeephaven import Session

        for proxy in self.proxies:  # closing needs a reachable worker
            proxy.refuse = None
            proxy.delays.clear()
            if not proxy.alive:
                proxy.revive()
        ports = {proxy.port for proxy in self.proxies}
        objects = gc.get_objects()
        sessions = [
            obj
            for obj in objects
            if isinstance(obj, Session) and obj.is_connected and obj.port in ports
        ]
        managers = [
            obj
            for obj in objects
            if isinstance(obj, SessionManager)
            and str(obj.config.get("auth_port")) == str(self.auth_port)
            and _logged_in(obj)
        ]
        for session in sessions:
            with contextlib.suppress(Exception):  # a DndSession also deletes its query
                session.close()
        for session_manager in managers:
            session_manager.active_sessions.clear()  # closed above
            session_manager.close()
        return len(sessions) + len(managers)

    def start(self) -> WireHarness:
        self._auth_server.start()
        self._controller_server.start()
        self.proxy.start()
        self.web.start()
        return self

    def close(self) -> None:
        self.controller.close()  # ends subscription streams and state timers first
        for server in (self._controller_server, self._auth_server):
            server.stop(grace=None).wait(10)
        for pool in self._pools:
            pool.shutdown(wait=True)
        for proxy in self.proxies:
            proxy.close()
        self.web.close()
