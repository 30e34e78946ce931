"""The sessions of one enterprise system: workers we created and connections to running PQs.

Created workers are temporary persistent queries owned by us (closing one deletes its
query); they count against ``max_concurrent_sessions``. Running persistent queries are
sessions too, named after the query, connected on first use and reconnected when the query
restarts (its worker process changes).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydeephaven import Session

from deephaven_mcp._limits import Reservations
from deephaven_mcp.config.models import check_name, pq_session_name
from deephaven_mcp.enterprise._connection import EnterpriseConnection
from deephaven_mcp.enterprise._params import WorkerRequest, limited_request, resolve_worker
from deephaven_mcp.enterprise.backend import PqInfo, WorkerSession
from deephaven_mcp.errors import (
    DeephavenMcpError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    SessionUnavailableError,
)

# connect_to_new_worker does not bound the session handshake after the worker is up.
WORKER_HANDSHAKE_ALLOWANCE = 30.0
DEFAULT_WORKER_START_TIMEOUT = 60.0
ALIVE_CHECK_SECONDS = 5.0


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
        self._created: dict[str, WorkerSession] = {}
        self._reservations = Reservations()

    @property
    def limit(self) -> int:
        creation = self._connection.config.session_creation
        return 0 if creation is None else creation.max_concurrent_sessions

    def get(self, session_name: str) -> WorkerSession | None:
        return self._created.get(session_name)

    def workers(self) -> list[WorkerSession]:
        return list(self._created.values())

    def owns(self, query: PqInfo) -> bool:
        """Whether ``query`` is the PQ behind one of our workers (listed as that worker)."""
        return query.name in self._created or any(
            worker.serial == query.serial for worker in self._created.values()
        )

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
            worker = await connection.run(
                f"Creating worker '{name}' on '{system}'",
                lambda: connection.backend.create_worker(
                    handle, resolved.spec, resolved.timeout_seconds, resolved.session_arguments
                ),
                timeout=start + WORKER_HANDSHAKE_ALLOWANCE,
                cleanup=connection.backend.close_worker,
            )
            self._created[name] = worker
        return worker

    async def delete(self, session_name: str) -> None:
        """Close a worker we created and delete its PQ (see ``retire_worker``)."""
        connection = self._connection
        worker = self._created.pop(session_name, None)
        if worker is None:
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
        await connection.run(
            f"Deleting session '{session_name}'", lambda: connection.retire_worker(worker)
        )

    def take_serial(self, serial: int) -> WorkerSession | None:
        """Stop tracking the worker whose PQ is ``serial``; the caller closes it."""
        for name, worker in list(self._created.items()):
            if worker.serial == serial:
                return self._created.pop(name)
        return None

    def take_all(self) -> list[WorkerSession]:
        """Stop tracking every worker (closing, or the connection died); the caller decides."""
        workers, self._created = list(self._created.values()), {}
        return workers


class PqConnections:
    """Our sessions to running persistent queries, one per query serial."""

    def __init__(self, connection: EnterpriseConnection) -> None:
        self._connection = connection
        self._sessions: dict[int, WorkerSession] = {}
        self._lock = asyncio.Lock()

    async def session(
        self, query: PqInfo, session_arguments: Mapping[str, object] | None = None
    ) -> Session:
        """A live session to ``query``, reused while its worker process stays the same."""
        if not query.is_running:
            raise SessionUnavailableError(
                f"Persistent query '{query.name}' is {query.state}, not RUNNING; start it first."
            )
        connection = self._connection
        async with self._lock:
            cached = self._sessions.get(query.serial)
            if cached is not None:
                if cached.process_info_id == query.process_info_id and await self._alive(cached):
                    return cached.session
                self.discard(query.serial)
            handle = await connection.connected()
            worker = await connection.run(
                f"Connecting to persistent query '{query.name}'",
                lambda: connection.backend.connect_to_pq(handle, query.serial, session_arguments),
                cleanup=connection.backend.close_worker,
            )
            self._sessions[query.serial] = worker
            return worker.session

    async def _alive(self, worker: WorkerSession) -> bool:
        # ``is_alive`` is an RPC without a deadline: never on the event loop, always bounded.
        try:
            return await self._connection.run(
                "Checking a persistent query session",
                lambda: bool(worker.session.is_alive),
                timeout=ALIVE_CHECK_SECONDS,
            )
        except DeephavenMcpError:
            return False

    def discard(self, serial: int) -> None:
        """Forget our session to a PQ (stopped, restarted or deleted) and close it."""
        worker = self._sessions.pop(serial, None)
        if worker is not None:
            self._connection.close_worker_later(worker)

    def release(self, session_name: str) -> None:
        """Drop our sessions to the PQ named ``session_name``; the next use reconnects."""
        for serial, worker in list(self._sessions.items()):
            if worker.name == session_name:
                self.discard(serial)

    def take_all(self) -> list[WorkerSession]:
        """Stop tracking every session (closing, or the connection died); the caller decides."""
        workers, self._sessions = list(self._sessions.values()), {}
        return workers
