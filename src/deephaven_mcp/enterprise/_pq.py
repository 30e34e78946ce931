"""Persistent query operations of :class:`~deephaven_mcp.enterprise.system.EnterpriseSystem`.

State is read from the controller subscription map; after a change we wait on the map's
version (no polling RPCs) until the controller has published the new state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from deephaven_mcp.config.models import check_name
from deephaven_mcp.enterprise import _params, _threads
from deephaven_mcp.enterprise.backend import PqChanges, PqInfo, PqSnapshot
from deephaven_mcp.enterprise.errors import EnterpriseOperationError, operation_error
from deephaven_mcp.errors import DeephavenTimeoutError, InvalidArgumentError, NotFoundError

if TYPE_CHECKING:
    from deephaven_mcp.enterprise.system import EnterpriseSystem

PUBLISH_WAIT: Final = 10.0  # how long to wait for the controller to publish a change
WAIT_SLICE: Final = 5.0
WAIT_ALLOWANCE: Final = 30.0  # beyond the caller's timeout, for the RPCs around the wait


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


def _by_serial(snapshot: PqSnapshot, serial: int) -> PqInfo | None:
    return next((query for query in snapshot.queries if query.serial == serial), None)


async def wait_for(
    system: EnterpriseSystem, serial: int, done: Callable[[PqInfo], bool], timeout: float
) -> PqInfo | None:
    """Latest info once ``done(info)`` holds, or the last info seen when ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    handle = await system.connected()
    while True:
        snapshot = await system.pq_snapshot()
        info = _by_serial(snapshot, serial)
        remaining = deadline - loop.time()
        if (info is not None and done(info)) or remaining <= 0:
            return info
        wait = min(remaining, WAIT_SLICE)
        await system.run(
            "Waiting for the persistent query map",
            functools.partial(system.backend.wait_for_change, handle, snapshot.version, wait),
            timeout=wait + WAIT_ALLOWANCE,
        )


def _check_new_name(system: EnterpriseSystem, snapshot: PqSnapshot, name: str) -> None:
    try:
        check_name("persistent query", name)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None
    if any(query.name == name for query in snapshot.queries):
        raise InvalidArgumentError(
            f"A persistent query named '{name}' already exists on '{system.name}'."
        )


async def create(system: EnterpriseSystem, pq_name: str, request: _params.WorkerRequest) -> PqInfo:
    """Add a query (UNINITIALIZED until started) built with make_temporary_config."""
    spec = _params.pq_spec(pq_name, request)
    snapshot = await system.pq_snapshot()
    _check_new_name(system, snapshot, pq_name)
    handle = await system.connected()
    serial = await system.run(
        f"Creating persistent query '{pq_name}'", lambda: system.backend.add_query(handle, spec)
    )
    info = await system.run(
        "Reading the new persistent query",
        lambda: system.backend.pq_get(handle, serial, PUBLISH_WAIT),
        timeout=PUBLISH_WAIT + WAIT_ALLOWANCE,
    )
    if info is not None:
        return info
    return PqInfo(
        serial=serial, name=pq_name, state="UNINITIALIZED", is_running=False, is_terminal=False
    )


async def delete(system: EnterpriseSystem, identifier: str | int) -> PqInfo:
    """Remove a query (the controller stops it first); returns its last known state."""
    query = find(system.name, await system.pq_snapshot(), identifier)
    handle = await system.connected()
    action = f"Deleting persistent query '{query.name}'"
    worker = system._forget_created(query.serial)
    if worker is not None:  # a worker we created: closing it deletes its query
        await system.run(action, lambda: system.close_worker_when_idle(worker))
        return query
    system._discard_pq_session(query.serial)
    await system.run(action, lambda: system.backend.delete_query(handle, query.serial))
    return query


def _validated(system: EnterpriseSystem, snapshot: PqSnapshot, changes: PqChanges) -> PqChanges:
    if changes.is_empty():
        raise InvalidArgumentError("Nothing to modify: give at least one setting to change.")
    if changes.script_body is not None and changes.script_path is not None:
        raise InvalidArgumentError("Give either script_body or script_path, not both.")
    if changes.name is not None:
        _check_new_name(system, snapshot, changes.name)
    init_timeout = changes.init_timeout_nanos
    if init_timeout is not None and (isinstance(init_timeout, bool) or init_timeout <= 0):
        raise InvalidArgumentError("init_timeout_nanos must be a positive whole number")
    return dataclasses.replace(
        changes,
        heap_size_gb=_params.positive("heap_size_gb", changes.heap_size_gb),
        programming_language=_params.language(changes.programming_language),
        configuration_type=_params.text("configuration_type", changes.configuration_type),
        server=_params.text("server", changes.server),
        engine=_params.text("engine", changes.engine),
        jvm_profile=_params.text("jvm_profile", changes.jvm_profile),
        schedule=_params.strings("schedule", changes.schedule),
        extra_jvm_args=_params.strings("extra_jvm_args", changes.extra_jvm_args),
        extra_class_path=_params.strings("extra_class_path", changes.extra_class_path),
        extra_environment_vars=_params.environment(changes.extra_environment_vars),
        admin_groups=_params.strings("admin_groups", changes.admin_groups),
        viewer_groups=_params.strings("viewer_groups", changes.viewer_groups),
        auto_delete_timeout=_params.non_negative_int(
            "auto_delete_timeout", changes.auto_delete_timeout
        ),
    )


async def modify(
    system: EnterpriseSystem, identifier: str | int, changes: PqChanges, restart: bool
) -> PqInfo:
    """Merge ``changes`` into the current config; optionally restart to apply them."""
    snapshot = await system.pq_snapshot()
    query = find(system.name, snapshot, identifier)
    checked = _validated(system, snapshot, changes)
    handle = await system.connected()
    if restart:
        system._discard_pq_session(query.serial)
    await system.run(
        f"Modifying persistent query '{query.name}'",
        lambda: system.backend.modify_query(handle, query.serial, checked, restart),
    )
    updated = await wait_for(
        system, query.serial, lambda info: info.config_version > query.config_version, PUBLISH_WAIT
    )
    return updated or query


def _check_timeout(timeout_seconds: int) -> int:
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int):
        raise InvalidArgumentError("timeout_seconds must be a whole number of seconds")
    if timeout_seconds <= 0:
        raise InvalidArgumentError("timeout_seconds must be greater than 0")
    return timeout_seconds


async def _state_change(
    system: EnterpriseSystem,
    query: PqInfo,
    verb: str,
    call: Callable[[], None],
    wait: bool,
    timeout_seconds: int,
) -> PqInfo:
    """Run a start/stop call; when it fails, judge from the PQ's state, not the message."""
    action = f"{verb} persistent query '{query.name}'"
    budget = timeout_seconds + WAIT_ALLOWANCE if wait else system.operation_timeout
    try:
        await _threads.run_blocking(action, budget, call)
    except RuntimeError:
        # start_and_wait / stop_and_wait raise RuntimeError when the state was not reached.
        pass
    except Exception as exc:
        raise operation_error(action, exc) from exc
    latest = _by_serial(await system.pq_snapshot(), query.serial)
    if latest is None:
        raise NotFoundError(f"Persistent query '{query.name}' disappeared while {verb.lower()}.")
    return latest


async def start(
    system: EnterpriseSystem, identifier: str | int, wait: bool, timeout_seconds: int
) -> PqInfo:
    """Start (or re-run) a query; with ``wait``, until it is RUNNING or has ended."""
    timeout = _check_timeout(timeout_seconds)
    query = find(system.name, await system.pq_snapshot(), identifier)
    handle = await system.connected()
    system._discard_pq_session(query.serial)
    latest = await _state_change(
        system,
        query,
        "Starting",
        lambda: system.backend.start_query(handle, query.serial, wait, timeout),
        wait,
        timeout,
    )
    if not wait or latest.is_running or latest.state == "COMPLETED":
        return latest
    if latest.is_terminal:
        reason = f": {latest.exception_message}" if latest.exception_message else ""
        raise EnterpriseOperationError(
            f"Persistent query '{query.name}' did not start; it is {latest.state}{reason}"
        )
    raise DeephavenTimeoutError(
        f"Persistent query '{query.name}' is still {latest.state} after {timeout} s."
    )


async def stop(
    system: EnterpriseSystem, identifier: str | int, wait: bool, timeout_seconds: int
) -> PqInfo:
    """Stop a query; with ``wait``, until it reaches a terminal state."""
    timeout = _check_timeout(timeout_seconds)
    query = find(system.name, await system.pq_snapshot(), identifier)
    handle = await system.connected()
    system._discard_pq_session(query.serial)
    latest = await _state_change(
        system,
        query,
        "Stopping",
        lambda: system.backend.stop_query(handle, query.serial, wait, timeout),
        wait,
        timeout,
    )
    if wait and not (latest.is_terminal or latest.state == "UNINITIALIZED"):
        raise DeephavenTimeoutError(
            f"Persistent query '{query.name}' is still {latest.state} after {timeout} s."
        )
    return latest


async def restart(system: EnterpriseSystem, identifier: str | int) -> PqInfo:
    """Ask the controller to restart a query; returns at once (state as last published)."""
    query = find(system.name, await system.pq_snapshot(), identifier)
    handle = await system.connected()
    system._discard_pq_session(query.serial)
    await system.run(
        f"Restarting persistent query '{query.name}'",
        lambda: system.backend.restart_query(handle, query.serial),
    )
    latest = _by_serial(await system.pq_snapshot(), query.serial)
    return latest or query
