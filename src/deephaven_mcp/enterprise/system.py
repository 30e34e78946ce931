"""One configured Enterprise (Core+) system: connection, status and worker sessions.

The blocking client runs in threads with timeouts (:mod:`._threads`). One authenticated
SessionManager is opened lazily and kept; the controller is not pinged per call, PQ state
comes from its subscription map (:meth:`EnterpriseSystem.pq_snapshot`). Persistent query
operations live in :mod:`._pq`; this class exposes them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from pydeephaven import Session

from deephaven_mcp._logging import register_secret
from deephaven_mcp.clients.leases import close_when_idle
from deephaven_mcp.config.models import EnterpriseSystemConfig, check_name
from deephaven_mcp.enterprise import _pq, _sessions, _threads
from deephaven_mcp.enterprise._params import WorkerRequest
from deephaven_mcp.enterprise._sessions import EnterpriseSessionInfo
from deephaven_mcp.enterprise.adapter import INSTALL_HINT, CoreplusBackend, coreplus_available
from deephaven_mcp.enterprise.backend import (
    EnterpriseBackend,
    ManagerHandle,
    PqChanges,
    PqInfo,
    PqSnapshot,
    WorkerSession,
)
from deephaven_mcp.enterprise.catalog import EnterpriseCatalog
from deephaven_mcp.enterprise.errors import SystemUnavailableError, operation_error
from deephaven_mcp.enterprise.redaction import redacted_system_config
from deephaven_mcp.enterprise.status import Phase, SystemStatus, classify_failure
from deephaven_mcp.errors import (
    ConfigError,
    DeephavenMcpError,
    DependencyMissingError,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_OPERATION_TIMEOUT: Final = 120.0
# How long closing a session waits for tool calls still running on it.
CLOSE_GRACE_SECONDS: Final = 30.0


@dataclass(frozen=True)
class StatusReport:
    """What ``enterprise_systems_status`` shows for one system."""

    name: str
    status: SystemStatus
    detail: str
    is_alive: bool
    config: dict[str, object]


class EnterpriseSystem:
    """Async API over one enterprise system; safe to share between concurrent tool calls."""

    def __init__(
        self,
        name: str,
        config: EnterpriseSystemConfig,
        backend: EnterpriseBackend | None = None,
        *,
        operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
    ) -> None:
        self.name = check_name("system", name)
        self.config = config
        self.backend: EnterpriseBackend = backend if backend is not None else CoreplusBackend()
        self.operation_timeout = operation_timeout
        self._manager: ManagerHandle | None = None
        self._connect_lock = asyncio.Lock()
        self._last_failure: tuple[SystemStatus, str] | None = None
        self._created: dict[str, WorkerSession] = {}
        self._pending: set[str] = set()
        self._pq_sessions: dict[int, WorkerSession] = {}
        self._pq_session_lock = asyncio.Lock()

    # -- configuration ------------------------------------------------------------------------

    def redacted_config(self) -> dict[str, object]:
        """The configuration with secrets masked: safe for tool output and logs."""
        return redacted_system_config(self.config)

    @property
    def max_concurrent_sessions(self) -> int:
        creation = self.config.session_creation
        return 0 if creation is None else creation.max_concurrent_sessions

    # -- connection ---------------------------------------------------------------------------

    async def run(self, action: str, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run a blocking call; map its failure to a DeephavenMcpError (used by the PQ module)."""
        try:
            return await _threads.run_blocking(
                action, self.operation_timeout if timeout is None else timeout, fn
            )
        except Exception as exc:
            raise operation_error(action, exc) from exc

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

        _threads.submit(close)

    async def _open(self) -> ManagerHandle:
        cfg = self.config
        timeout = float(cfg.connection_timeout)
        rpc_timeout = max(1, math.ceil(timeout))
        backend = self.backend
        try:
            login = self._login()
            handle = await _threads.run_blocking(
                f"Connecting to enterprise system '{self.name}'",
                timeout,
                lambda: backend.open_manager(cfg.connection_json_url, rpc_timeout),
                cleanup=backend.close_manager,
            )
        except Exception as exc:
            raise self._failure(exc, "open") from exc
        try:
            await _threads.run_blocking(
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
        if self._manager is not None:
            return self._manager
        async with self._connect_lock:
            if self._manager is None:
                self._manager = await self._open()
            return self._manager

    async def _forget_connection(self) -> None:
        """Drop a dead connection; its sessions died with it."""
        handle, self._manager = self._manager, None
        self._created.clear()
        self._pq_sessions.clear()
        if handle is not None:
            self._close_later(handle)

    async def status(self, attempt_to_connect: bool = False) -> StatusReport:
        """Health from types of failures; connects only when asked or already connected."""
        if isinstance(self.backend, CoreplusBackend) and not coreplus_available():
            return self._report(SystemStatus.MISCONFIGURED, INSTALL_HINT)
        handle = self._manager
        if handle is not None:
            try:
                alive = await _threads.run_blocking(
                    f"Pinging enterprise system '{self.name}'",
                    float(self.config.connection_timeout),
                    lambda: self.backend.ping(handle),
                )
            except Exception as exc:
                return self._report(*classify_failure(exc, "ping"))
            if alive:
                return self._report(
                    SystemStatus.ONLINE, "Connected; auth server and controller answer."
                )
            await self._forget_connection()
            if not attempt_to_connect:
                return self._report(
                    SystemStatus.OFFLINE, "The connection was closed; it reopens on next use."
                )
        elif not attempt_to_connect:
            if self._last_failure is not None:
                status, detail = self._last_failure
                return self._report(status, f"Last connection attempt: {detail}")
            return self._report(
                SystemStatus.UNKNOWN, "Not connected yet; use attempt_to_connect to check."
            )
        try:
            await self.connected()
        except DeephavenMcpError:
            if self._last_failure is None:
                raise
            return self._report(*self._last_failure)
        return self._report(SystemStatus.ONLINE, "Connected and authenticated.")

    def _report(self, status: SystemStatus, detail: str) -> StatusReport:
        return StatusReport(
            name=self.name,
            status=status,
            detail=detail,
            is_alive=status is SystemStatus.ONLINE,
            config=self.redacted_config(),
        )

    async def close(self) -> None:
        """Delete the workers we created, close PQ sessions and log out."""
        workers = [*self._created.values(), *self._pq_sessions.values()]
        self._created.clear()
        self._pq_sessions.clear()
        for worker in workers:
            try:
                await _threads.run_blocking(
                    "Closing an enterprise session",
                    self.operation_timeout,
                    functools.partial(self.close_worker_when_idle, worker),
                )
            except Exception:
                _log.warning("Closing session '%s' failed", worker.name, exc_info=True)
        handle, self._manager = self._manager, None
        if handle is not None:
            try:
                await _threads.run_blocking(
                    "Closing the enterprise connection",
                    self.operation_timeout,
                    lambda: self.backend.close_manager(handle),
                )
            except Exception:
                _log.warning("Closing enterprise system '%s' failed", self.name, exc_info=True)

    # -- PQ map -------------------------------------------------------------------------------

    async def pq_snapshot(self) -> PqSnapshot:
        """The controller subscription map (local to the client: cheap, no RPC)."""
        handle = await self.connected()
        return await self.run(
            "Reading the persistent query map", lambda: self.backend.pq_snapshot(handle)
        )

    # -- sessions -----------------------------------------------------------------------------

    async def create_session(
        self, session_name: str | None = None, request: WorkerRequest | None = None
    ) -> EnterpriseSessionInfo:
        """Start a new worker; tool argument -> config default -> API default."""
        return await _sessions.create_session(self, session_name, request)

    def _worker_info(self, worker: WorkerSession) -> EnterpriseSessionInfo:
        return EnterpriseSessionInfo(
            system_name=self.name,
            session_name=worker.name,
            kind="worker",
            serial=worker.serial,
            state="RUNNING",
            programming_language=worker.programming_language,
        )

    async def delete_session(self, session_name: str) -> None:
        """Close a worker created by :meth:`create_session` (its PQ is deleted with it)."""
        await _sessions.delete_session(self, session_name)

    async def list_sessions(self, attempt_to_connect: bool = False) -> list[EnterpriseSessionInfo]:
        """Created workers and running PQs; without a connection, only the former."""
        infos = [self._worker_info(worker) for worker in self._created.values()]
        if self._manager is None and not attempt_to_connect:
            return infos
        snapshot = await self.pq_snapshot()
        taken = {worker.serial for worker in self._created.values()} | set(self._created)
        for query in sorted(snapshot.queries, key=lambda item: item.name):
            if query.is_running and query.serial not in taken and query.name not in taken:
                infos.append(self._pq_session_info(query))
        return infos

    def _pq_session_info(self, query: PqInfo) -> EnterpriseSessionInfo:
        return EnterpriseSessionInfo(
            system_name=self.name,
            session_name=query.name,
            kind="persistent_query",
            serial=query.serial,
            state=query.state,
            programming_language=query.programming_language or None,
        )

    async def session_info(self, session_name: str) -> EnterpriseSessionInfo:
        if session_name in self._created:
            return self._worker_info(self._created[session_name])
        query = _pq.find(self.name, await self.pq_snapshot(), session_name)
        return self._pq_session_info(query)

    async def get_session(
        self, session_name: str, session_arguments: Mapping[str, object] | None = None
    ) -> Session:
        """A live pydeephaven session: a created worker, or a RUNNING PQ (connected lazily)."""
        return await _sessions.get_session(self, session_name, session_arguments)

    def _discard_pq_session(self, serial: int) -> None:
        """Forget our connection to a PQ (stopped, restarted or deleted) and close it."""
        worker = self._pq_sessions.pop(serial, None)
        if worker is not None:
            _threads.submit(lambda: self.close_worker_when_idle(worker))

    def close_worker_when_idle(self, worker: WorkerSession) -> None:
        """Blocking: close ``worker`` once no tool call is using its session any more."""
        close_when_idle(
            worker.session,
            lambda _session: self.backend.close_worker(worker),
            CLOSE_GRACE_SECONDS,
            f"enterprise session '{worker.name}'",
        )

    def release_session(self, session_name: str) -> None:
        """Drop a cached connection to a persistent query; the next use reconnects.

        Workers made by :meth:`create_session` are kept: their connection is the worker.
        """
        for serial, worker in list(self._pq_sessions.items()):
            if worker.name == session_name:
                self._discard_pq_session(serial)

    def _forget_created(self, serial: int) -> WorkerSession | None:
        for name, worker in list(self._created.items()):
            if worker.serial == serial:
                return self._created.pop(name)
        return None

    async def catalog(self, session_name: str) -> EnterpriseCatalog:
        """Catalog operations on one of this system's sessions."""
        session = await self.get_session(session_name)
        return EnterpriseCatalog(self.backend, session, timeout=self.operation_timeout)

    # -- persistent queries (see _pq) ---------------------------------------------------------

    async def pq_list(self) -> list[PqInfo]:
        return sorted((await self.pq_snapshot()).queries, key=lambda query: query.serial)

    async def pq_details(self, identifier: str | int) -> PqInfo:
        return _pq.find(self.name, await self.pq_snapshot(), identifier)

    async def pq_create(self, pq_name: str, request: WorkerRequest) -> PqInfo:
        return await _pq.create(self, pq_name, request)

    async def pq_delete(self, identifier: str | int) -> PqInfo:
        return await _pq.delete(self, identifier)

    async def pq_modify(
        self, identifier: str | int, changes: PqChanges, restart: bool = False
    ) -> PqInfo:
        return await _pq.modify(self, identifier, changes, restart)

    async def pq_start(
        self, identifier: str | int, wait: bool = True, timeout_seconds: int = 120
    ) -> PqInfo:
        return await _pq.start(self, identifier, wait, timeout_seconds)

    async def pq_stop(
        self, identifier: str | int, wait: bool = True, timeout_seconds: int = 120
    ) -> PqInfo:
        return await _pq.stop(self, identifier, wait, timeout_seconds)

    async def pq_restart(self, identifier: str | int) -> PqInfo:
        return await _pq.restart(self, identifier)


def systems_from_config(
    systems: Mapping[str, EnterpriseSystemConfig],
    backend: EnterpriseBackend | None = None,
    *,
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> dict[str, EnterpriseSystem]:
    """One :class:`EnterpriseSystem` per configured system, sharing one backend."""
    shared = backend if backend is not None else CoreplusBackend()
    return {
        name: EnterpriseSystem(name, config, shared, operation_timeout=operation_timeout)
        for name, config in systems.items()
    }
