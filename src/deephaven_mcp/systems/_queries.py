"""Persistent queries as the PQ tools show them: summaries, details, ``pq_id`` parsing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from deephaven_mcp.config.models import pq_session_name
from deephaven_mcp.enterprise import PqInfo, Schedule, describe_schedule
from deephaven_mcp.errors import InvalidArgumentError
from deephaven_mcp.systems.results import PqCreated, PqDetails

if TYPE_CHECKING:
    from deephaven_mcp.enterprise import CreatedQuery

MAX_SCRIPT_CHARS: Final = 20_000
# What pq_details shows as the controller reports it: the answer's fields but two.
_AS_REPORTED: Final = tuple(
    name for name in PqDetails.model_fields if name not in ("session_id", "config")
)


def session_id_of(system_name: str, query: PqInfo) -> str | None:
    """A running query is a data session; a stopped one is not."""
    if not query.is_running:
        return None
    return f"enterprise:{system_name}:{pq_session_name(query.name, query.serial)}"


def summary(system_name: str, query: PqInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "serial": query.serial,
        "name": query.name,
        "state": query.state,
        "heap_size_gb": query.heap_size_gb,
    }
    session_id = session_id_of(system_name, query)
    if session_id:
        entry["session_id"] = session_id
    return entry


def details(system_name: str, query: PqInfo) -> PqDetails:
    config: dict[str, Any] = {
        "heap_size_gb": query.heap_size_gb,
        "engine": query.engine,
        "server": query.server,
        "programming_language": query.programming_language,
        "configuration_type": query.configuration_type,
        "enabled": query.enabled,
        "owner": query.owner,
        "jvm_profile": query.jvm_profile,
        "extra_jvm_args": list(query.extra_jvm_args),
        "extra_environment_vars": dict(query.extra_environment_vars),
        "extra_class_path": list(query.extra_class_path),
        "admin_groups": list(query.admin_groups),
        "viewer_groups": list(query.viewer_groups),
        "schedule": describe_schedule(query.schedule),
        "scheduling": list(query.schedule),
        "restart_users": query.restart_users,
        "init_timeout_seconds": query.init_timeout_nanos / 1_000_000_000,
        "auto_delete_timeout": query.auto_delete_timeout,
        "script_path": query.script_path,
        "python_virtual_environment": _json_object(query.python_control),
    }
    if query.script_code is not None:
        config["script_code"] = query.script_code[:MAX_SCRIPT_CHARS]
        if len(query.script_code) > MAX_SCRIPT_CHARS:
            config["script_code_truncated"] = True
    return PqDetails(
        **{name: getattr(query, name) for name in _AS_REPORTED},
        session_id=session_id_of(system_name, query),
        config=config,
    )


def created(new: CreatedQuery) -> PqCreated:
    """The answer to ``pq_create``, saying truthfully when the query will run."""
    query = new.info
    return PqCreated(
        serial=query.serial,
        pq_name=query.name,
        state=query.state,
        configuration_type=query.configuration_type or "Script",
        enabled=new.enabled,
        schedule=new.schedule.model_dump(exclude_none=True),
        starts_now=new.starts_now,
        message=f"Persistent query '{query.name}' created; {_when(new.schedule, new)}",
    )


def _when(schedule: Schedule, new: CreatedQuery) -> str:
    if not new.enabled:
        return "it is disabled, so nothing starts it until it is enabled (pq_modify enabled)"
    if new.starts_now:
        why = "continuous" if schedule.type == "continuous" else "daily, inside its window"
        return f"the controller starts it now ({why} schedule)"
    if schedule.type == "daily":
        return (
            f"the controller starts it at {schedule.start_time} {schedule.zone} on its days "
            "(or start it now with pq_start)"
        )
    return f"it is not started ({schedule.type} schedule): start it with pq_start"


def _json_object(text: str) -> dict[str, Any] | None:
    """``pythonControl`` as the object it encodes (None when empty or not an object)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_pq_id(pq_id: str) -> tuple[str, str | int]:
    """'enterprise:<system>:<serial or name>' -> (system, identifier)."""
    parts = pq_id.split(":", 2) if isinstance(pq_id, str) else []
    if len(parts) != 3 or parts[0] != "enterprise" or not parts[1] or not parts[2]:
        raise InvalidArgumentError(
            f"malformed pq_id {pq_id!r}: expected 'enterprise:<system>:<serial or name>'"
        )
    identifier: str | int = int(parts[2]) if parts[2].isdigit() else parts[2]
    return parts[1], identifier
