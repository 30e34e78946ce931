"""Worker sessions of :class:`~deephaven_mcp.enterprise.system.EnterpriseSystem`.

Created workers are temporary persistent queries owned by us (closing one deletes its
query); they count against ``max_concurrent_sessions``. Running persistent queries are
sessions too, named after the query, connected on first use and reconnected when the query
restarts (its worker process changes).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydeephaven import Session

from deephaven_mcp.config.models import check_name
from deephaven_mcp.enterprise import _pq, _threads
from deephaven_mcp.enterprise._params import WorkerRequest, resolve_worker
from deephaven_mcp.enterprise.errors import operation_error
from deephaven_mcp.errors import (
    InvalidArgumentError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    SessionUnavailableError,
)

if TYPE_CHECKING:
    from deephaven_mcp.enterprise.system import EnterpriseSystem

# connect_to_new_worker does not bound the session handshake after the worker is up.
WORKER_HANDSHAKE_ALLOWANCE = 30.0
DEFAULT_WORKER_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class EnterpriseSessionInfo:
    """A session of this system: a worker we created or a running persistent query."""

    system_name: str
    session_name: str
    kind: Literal["worker", "persistent_query"]
    serial: int | None
    state: str | None
    programming_language: str | None

    @property
    def session_id(self) -> str:
        return f"enterprise:{self.system_name}:{self.session_name}"


async def create_session(
    system: EnterpriseSystem, session_name: str | None = None, request: WorkerRequest | None = None
) -> EnterpriseSessionInfo:
    """Start a new worker; tool argument -> config default -> API default."""
    limit = system.max_concurrent_sessions
    if system.config.session_creation is None or limit == 0:
        raise PermissionDeniedError(
            f"Session creation is disabled for enterprise system '{system.name}'."
        )
    name = session_name if session_name is not None else f"mcp-{secrets.token_hex(4)}"
    try:
        check_name("session", name)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None
    resolved = resolve_worker(
        name, request or WorkerRequest(), system.config.session_creation.defaults
    )
    # Check and reserve without an await in between: atomic on the event loop.
    if name in system._created or name in system._pending:
        raise InvalidArgumentError(f"Session '{name}' already exists on '{system.name}'.")
    if len(system._created) + len(system._pending) >= limit:
        raise LimitExceededError(
            f"Enterprise system '{system.name}' already has {limit} sessions "
            "(max_concurrent_sessions); delete one first."
        )
    system._pending.add(name)
    try:
        handle = await system.connected()
        snapshot = await system.pq_snapshot()
        if any(query.name == name for query in snapshot.queries):
            raise InvalidArgumentError(
                f"A persistent query named '{name}' already exists on '{system.name}'."
            )
        timeout = (
            resolved.timeout_seconds or DEFAULT_WORKER_START_TIMEOUT
        ) + WORKER_HANDSHAKE_ALLOWANCE
        action = f"Creating worker '{name}' on '{system.name}'"
        try:
            worker = await _threads.run_blocking(
                action,
                timeout,
                lambda: system.backend.create_worker(
                    handle, resolved.spec, resolved.timeout_seconds, resolved.session_arguments
                ),
                cleanup=system.backend.close_worker,
            )
        except Exception as exc:
            raise operation_error(action, exc) from exc
        system._created[name] = worker
    finally:
        system._pending.discard(name)
    return system._worker_info(worker)


async def delete_session(system: EnterpriseSystem, session_name: str) -> None:
    """Close a worker created by :meth:`create_session` (its PQ is deleted with it)."""
    worker = system._created.pop(session_name, None)
    if worker is None:
        if system._manager is not None and any(
            query.name == session_name for query in (await system.pq_snapshot()).queries
        ):
            raise InvalidArgumentError(
                f"'{session_name}' is a persistent query, not a created session; "
                "use pq_stop or pq_delete."
            )
        raise NotFoundError(f"No session '{session_name}' on enterprise system '{system.name}'.")
    await system.run(
        f"Deleting session '{session_name}'", lambda: system.close_worker_when_idle(worker)
    )


async def get_session(
    system: EnterpriseSystem,
    session_name: str,
    session_arguments: Mapping[str, object] | None = None,
) -> Session:
    """A live pydeephaven session: a created worker, or a RUNNING PQ (connected lazily)."""
    worker = system._created.get(session_name)
    if worker is not None:
        return worker.session
    query = _pq.find(system.name, await system.pq_snapshot(), session_name)
    if not query.is_running:
        raise SessionUnavailableError(
            f"Persistent query '{query.name}' is {query.state}, not RUNNING; start it first."
        )
    async with system._pq_session_lock:
        cached = system._pq_sessions.get(query.serial)
        if cached is not None:
            if cached.process_info_id == query.process_info_id and cached.session.is_alive:
                return cached.session
            system._discard_pq_session(query.serial)
        handle = await system.connected()
        action = f"Connecting to persistent query '{query.name}'"
        try:
            worker = await _threads.run_blocking(
                action,
                system.operation_timeout,
                lambda: system.backend.connect_to_pq(handle, query.serial, session_arguments),
                cleanup=system.backend.close_worker,
            )
        except Exception as exc:
            raise operation_error(action, exc) from exc
        system._pq_sessions[query.serial] = worker
        return worker.session
