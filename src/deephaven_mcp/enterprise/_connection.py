"""The authenticated link to one enterprise system, shared by its workers and PQ operations.

One SessionManager is opened lazily and kept; the controller is not pinged per call, PQ state
comes from its subscription map (:meth:`EnterpriseConnection.pq_snapshot`). The blocking
client runs in threads with timeouts (:mod:`deephaven_mcp.runtime.blocking`).

Faults stay where they happen. Only the controller or the auth server failing (a call of
theirs answering UNAVAILABLE or UNAUTHENTICATED, see
:func:`~deephaven_mcp.enterprise.errors.controller_lost`; the subscription down; the login
expired) replaces the SessionManager, and replacing it closes no worker session and deletes
no query: worker sessions are not the manager's (the adapter takes them out of its care), so
the workers the agent created live on. A worker's failure concerns its own session alone,
which is closed once idle and opened anew on next use (:mod:`._sessions`). Connecting to a
worker is bounded by the system's ``connection_timeout``, like connecting to the system.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

from pydeephaven import Session

from deephaven_mcp.clients.leases import close_when_idle
from deephaven_mcp.config.env import environment_value
from deephaven_mcp.config.models import EnterpriseSystemConfig
from deephaven_mcp.enterprise.backend import (
    EnterpriseBackend,
    ManagerHandle,
    PqSnapshot,
    WorkerSession,
)
from deephaven_mcp.enterprise.errors import SystemUnavailableError, controller_lost, run_operation
from deephaven_mcp.enterprise.status import Phase, SystemStatus, classify_failure
from deephaven_mcp.errors import (
    ConfigError,
    DeephavenMcpError,
    DependencyMissingError,
    SessionUnavailableError,
)
from deephaven_mcp.runtime.blocking import call_blocking, call_blocking_owned, run_in_background
from deephaven_mcp.runtime.logging import register_secret

_log = logging.getLogger(__name__)

T = TypeVar("T")

# How long closing a session waits for tool calls still running on it.
CLOSE_GRACE_SECONDS: Final = 30.0
_BACKGROUND: Final = "Background enterprise cleanup"
# How long the subscription map may lag behind a controller answer before we believe it.
_MAP_SETTLE_SECONDS: Final = 5.0
# Connecting to a worker: coreplus retries for the connect timeout (see _open); this much
# longer, its own error (which says why) arrives before our timeout (which does not).
CONNECT_REPORT_SECONDS: Final = 1.0


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

    @property
    def connect_timeout(self) -> float:
        """``connection_timeout``: connecting to the system, or to one of its workers."""
        return float(self.config.connection_timeout)

    @property
    def worker_connect_timeout(self) -> float:
        """How long we wait for a session to a worker (see ``CONNECT_REPORT_SECONDS``)."""
        return math.ceil(self.connect_timeout) + CONNECT_REPORT_SECONDS

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
            if controller_lost(exc):
                # Unreachable, or the server no longer knows our login: the next call
                # reconnects instead of failing the same way forever.
                _log.info(
                    "Enterprise system '%s': the controller or auth server lost our "
                    "connection; reopening it on next use",
                    self.name,
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
            value = environment_value(variable) or ""
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
        timeout = self.connect_timeout
        # The connect timeout bounds connecting and logging in, and the manager keeps it for
        # the auth server's calls: connecting to a worker (its token retries) ends with it.
        # Controller calls keep the operation timeout (a PQ call may take long).
        rpc_timeout = max(1, math.ceil(self.operation_timeout))
        connect_timeout = max(1, math.ceil(timeout))
        backend = self.backend
        try:
            login = self._login()
            handle = await call_blocking_owned(
                f"Connecting to enterprise system '{self.name}'",
                timeout,
                lambda: backend.open_manager(cfg.connection_json_url, rpc_timeout, connect_timeout),
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
        """The authenticated connection, opened on first use (raises SystemUnavailableError).

        A connection whose login has expired (as far as the client knows: a local check) is
        replaced first, so the call does not fail on it.
        """
        handle = self._handle
        if handle is not None and self._logged_in(handle):
            return handle
        async with self._lock:
            handle = self._handle
            if handle is not None and not self._logged_in(handle):
                _log.info("Enterprise system '%s': the login expired; logging in again", self.name)
                self.drop()
            if self._handle is None:
                self._handle = await self._open()
            return self._handle

    def _logged_in(self, handle: ManagerHandle) -> bool:
        try:
            return self.backend.logged_in(handle)
        except Exception:
            _log.debug("Checking the login of '%s' failed", self.name, exc_info=True)
            return False

    # -- using --------------------------------------------------------------------------------

    async def _quick_call(
        self, action: str, call: Callable[[ManagerHandle], T], handle: ManagerHandle
    ) -> T:
        """A cheap ``call(handle)`` in a thread within the connect timeout (raises as it did)."""
        return await call_blocking(action, self.connect_timeout, call, handle)

    async def ping(self, handle: ManagerHandle) -> bool:
        """Whether the auth server and controller still answer (raises what the call raised)."""
        return await self._quick_call(
            f"Pinging enterprise system '{self.name}'", self.backend.ping, handle
        )

    async def subscribed(self, handle: ManagerHandle) -> bool:
        """Whether the controller subscription of ``handle`` is up (raises what it raised)."""
        return await self._quick_call(
            f"Checking the subscription of '{self.name}'", self.backend.subscribed, handle
        )

    async def pq_snapshot(self) -> PqSnapshot:
        """The controller subscription map (local to the client: cheap, no RPC).

        A connection whose subscription is down serves a stale map while it still pings;
        it is replaced by a fresh one first. So is one whose subscription went down while
        the map was read (the read waits for it, then fails).
        """
        handle = await self.connected()
        if await self._subscribed(handle):
            try:
                return await self._read_map(handle)
            except DeephavenMcpError:
                if self._handle is not handle or await self._subscribed(handle):
                    raise
        _log.warning(
            "Enterprise system '%s': the controller subscription is down; reconnecting", self.name
        )
        if self._handle is handle:
            self.drop()
        return await self._read_map(await self.connected())

    async def _subscribed(self, handle: ManagerHandle) -> bool:
        return await self.run(
            "Checking the controller subscription", lambda: self.backend.subscribed(handle)
        )

    async def _read_map(self, handle: ManagerHandle) -> PqSnapshot:
        return await self.run(
            "Reading the persistent query map", lambda: self.backend.pq_snapshot(handle)
        )

    async def current_snapshot(self) -> PqSnapshot | None:
        """The query map if we are connected with a live subscription, else None.

        Never connects or reconnects, so a call that only would like the map (a created
        worker's engine version) does not wait on, or fail with, a controller that is down.
        """
        handle = self._handle
        if handle is None:
            return None
        try:
            if not await self.subscribed(handle):
                return None
            return await self._quick_call(
                "Reading the persistent query map", self.backend.pq_snapshot, handle
            )
        except Exception:
            _log.debug("Reading the map of '%s' failed", self.name, exc_info=True)
            return None

    async def connect_worker(
        self, action: str, serial: int, session_arguments: Mapping[str, object] | None
    ) -> WorkerSession:
        """A new session to the RUNNING query ``serial``, within the worker connect timeout.

        A worker that refuses or does not answer fails this call alone. A failure that lost
        the login (the auth server refused the token: it restarted, or the cookie expired) is
        tried once more on a new connection; connecting twice is harmless.
        """
        backend = self.backend
        for attempt in range(2):
            handle = await self.connected()
            try:
                return await self.run(
                    action,
                    functools.partial(backend.connect_to_pq, handle, serial, session_arguments),
                    timeout=self.worker_connect_timeout,
                    cleanup=self._close_worker,
                )
            except DeephavenMcpError:
                if attempt or self._handle is handle:
                    raise
                _log.info("%s: the login was lost; once more on a new connection", action)
        raise AssertionError("unreachable")

    def discard_created(self, handle: ManagerHandle, worker: WorkerSession) -> None:
        """Blocking: close a worker we created that nobody will use, and delete its query."""
        self._close_worker(worker)
        try:
            self.backend.delete_query(handle, worker.serial)
        except Exception:
            _log.warning("Deleting the unused worker '%s' failed", worker.name, exc_info=True)

    def _close_worker(self, worker: WorkerSession) -> None:
        try:
            self.backend.close_worker(worker)
        finally:
            _let_go(worker.session)

    def close_worker_when_idle(self, worker: WorkerSession) -> None:
        """Blocking: close ``worker`` once no tool call is using its session any more."""
        close_when_idle(
            worker.session,
            lambda _session: self._close_worker(worker),
            CLOSE_GRACE_SECONDS,
            f"enterprise session '{worker.name}'",
        )

    def retire_worker(self, worker: WorkerSession) -> None:
        """Blocking: close our session to a worker we created, then delete its query.

        The session owns nothing (the adapter took the query's ownership away from it), and
        one still in use is left open, so the query is deleted through the controller; a
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
        """Forget a dead connection (closed in the background); the next use reopens it.

        Closing it logs out and ends its subscription; worker sessions are not its own (see
        the module docstring), so they and their queries are not touched.
        """
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


def _let_go(session: Session) -> None:
    """End what is left of a session whose close the worker did not answer.

    pydeephaven's ``Session.close`` marks the session closed only once the worker confirmed;
    otherwise the session still counts as connected, its channel stays open and a timer keeps
    refreshing its token (raising in that thread when it gives up). We never use it again,
    so stop both here.
    """
    if not session.is_connected:
        return
    session.is_connected = False
    channel = session.grpc_channel
    if channel is not None:
        channel.close()
