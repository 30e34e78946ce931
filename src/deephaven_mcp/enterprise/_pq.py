"""Persistent query operations of one enterprise system.

State is read from the controller subscription map; after a change we wait on the map's
version (no polling RPCs) until the controller has published the new state. A query that
changes loses our cached session to it; deleting a worker we created ends that session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from deephaven_mcp.config.models import check_name
from deephaven_mcp.enterprise import _params
from deephaven_mcp.enterprise._connection import EnterpriseConnection
from deephaven_mcp.enterprise._pq_waits import (
    RESTART,
    START,
    STOP,
    BatchOutcome,
    BatchVerb,
    Goal,
    Watch,
    is_down,
    refused,
    run_batch,
)
from deephaven_mcp.enterprise._sessions import PqConnections, WorkerPool
from deephaven_mcp.enterprise.backend import (
    ConfigurationType,
    ManagerHandle,
    PqChanges,
    PqInfo,
    PqSnapshot,
    PqSpec,
)
from deephaven_mcp.enterprise.schedule import CONTINUOUS, Schedule, starts_now
from deephaven_mcp.errors import InvalidArgumentError, NotFoundError

PUBLISH_WAIT: Final = 10.0  # how long to wait for the controller to publish a change
WAIT_SLICE: Final = 5.0
WAIT_ALLOWANCE: Final = 30.0  # beyond the caller's timeout, for the RPCs around the wait
# The goal of each batch verb that changes a query's state.
GOALS: Final[dict[str, Goal]] = {goal.verb: goal for goal in (START, STOP, RESTART)}


def find(system_name: str, snapshot: PqSnapshot, identifier: str | int) -> PqInfo:
    """A query by serial (int, or a numeric string that is not a name) or by name."""
    if isinstance(identifier, bool) or not isinstance(identifier, str | int):
        raise InvalidArgumentError("A persistent query is identified by its name or serial.")
    if isinstance(identifier, str):
        wanted = identifier.strip()
        for query in snapshot.queries:
            if query.name == wanted:
                return query
        serial = int(wanted) if wanted.lstrip("-").isdigit() else None
    else:
        serial = identifier
    for query in snapshot.queries:
        if serial is not None and query.serial == serial:
            return query
    raise NotFoundError(f"No persistent query {identifier!r} on enterprise system '{system_name}'.")


ScriptReader = Callable[[str], Awaitable[str]]
"""Reads a ``script_path`` (a file on the MCP server's machine) into script text."""

DEFAULT_CONFIGURATION_TYPE: Final = _params.DEFAULT_CONFIGURATION_TYPE
# Types that run a script, when the controller does not list its types.
SCRIPT_TYPES: Final = frozenset({"Script", "RunAndDone"})


@dataclass(frozen=True)
class CreatedQuery:
    """A query ``pq_create`` added: as the controller published it, and when it will run."""

    info: PqInfo
    schedule: Schedule
    enabled: bool
    starts_now: bool


def _check_type(spec: PqSpec, types: Sequence[ConfigurationType]) -> None:
    """The controller's own refusals, made before the call so their message is clear: an
    unknown configuration type, or a script type without a script."""
    name = spec.configuration_type or DEFAULT_CONFIGURATION_TYPE
    offered = {kind.name: kind for kind in types}
    if offered and name not in offered:
        choices = ", ".join(sorted(offered))
        raise InvalidArgumentError(
            f"configuration_type {name!r} is not offered by this controller (it has: {choices})"
        )
    runs_script = offered[name].has_script if offered else name in SCRIPT_TYPES
    if runs_script and not spec.script_code:
        raise InvalidArgumentError(
            f"a {name} query runs a script: give script_body (or script_path)"
        )


def _by_serial(snapshot: PqSnapshot, serial: int) -> PqInfo | None:
    return next((query for query in snapshot.queries if query.serial == serial), None)


def _check_timeout(timeout_seconds: int) -> int:
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int):
        raise InvalidArgumentError("timeout_seconds must be a whole number of seconds")
    if timeout_seconds <= 0:
        raise InvalidArgumentError("timeout_seconds must be greater than 0")
    _params.bounded_wait("timeout_seconds", timeout_seconds)
    return timeout_seconds


class PersistentQueries:
    """List, create, change and delete the persistent queries of one system."""

    def __init__(
        self, connection: EnterpriseConnection, workers: WorkerPool, pq_connections: PqConnections
    ) -> None:
        self._connection = connection
        self._workers = workers
        self._pq_connections = pq_connections

    @property
    def _system(self) -> str:
        return self._connection.name

    async def queries(self) -> list[PqInfo]:
        """Every query, by serial."""
        return sorted((await self._connection.pq_snapshot()).queries, key=lambda q: q.serial)

    async def details(self, identifier: str | int) -> PqInfo:
        """One query by name or serial (NotFoundError when there is none)."""
        return find(self._system, await self._connection.pq_snapshot(), identifier)

    async def wait_for(
        self, serial: int, done: Callable[[PqInfo], bool], timeout: float
    ) -> PqInfo | None:
        """Latest info once ``done(info)`` holds, or the last info seen when ``timeout`` passes."""
        connection = self._connection
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        handle = await connection.connected()
        wait_for_change = connection.backend.wait_for_change
        while True:
            snapshot = await connection.pq_snapshot()
            info = _by_serial(snapshot, serial)
            remaining = deadline - loop.time()
            if (info is not None and done(info)) or remaining <= 0:
                return info
            wait = min(remaining, WAIT_SLICE)
            await connection.run(
                "Waiting for the persistent query map",
                functools.partial(wait_for_change, handle, snapshot.version, wait),
                timeout=wait + WAIT_ALLOWANCE,
            )

    def _check_new_name(self, snapshot: PqSnapshot, name: str) -> None:
        try:
            check_name("persistent query", name)
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from None
        if any(query.name == name for query in snapshot.queries):
            raise InvalidArgumentError(
                f"A persistent query named '{name}' already exists on '{self._system}'."
            )

    async def create(
        self, pq_name: str, request: _params.QueryRequest, read_script: ScriptReader
    ) -> CreatedQuery:
        """Add a query of ``configuration_type`` (default Script) running its script.

        The arguments, once :func:`_params.check_caller` accepts them, over the operator's
        launch settings from ``session_creation.defaults`` (see :func:`_params.pq_spec`);
        with ``allowed_servers`` an unset server is filled in by
        :func:`_params.default_server`. ``script_path`` is read with ``read_script`` only
        after the policy allowed it. The type must be one the controller offers, and a type
        that runs a script must get one. The answer says whether the controller starts the
        query by itself now (enabled, and continuous or inside its daily window)."""
        connection = self._connection
        config = connection.config
        limited = _params.limited_request(self._system, config, request)
        if limited.script_body is not None and limited.script_path is not None:
            raise InvalidArgumentError("Give either script_body or script_path, not both.")
        code = limited.script_body
        if limited.script_path is not None:
            code = await read_script(limited.script_path)
        creation = config.session_creation
        defaults = creation.defaults if creation is not None else None
        spec = _params.pq_spec(pq_name, limited, defaults, code)
        self._check_new_name(await connection.pq_snapshot(), pq_name)
        handle = await connection.connected()
        types = await connection.run(
            "Reading the controller's query types",
            lambda: connection.backend.configuration_types(handle),
        )
        _check_type(spec, types)
        serial = await connection.run(
            f"Creating persistent query '{pq_name}'",
            lambda: connection.backend.add_query(handle, spec),
        )
        info = await connection.run(
            "Reading the new persistent query",
            lambda: connection.backend.pq_get(handle, serial, PUBLISH_WAIT),
            timeout=PUBLISH_WAIT + WAIT_ALLOWANCE,
        )
        if info is None:
            info = PqInfo(
                serial=serial,
                name=pq_name,
                state="UNINITIALIZED",
                is_running=False,
                is_terminal=False,
            )
        schedule = spec.schedule or CONTINUOUS
        enabled = spec.enabled is not False
        return CreatedQuery(
            info, schedule, enabled, starts_now(schedule, enabled, datetime.now(UTC))
        )

    async def delete(self, identifier: str | int) -> PqInfo:
        """Remove a query (the controller stops it first); returns its last known state."""
        connection = self._connection
        query = await self.details(identifier)
        handle = await connection.connected()
        action = f"Deleting persistent query '{query.name}'"
        worker = self._workers.take_serial(query.serial)
        if worker is not None:  # a worker we created: close our session, delete its query
            await connection.run(action, lambda: connection.retire_worker(worker))
            return query
        self._pq_connections.discard(query.serial)
        await connection.run(action, lambda: connection.delete_query(handle, query.serial))
        return query

    def _validated(self, snapshot: PqSnapshot, changes: PqChanges) -> PqChanges:
        if changes.is_empty():
            raise InvalidArgumentError("Nothing to modify: give at least one setting to change.")
        if changes.script_body is not None and changes.script_path is not None:
            raise InvalidArgumentError("Give either script_body or script_path, not both.")
        if changes.name is not None:
            self._check_new_name(snapshot, changes.name)
        return dataclasses.replace(
            changes,
            heap_size_gb=_params.positive("heap_size_gb", changes.heap_size_gb),
            programming_language=_params.language(changes.programming_language),
            configuration_type=_params.text("configuration_type", changes.configuration_type),
            server=_params.text("server", changes.server),
            engine=_params.text("engine", changes.engine),
            jvm_profile=_params.text("jvm_profile", changes.jvm_profile),
            python_virtual_environment=_params.python_control(changes.python_virtual_environment),
            schedule=_params.schedule(changes.schedule),
            extra_jvm_args=_params.strings("extra_jvm_args", changes.extra_jvm_args),
            extra_class_path=_params.strings("extra_class_path", changes.extra_class_path),
            admin_groups=_params.strings("admin_groups", changes.admin_groups),
            viewer_groups=_params.strings("viewer_groups", changes.viewer_groups),
            init_timeout_seconds=_params.init_timeout(
                "init_timeout_seconds", changes.init_timeout_seconds
            ),
            auto_delete_timeout=_params.non_negative_int(
                "auto_delete_timeout", changes.auto_delete_timeout
            ),
        )

    async def modify(
        self,
        identifier: str | int,
        changes: PqChanges,
        restart: bool,
        read_script: ScriptReader,
    ) -> PqInfo:
        """Merge ``changes`` into the current config; optionally restart to apply them.

        :func:`_params.check_caller` comes first, so a change the system's ``agent_limits``
        refuse never reaches the controller; a ``script_path`` is then read with
        ``read_script`` into the query's inline script.
        """
        connection = self._connection
        _params.check_caller(self._system, connection.config, changes)
        snapshot = await connection.pq_snapshot()
        query = find(self._system, snapshot, identifier)
        checked = self._validated(snapshot, changes)
        if checked.script_path is not None:
            code = await read_script(checked.script_path)
            checked = dataclasses.replace(checked, script_body=code, script_path=None)
        handle = await connection.connected()
        if restart:
            self._pq_connections.discard(query.serial)
        await connection.run(
            f"Modifying persistent query '{query.name}'",
            lambda: connection.backend.modify_query(handle, query.serial, checked, restart),
        )
        updated = await self.wait_for(
            query.serial, lambda info: info.config_version > query.config_version, PUBLISH_WAIT
        )
        return updated or query

    async def _changing(self, identifier: str | int) -> tuple[PqInfo, ManagerHandle]:
        """The query about to be started, stopped or restarted; our session to it is dropped."""
        query = await self.details(identifier)
        handle = await self._connection.connected()
        self._pq_connections.discard(query.serial)
        return query, handle

    async def change_state(
        self, goal: Goal, identifier: str | int, wait: bool, timeout_seconds: int
    ) -> PqInfo:
        """Start, stop or restart a query (``goal``); the latest info after the call.

        A refusal fails the call: the controller's error, or its per-query refusal
        (``errorSerials``), naming the query. Then we wait on the subscription map: with
        ``wait``, for one of the outcomes of :class:`Watch` (reached; failed, raised; timed
        out, raised); without, briefly, for the controller to publish the change at all,
        so the answer is not simply the state from before the call. Stopping a query that
        is not running answers at once.
        """
        timeout = _check_timeout(timeout_seconds)
        backend = self._connection.backend
        calls = {
            START.verb: backend.start_query,
            STOP.verb: backend.stop_query,
            RESTART.verb: backend.restart_query,
        }
        call = calls[goal.verb]
        query, handle = await self._changing(identifier)
        refusal = await self._connection.run(
            f"{goal.action} persistent query '{query.name}'", lambda: call(handle, query.serial)
        )
        if refusal is not None:
            raise refused(goal, query.name, refusal)
        if goal is STOP and is_down(query):
            return query
        watch = Watch(goal, query)
        latest = await self.wait_for(
            query.serial, watch.settled if wait else watch.moved, timeout if wait else PUBLISH_WAIT
        )
        if latest is None:
            raise NotFoundError(
                f"Persistent query '{query.name}' disappeared while {goal.action.lower()}."
            )
        return watch.outcome(latest, timeout) if wait else latest

    async def act(
        self, verb: BatchVerb, identifier: str | int, wait: bool, timeout_seconds: int
    ) -> PqInfo:
        """Delete one query, or start, stop or restart it (:meth:`change_state`), by ``verb``;
        a delete does not wait."""
        if verb == "delete":
            return await self.delete(identifier)
        return await self.change_state(GOALS[verb], identifier, wait, timeout_seconds)

    async def batch(
        self,
        verb: BatchVerb,
        identifiers: Sequence[str | int],
        max_concurrent: int,
        wait: bool,
        timeout_seconds: int,
    ) -> list[BatchOutcome]:
        """``verb`` on each query, at most ``max_concurrent`` at once; one outcome each.

        Arguments that are wrong for all (``timeout_seconds``) fail the call; anything
        about one query (unknown, refused, failed, timed out) is that query's outcome.
        """
        if verb != "delete":
            _check_timeout(timeout_seconds)
        operation = functools.partial(self.act, verb, wait=wait, timeout_seconds=timeout_seconds)
        snapshot = await self._connection.pq_snapshot()
        return await run_batch(
            identifiers,
            functools.partial(find, self._system, snapshot),
            operation,
            max_concurrent,
        )
