"""One configured Enterprise (Core+) system: its status and the face of its collaborators.

:class:`EnterpriseSystem` owns the configuration and reports status; the rest is owned by
collaborators it wires together, each keeping its own state: the connection
(:mod:`._connection`), the workers we created and our sessions to running persistent
queries (:mod:`._sessions`), and persistent query operations (:mod:`._pq`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, cast

from pydeephaven import Session

from deephaven_mcp.config.models import EnterpriseSystemConfig, check_name
from deephaven_mcp.enterprise._connection import EnterpriseConnection
from deephaven_mcp.enterprise._params import QueryRequest, WorkerRequest
from deephaven_mcp.enterprise._pq import CreatedQuery, PersistentQueries, ScriptReader
from deephaven_mcp.enterprise._pq_waits import BatchOutcome, BatchVerb
from deephaven_mcp.enterprise._sessions import EnterpriseSessionInfo, PqConnections, WorkerPool
from deephaven_mcp.enterprise.adapter import INSTALL_HINT, CoreplusBackend, coreplus_available
from deephaven_mcp.enterprise.backend import EnterpriseBackend, PqChanges, PqInfo, PqSnapshot
from deephaven_mcp.enterprise.catalog import EnterpriseCatalog
from deephaven_mcp.enterprise.redaction import redacted_system_config
from deephaven_mcp.enterprise.status import SystemStatus, classify_failure
from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.runtime.blocking import call_blocking

_log = logging.getLogger(__name__)

DEFAULT_OPERATION_TIMEOUT: Final = 120.0


class _OneQuery(Protocol):
    """:meth:`EnterpriseSystem.pq_act` with its verb given (pq_start, pq_stop, pq_restart)."""

    async def __call__(
        self, identifier: str | int, wait: bool = True, timeout_seconds: int = 120
    ) -> PqInfo: ...


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
        self._connection = EnterpriseConnection(self.name, config, self.backend, operation_timeout)
        self._workers = WorkerPool(self._connection)
        self._pq_connections = PqConnections(self._connection)
        self._queries = PersistentQueries(self._connection, self._workers, self._pq_connections)

    def redacted_config(self) -> dict[str, object]:
        """The configuration with secrets masked: safe for tool output and logs."""
        return redacted_system_config(self.config)

    @property
    def max_concurrent_sessions(self) -> int:
        """How many created workers may run at once (``session_creation``; 0: none)."""
        return self._workers.limit

    # -- status -------------------------------------------------------------------------------

    async def status(self, attempt_to_connect: bool = False) -> StatusReport:
        """Health from types of failures; connects only when asked or already connected."""
        if isinstance(self.backend, CoreplusBackend) and not coreplus_available():
            return self._report(SystemStatus.MISCONFIGURED, INSTALL_HINT)
        connection = self._connection
        handle = connection.handle
        if handle is not None:
            try:
                alive = await connection.ping(handle) and await connection.subscribed(handle)
            except Exception as exc:
                # Expired on the server side, or unreachable: rebuild on next use. Worker
                # sessions are not the connection's: they carry on.
                connection.drop()
                return self._report(*classify_failure(exc, "ping"))
            if alive:
                return self._report(
                    SystemStatus.ONLINE, "Connected; auth server and controller answer."
                )
            connection.drop()
            if not attempt_to_connect:
                return self._report(
                    SystemStatus.OFFLINE,
                    "The connection was closed or its controller subscription is down; "
                    "it reopens on next use.",
                )
        elif not attempt_to_connect:
            if connection.last_failure is not None:
                status, detail = connection.last_failure
                return self._report(status, f"Last connection attempt: {detail}")
            return self._report(
                SystemStatus.UNKNOWN, "Not connected yet; use attempt_to_connect to check."
            )
        try:
            await connection.connected()
        except DeephavenMcpError:
            if connection.last_failure is None:
                raise
            return self._report(*connection.last_failure)
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
        connection = self._connection
        created = self._workers.take_all()
        if created:
            try:
                await connection.connected()  # deleting their queries takes the controller
            except DeephavenMcpError as exc:
                _log.warning(
                    "Enterprise system '%s': cannot delete the %d worker(s) we created (%s); "
                    "the controller deletes them once idle (auto_delete_timeout)",
                    self.name,
                    len(created),
                    exc,
                )
        for worker in created:
            try:
                if connection.handle is None:
                    await call_blocking(
                        "Closing an enterprise session",
                        self.operation_timeout,
                        connection.close_worker_when_idle,
                        worker,
                    )
                else:
                    await connection.run(
                        f"Deleting worker '{worker.name}'",
                        functools.partial(connection.retire_worker, worker),
                    )
            except Exception:
                _log.warning("Deleting worker '%s' failed", worker.name, exc_info=True)
        for worker in self._pq_connections.take_all():
            try:
                await call_blocking(
                    "Closing an enterprise session",
                    self.operation_timeout,
                    connection.close_worker_when_idle,
                    worker,
                )
            except Exception:
                _log.warning("Closing session '%s' failed", worker.name, exc_info=True)
        await connection.close()

    # -- sessions -----------------------------------------------------------------------------

    async def pq_snapshot(self) -> PqSnapshot:
        """The controller subscription map (local to the client: cheap, no RPC)."""
        return await self._connection.pq_snapshot()

    async def create_session(
        self, session_name: str | None = None, request: WorkerRequest | None = None
    ) -> EnterpriseSessionInfo:
        """Start a new worker; tool argument -> config default -> API default."""
        worker = await self._workers.create(session_name, request)
        return EnterpriseSessionInfo.of_worker(self.name, worker)

    async def delete_session(self, session_name: str) -> None:
        """Close a worker created by :meth:`create_session` (its PQ is deleted with it)."""
        await self._workers.delete(session_name)

    async def list_sessions(self, attempt_to_connect: bool = False) -> list[EnterpriseSessionInfo]:
        """Created workers and running PQs; without a connection, only the former."""
        infos = [EnterpriseSessionInfo.of_worker(self.name, w) for w in self._workers.workers()]
        if self._connection.handle is None and not attempt_to_connect:
            return infos
        snapshot = await self.pq_snapshot()
        for query in sorted(snapshot.queries, key=lambda item: item.name):
            if query.is_running and not self._workers.owns(query):
                infos.append(EnterpriseSessionInfo.of_query(self.name, query))
        return infos

    async def session_info(self, session_name: str) -> EnterpriseSessionInfo:
        """What ``session_name`` is: a worker we created, or a persistent query."""
        worker = self._workers.get(session_name)
        if worker is not None:
            # The map only adds the engine version: a worker we created answers without the
            # controller, so its calls work on while the controller is down.
            snapshot = await self._connection.current_snapshot()
            queries = () if snapshot is None else snapshot.queries
            query = next((q for q in queries if q.serial == worker.serial), None)
            return EnterpriseSessionInfo.of_worker(self.name, worker, query)
        return EnterpriseSessionInfo.of_query(self.name, await self.pq_details(session_name))

    async def get_session(
        self, session_name: str, session_arguments: Mapping[str, object] | None = None
    ) -> Session:
        """A live pydeephaven session: a created worker, or a RUNNING PQ (connected lazily).

        Never one that failed or was closed: such a session is replaced by a new one.
        """
        session = await self._workers.session(session_name)
        if session is not None:
            return session
        query = await self.pq_details(session_name)
        return await self._pq_connections.session(query, session_arguments)

    def release_session(self, session_name: str) -> None:
        """The session ``session_name`` failed (its worker died, restarted or is gone): close
        it once idle and open a new one on next use. This concerns that session alone: a
        worker made by :meth:`create_session` keeps running, and the connection stays."""
        self._workers.release(session_name)
        self._pq_connections.release(session_name)

    async def catalog(self, session_name: str) -> EnterpriseCatalog:
        """Catalog operations on one of this system's sessions."""
        session = await self.get_session(session_name)
        return EnterpriseCatalog(self.backend, session, timeout=self.operation_timeout)

    # -- persistent queries (see _pq) ---------------------------------------------------------

    async def pq_list(self) -> list[PqInfo]:
        """Every persistent query of the system, by serial."""
        return await self._queries.queries()

    async def pq_details(self, identifier: str | int) -> PqInfo:
        """One query by name or serial (NotFoundError when there is none)."""
        return await self._queries.details(identifier)

    async def pq_create(
        self, pq_name: str, request: QueryRequest, read_script: ScriptReader
    ) -> CreatedQuery:
        """Add a persistent query as ``request`` asks, within the agent limits."""
        return await self._queries.create(pq_name, request, read_script)

    async def pq_delete(self, identifier: str | int) -> PqInfo:
        """Delete a query; its last known state."""
        return await self._queries.delete(identifier)

    async def pq_modify(
        self,
        identifier: str | int,
        changes: PqChanges,
        read_script: ScriptReader,
        restart: bool = False,
    ) -> PqInfo:
        """Merge ``changes`` into a query's config, within the agent limits; ``restart``
        applies them now."""
        return await self._queries.modify(identifier, changes, restart, read_script)

    async def pq_act(
        self, verb: BatchVerb, identifier: str | int, wait: bool = True, timeout_seconds: int = 120
    ) -> PqInfo:
        """Start, stop, restart or delete one query, as :meth:`pq_batch` does each of a list.

        ``start`` (re)runs it; with ``wait``, until it is RUNNING (or COMPLETED). ``stop``
        waits until it is STOPPED (or otherwise not running); ``restart`` runs it anew with
        its current configuration and waits as ``start`` does. ``delete`` does not wait.
        """
        return await self._queries.act(verb, identifier, wait, timeout_seconds)

    # pq_act with the verb given: ``pq_start(identifier, wait=True, timeout_seconds=120)``.
    pq_start = cast(_OneQuery, functools.partialmethod(pq_act, "start"))
    pq_stop = cast(_OneQuery, functools.partialmethod(pq_act, "stop"))
    pq_restart = cast(_OneQuery, functools.partialmethod(pq_act, "restart"))

    async def pq_batch(
        self,
        verb: BatchVerb,
        identifiers: Sequence[str | int],
        max_concurrent: int,
        wait: bool = True,
        timeout_seconds: int = 120,
    ) -> list[BatchOutcome]:
        """Start, stop, restart or delete each query, at most ``max_concurrent`` at once;
        one outcome per identifier, in order (an error in one does not stop the rest)."""
        return await self._queries.batch(verb, identifiers, max_concurrent, wait, timeout_seconds)
