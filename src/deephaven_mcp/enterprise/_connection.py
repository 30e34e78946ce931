"""The authenticated link to one enterprise system, shared by its workers and PQ operations.

One SessionManager is opened lazily and kept; the controller is not pinged per call, PQ state
comes from its subscription map (:meth:`EnterpriseConnection.pq_snapshot`). The blocking
client runs in threads with timeouts (:mod:`deephaven_mcp._blocking`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Final, TypeVar

import grpc

from deephaven_mcp._blocking import call_blocking, call_blocking_owned, run_in_background
from deephaven_mcp._logging import register_secret
from deephaven_mcp.clients.errors import grpc_status
from deephaven_mcp.clients.leases import close_when_idle
from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.enterprise.backend import (
    EnterpriseBackend,
    ManagerHandle,
    PqSnapshot,
    WorkerSession,
)
from deephaven_mcp.enterprise.errors import SystemUnavailableError, run_operation
from deephaven_mcp.enterprise.status import Phase, SystemStatus, classify_failure
from deephaven_mcp.errors import (
    ConfigError,
    DeephavenMcpError,
    DependencyMissingError,
    SessionUnavailableError,
)

_log = logging.getLogger(__name__)

# gRPC codes after which a manager connection is not worth keeping.
CONNECTION_LOST: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED})

T = TypeVar("T")

# How long closing a session waits for tool calls still running on it.
CLOSE_GRACE_SECONDS: Final = 30.0
_BACKGROUND: Final = "Background enterprise cleanup"
# How long the subscription map may lag behind a controller answer before we believe it.
_MAP_SETTLE_SECONDS: Final = 5.0


class EnterpriseConnection:
    """Owns the SessionManager of one system and remembers why opening it last failed."""

    def __init__(
        self,
        name: str,
        config: EnterpriseSystemConfig,
        backend: EnterpriseBackend,
        operation_timeout: float,
    ) -> None:
        self.name = name
        self.config = config
        self.backend = backend
        self.operation_timeout = operation_timeout
        self._handle: ManagerHandle | None = None
        self._lock = asyncio.Lock()
        self._last_failure: tuple[SystemStatus, str] | None = None

    @property
    def handle(self) -> ManagerHandle | None:
        """The open connection, if any; never opens one (see :meth:`connected`)."""
        return self._handle

    @property
    def last_failure(self) -> tuple[SystemStatus, str] | None:
        """Status and detail of the last failed open, until an open succeeds."""
        return self._last_failure

    async def run(
        self,
        action: str,
        fn: Callable[[], T],
        timeout: float | None = None,
        cleanup: Callable[[T], None] | None = None,
    ) -> T:
        """A blocking call with the operation timeout; failures become DeephavenMcpErrors."""
        limit = self.operation_timeout if timeout is None else timeout
        try:
            return await run_operation(action, limit, fn, cleanup)
        except DeephavenMcpError as exc:
            if grpc_status(exc) in CONNECTION_LOST:
                # Unreachable, or the server no longer knows our login: the next call
                # reconnects instead of failing the same way forever.
                _log.info(
                    "Enterprise system '%s': connection lost; reopening on next use", self.name
                )
                self.drop()
            raise

    # -- opening ------------------------------------------------------------------------------

    def _password(self) -> str:
        cfg = self.config
        if cfg.password is not None:
            value = cfg.password.get_secret_value()
        else:
            variable = cfg.password_env_var or ""
            value = os.environ.get(variable, "")
            if not value:
                raise ConfigError(
                    f"Enterprise system '{self.name}': environment variable {variable} "
                    "(password_env_var) is not set or empty."
                )
        register_secret(value)
        return value

    def _login(self) -> Callable[[ManagerHandle], None]:
        cfg = self.config
        backend = self.backend
        if cfg.auth_type == "password":
            username, password = cfg.username or "", self._password()
            return lambda handle: backend.login_password(handle, username, password)
        key_path = cfg.private_key_path or ""
        return lambda handle: backend.login_private_key(handle, key_path)

    def _failure(self, exc: BaseException, phase: Phase) -> DeephavenMcpError:
        status, detail = classify_failure(exc, phase)
        self._last_failure = (status, detail)
        _log.info("Enterprise system '%s' is %s: %s", self.name, status.value, detail)
        if isinstance(exc, DependencyMissingError | ConfigError):
            return exc
        return SystemUnavailableError(self.name, status, detail)

    def _close_later(self, handle: ManagerHandle) -> None:
        def close() -> None:
            try:
                self.backend.close_manager(handle)
            except Exception:
                _log.debug("Closing a session manager failed", exc_info=True)

        run_in_background(close, _BACKGROUND)

    async def _open(self) -> ManagerHandle:
        cfg = self.config
        timeout = float(cfg.connection_timeout)
        # The connect timeout bounds connecting and logging in; the manager keeps its RPC
        # timeout for life, so that one is the operation timeout (a PQ call may take long).
        rpc_timeout = max(1, math.ceil(self.operation_timeout))
        backend = self.backend
        try:
            login = self._login()
            handle = await call_blocking_owned(
                f"Connecting to enterprise system '{self.name}'",
                timeout,
                lambda: backend.open_manager(cfg.connection_json_url, rpc_timeout),
                cleanup=backend.close_manager,
            )
        except Exception as exc:
            raise self._failure(exc, "open") from exc
        try:
            await call_blocking_owned(
                f"Authenticating to enterprise system '{self.name}'",
                timeout,
                lambda: login(handle),
                cleanup=lambda _: backend.close_manager(handle),
            )
        except Exception as exc:
            if not isinstance(exc, DeephavenMcpError):
                self._close_later(handle)
            raise self._failure(exc, "login") from exc
        self._last_failure = None
        return handle

    async def connected(self) -> ManagerHandle:
        """The authenticated connection, opened on first use (raises SystemUnavailableError)."""
        if self._handle is not None:
            return self._handle
        async with self._lock:
            if self._handle is None:
                self._handle = await self._open()
            return self._handle

    # -- using --------------------------------------------------------------------------------

    async def ping(self, handle: ManagerHandle) -> bool:
        """Whether the auth server and controller still answer (raises what the call raised)."""
        return await call_blocking(
            f"Pinging enterprise system '{self.name}'",
            float(self.config.connection_timeout),
            self.backend.ping,
            handle,
        )

    async def subscribed(self, handle: ManagerHandle) -> bool:
        """Whether the controller subscription of ``handle`` is up (raises what it raised)."""
        return await call_blocking(
            f"Checking the subscription of '{self.name}'",
            float(self.config.connection_timeout),
            self.backend.subscribed,
            handle,
        )

    async def pq_snapshot(self) -> PqSnapshot:
        """The controller subscription map (local to the client: cheap, no RPC).

        A connection whose subscription is down serves a stale map while it still pings;
        it is replaced by a fresh one first.
        """
        handle = await self.connected()
        if not await self.run(
            "Checking the controller subscription", lambda: self.backend.subscribed(handle)
        ):
            _log.warning(
                "Enterprise system '%s': the controller subscription is down; reconnecting",
                self.name,
            )
            self.drop()
            handle = await self.connected()
        return await self.run(
            "Reading the persistent query map", lambda: self.backend.pq_snapshot(handle)
        )

    def close_worker_when_idle(self, worker: WorkerSession) -> None:
        """Blocking: close ``worker`` once no tool call is using its session any more."""
        close_when_idle(
            worker.session,
            lambda _session: self.backend.close_worker(worker),
            CLOSE_GRACE_SECONDS,
            f"enterprise session '{worker.name}'",
        )

    def retire_worker(self, worker: WorkerSession) -> None:
        """Blocking: close our session to a worker we created, then delete its query.

        The client library deletes the query only when the session closes cleanly, and a
        session still in use is left open; either way the query would keep running while
        we report it deleted. So the query is deleted through the controller as well; a
        failure counts only if the query is still there afterwards.
        """
        try:
            self.close_worker_when_idle(worker)
        except Exception as exc:
            _log.debug("closing enterprise session '%s' failed", worker.name, exc_info=exc)
        handle = self._handle
        if handle is None:
            raise SessionUnavailableError(
                f"Enterprise system '{self.name}' disconnected while deleting '{worker.name}'."
            )
        try:
            self.delete_query(handle, worker.serial)
        except Exception:
            # Already gone (the library deleted it when the session closed) is success; the
            # map may be a moment behind the controller's answer, so let it catch up.
            if self._still_listed(handle, worker.serial):
                raise

    def delete_query(self, handle: ManagerHandle, serial: int) -> None:
        """Blocking: delete a query, then let the map drop it, so the next read agrees."""
        self.backend.delete_query(handle, serial)
        self._still_listed(handle, serial)

    def _still_listed(self, handle: ManagerHandle, serial: int) -> bool:
        """Blocking: whether the query map lists ``serial`` once it has caught up (a few s)."""
        deadline = time.monotonic() + _MAP_SETTLE_SECONDS
        snapshot = self.backend.pq_snapshot(handle)
        while any(query.serial == serial for query in snapshot.queries):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.backend.wait_for_change(
                handle, snapshot.version, remaining
            ):
                return True
            snapshot = self.backend.pq_snapshot(handle)
        return False

    def close_worker_later(self, worker: WorkerSession) -> None:
        """:meth:`close_worker_when_idle` in the background, for a worker nobody waits on."""
        run_in_background(lambda: self.close_worker_when_idle(worker), _BACKGROUND)

    # -- closing ------------------------------------------------------------------------------

    def drop(self) -> None:
        """Forget a dead connection (closed in the background); the next use reopens it."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._close_later(handle)

    async def close(self) -> None:
        """Log out; a failure is logged, not raised."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            await call_blocking(
                "Closing the enterprise connection",
                self.operation_timeout,
                self.backend.close_manager,
                handle,
            )
        except Exception:
            _log.warning("Closing enterprise system '%s' failed", self.name, exc_info=True)
