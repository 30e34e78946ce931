"""The sessions of one enterprise system: workers we created and connections to running PQs.

Created workers are temporary persistent queries owned by us (deleting one deletes its
query); they count against ``max_concurrent_sessions``. Running persistent queries are
sessions too, named after the query, connected on first use and reconnected when the query
restarts (its worker process changes).

A session whose worker failed (the caller found it dead: see ``release``) is never handed out
again: it is closed once idle and the next use opens a new one, to the same worker. For a
worker we created, only our session to it is replaced; its query runs on. Each session is
opened under its own lock, so a worker that is slow to answer delays no other session.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydeephaven import Session

from deephaven_mcp.config.models import check_name, pq_session_name
from deephaven_mcp.enterprise._connection import EnterpriseConnection
from deephaven_mcp.enterprise._params import WorkerRequest, limited_request, resolve_worker
from deephaven_mcp.enterprise.backend import PqInfo, WorkerSession
from deephaven_mcp.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SessionUnavailableError,
)
from deephaven_mcp.runtime.blocking import call_blocking
from deephaven_mcp.runtime.reservations import Reservations

DEFAULT_WORKER_START_TIMEOUT = 60.0
ALIVE_CHECK_SECONDS = 5.0


def _connected(worker: WorkerSession) -> bool:
    """Whether our session is still open (a local flag; pydeephaven clears it on close)."""
    return bool(worker.session.is_connected)


@dataclass
class _Created:
    """A worker we created: our latest session to it and how to open another."""

    worker: WorkerSession
    session_arguments: Mapping[str, object] | None
    failed: bool = False  # its session failed: closing, and re-opened on next use

    @property
    def usable(self) -> bool:
        return not self.failed and _connected(self.worker)


@dataclass(frozen=True)
class EnterpriseSessionInfo:
    """A session of this system: a worker we created or a running persistent query."""

    system_name: str
    session_name: str
    kind: Literal["worker", "persistent_query"]
    serial: int | None
    state: str | None
    programming_language: str | None
    engine_version: str | None = None  # the worker's Core+ version, from the controller

    @property
    def session_id(self) -> str:
        return f"enterprise:{self.system_name}:{self.session_name}"

    @classmethod
    def of_worker(
        cls, system_name: str, worker: WorkerSession, query: PqInfo | None = None
    ) -> EnterpriseSessionInfo:
        language = worker.programming_language
        version = query.engine_version if query is not None else None
        return cls(system_name, worker.name, "worker", worker.serial, "RUNNING", language, version)

    @classmethod
    def of_query(cls, system_name: str, query: PqInfo) -> EnterpriseSessionInfo:
        language = query.programming_language or None
        name = pq_session_name(query.name, query.serial)
        return cls(
            system_name,
            name,
            "persistent_query",
            query.serial,
            query.state,
            language,
            query.engine_version,
        )


class WorkerPool:
    """The workers this system created, at most ``max_concurrent_sessions`` at once.

    Creations under way hold a reservation, so concurrent ones cannot overshoot the limit.
    """

    def __init__(self, connection: EnterpriseConnection) -> None:
        self._connection = connection
        self._created: dict[str, _Created] = {}
        self._reservations = Reservations()
        self._reopening: dict[str, asyncio.Lock] = {}

    @property
    def limit(self) -> int:
        creation = self._connection.config.session_creation
        return 0 if creation is None else creation.max_concurrent_sessions

    def get(self, session_name: str) -> WorkerSession | None:
        entry = self._created.get(session_name)
        return None if entry is None else entry.worker

    def workers(self) -> list[WorkerSession]:
        return [entry.worker for entry in self._created.values()]

    def owns(self, query: PqInfo) -> bool:
        """Whether ``query`` is the PQ behind one of our workers (listed as that worker)."""
        return query.name in self._created or any(
            entry.worker.serial == query.serial for entry in self._created.values()
        )

    async def session(self, session_name: str) -> Session | None:
        """Our live session to the worker ``session_name`` (None if we did not create it).

        A session that failed or was closed is replaced by a new one to the same worker.
        """
        entry = self._created.get(session_name)
        if entry is None:
            return None
        if entry.usable:
            return entry.worker.session
        async with self._reopening.setdefault(session_name, asyncio.Lock()):
            if self._created.get(session_name) is not entry:
                raise SessionUnavailableError(
                    f"Session '{session_name}' on '{self._connection.name}' was just deleted."
                )
            if not entry.usable:
                await self._reopen(entry)
            return entry.worker.session

    async def _reopen(self, entry: _Created) -> None:
        connection = self._connection
        system, worker = connection.name, entry.worker
        name = worker.name
        snapshot = await connection.pq_snapshot()
        query = next((q for q in snapshot.queries if q.serial == worker.serial), None)
        if query is None:
            if self._created.get(name) is entry:
                del self._created[name]
            connection.close_worker_later(worker)
            raise SessionUnavailableError(
                f"Worker '{name}' on '{system}' is gone: its persistent query was deleted. "
                "Create a new session."
            )
        if not query.is_running:
            raise SessionUnavailableError(
                f"Worker '{name}' on '{system}' is {query.state}, not RUNNING; its session "
                "cannot be reopened (delete it and create a new one)."
            )
        fresh = await connection.connect_worker(
            f"Reconnecting to worker '{name}' on '{system}'", worker.serial, entry.session_arguments
        )
        fresh.owns_query = True
        if self._created.get(name) is not entry:  # deleted while we connected
            connection.close_worker_later(fresh)
            raise SessionUnavailableError(f"Session '{name}' on '{system}' was just deleted.")
        if not entry.failed:  # closed by other means: nothing is using it
            connection.close_worker_later(worker)
        entry.worker, entry.failed = fresh, False

    def release(self, session_name: str) -> None:
        """Our session to the worker ``session_name`` failed: close it once idle; the next
        use opens a new one. The worker itself (its query) is left alone."""
        entry = self._created.get(session_name)
        if entry is not None and not entry.failed:
            entry.failed = True
            self._connection.close_worker_later(entry.worker)

    async def create(
        self, session_name: str | None = None, request: WorkerRequest | None = None
    ) -> WorkerSession:
        """Start a new worker; tool argument (once ``check_caller`` accepts it under the
        system's ``agent_limits``) -> config default -> API default."""
        connection = self._connection
        system, creation, limit = connection.name, connection.config.session_creation, self.limit
        if creation is None or limit == 0:
            raise PermissionDeniedError(
                f"Session creation is disabled for enterprise system '{system}'."
            )
        name = session_name if session_name is not None else f"mcp-{secrets.token_hex(4)}"
        try:
            check_name("session", name)
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from None
        limited = limited_request(system, connection.config, request or WorkerRequest())
        resolved = resolve_worker(name, limited, creation.defaults)
        with self._reservations.reserve(
            name,
            limit,
            exists=name in self._created,
            active=len(self._created),
            taken=f"Session '{name}' already exists on '{system}'.",
            full=lambda _count: (
                f"Enterprise system '{system}' already has {limit} sessions "
                "(max_concurrent_sessions); delete one first."
            ),
        ):
            handle = await connection.connected()
            snapshot = await connection.pq_snapshot()
            if any(query.name == name for query in snapshot.queries):
                raise InvalidArgumentError(
                    f"A persistent query named '{name}' already exists on '{system}'."
                )
            start = resolved.timeout_seconds or DEFAULT_WORKER_START_TIMEOUT
            # Starting is bounded by the start timeout, the session to it by the connect one.
            worker = await connection.run(
                f"Creating worker '{name}' on '{system}'",
                lambda: connection.backend.create_worker(handle, resolved),
                timeout=start + connection.worker_connect_timeout,
                cleanup=lambda late: connection.discard_created(handle, late),
            )
            self._created[name] = _Created(worker, resolved.session_arguments)
        return worker

    async def delete(self, session_name: str) -> None:
        """Close a worker we created and delete its PQ (see ``retire_worker``)."""
        connection = self._connection
        if session_name in self._created:
            # Deleting the query takes the controller: if it cannot be reached, keep the worker.
            await connection.connected()
        entry = self._created.pop(session_name, None)
        if entry is None:
            if connection.handle is not None and any(
                query.name == session_name for query in (await connection.pq_snapshot()).queries
            ):
                raise InvalidArgumentError(
                    f"'{session_name}' is a persistent query, not a created session; "
                    "use pq_stop or pq_delete."
                )
            raise NotFoundError(
                f"No session '{session_name}' on enterprise system '{connection.name}'."
            )
        worker = entry.worker
        await connection.run(
            f"Deleting session '{session_name}'", lambda: connection.retire_worker(worker)
        )

    def take_serial(self, serial: int) -> WorkerSession | None:
        """Stop tracking the worker whose PQ is ``serial``; the caller closes it."""
        for name, entry in list(self._created.items()):
            if entry.worker.serial == serial:
                del self._created[name]
                return entry.worker
        return None

    def take_all(self) -> list[WorkerSession]:
        """Stop tracking every worker (the system is closing); the caller decides."""
        entries, self._created = list(self._created.values()), {}
        return [entry.worker for entry in entries]


class PqConnections:
    """Our sessions to running persistent queries, one per query serial."""

    def __init__(self, connection: EnterpriseConnection) -> None:
        self._connection = connection
        self._sessions: dict[int, WorkerSession] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def session(
        self, query: PqInfo, session_arguments: Mapping[str, object] | None = None
    ) -> Session:
        """A live session to ``query``, reused while its worker process stays the same."""
        if not query.is_running:
            raise SessionUnavailableError(
                f"Persistent query '{query.name}' is {query.state}, not RUNNING; start it first."
            )
        connection = self._connection
        async with self._locks.setdefault(query.serial, asyncio.Lock()):
            cached = self._sessions.get(query.serial)
            if cached is not None:
                if cached.process_info_id == query.process_info_id and await self._alive(cached):
                    return cached.session
                self.discard(query.serial)
            worker = await connection.connect_worker(
                f"Connecting to persistent query '{query.name}'", query.serial, session_arguments
            )
            self._sessions[query.serial] = worker
            return worker.session

    async def _alive(self, worker: WorkerSession) -> bool:
        if not _connected(worker):
            return False
        # ``is_alive`` is an RPC without a deadline (unless the session never times out):
        # never on the event loop, always bounded; and a worker's answer, so never one that
        # could drop the system's connection.
        try:
            return await call_blocking(
                "Checking a persistent query session",
                ALIVE_CHECK_SECONDS,
                lambda: bool(worker.session.is_alive),
            )
        except Exception:
            return False

    def discard(self, serial: int) -> None:
        """Forget our session to a PQ (stopped, restarted or deleted) and close it."""
        worker = self._sessions.pop(serial, None)
        if worker is not None:
            self._connection.close_worker_later(worker)

    def release(self, session_name: str) -> None:
        """Our session to the PQ named ``session_name`` failed: close it once idle; the next
        use reconnects."""
        for serial, worker in list(self._sessions.items()):
            if worker.name == session_name:
                self.discard(serial)

    def take_all(self) -> list[WorkerSession]:
        """Stop tracking every session (the system is closing); the caller decides."""
        workers, self._sessions = list(self._sessions.values()), {}
        return workers
