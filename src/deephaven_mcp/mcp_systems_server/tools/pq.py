"""Persistent query tools: list, details, create, delete, modify, start, stop, restart."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from pydantic import Field

from deephaven_mcp._errors import InvalidArgumentError
from deephaven_mcp._tool_results import envelope_schema, ok, run_tool
from deephaven_mcp.enterprise import PqChanges, PqInfo, WorkerRequest
from deephaven_mcp.mcp_systems_server._annotations import DESTRUCTIVE, MUTATING, READ_ONLY
from deephaven_mcp.mcp_systems_server._schemas import BOOLEAN, INTEGER, NULLABLE_STRING, STRING
from deephaven_mcp.mcp_systems_server._state import SystemsServerState
from deephaven_mcp.mcp_systems_server.tools.enterprise_sessions import SystemName

MAX_SCRIPT_CHARS: Final = 20_000
Identifier = Annotated[str | int, Field(description="PQ name, or its serial number.")]
Strings = list[str] | None
WaitArg = Annotated[bool, Field(description="Wait for the state change (default true).")]
TimeoutArg = Annotated[int, Field(description="Seconds to wait when wait is true (default 120).")]


def session_id_of(system_name: str, query: PqInfo) -> str | None:
    return f"enterprise:{system_name}:{query.name}" if query.is_running else None


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


def details(system_name: str, query: PqInfo) -> dict[str, Any]:
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
        "extra_environment_vars": list(query.extra_environment_vars),
        "extra_class_path": list(query.extra_class_path),
        "admin_groups": list(query.admin_groups),
        "viewer_groups": list(query.viewer_groups),
        "schedule": list(query.schedule),
        "restart_users": query.restart_users,
        "init_timeout_nanos": query.init_timeout_nanos,
        "auto_delete_timeout": query.auto_delete_timeout,
        "script_path": query.script_path,
    }
    if query.script_code is not None:
        config["script_code"] = query.script_code[:MAX_SCRIPT_CHARS]
        if len(query.script_code) > MAX_SCRIPT_CHARS:
            config["script_code_truncated"] = True
    return {
        "serial": query.serial,
        "name": query.name,
        "state": query.state,
        "session_id": session_id_of(system_name, query),
        "worker_host": query.worker_host,
        "worker_port": query.worker_port,
        "engine_version": query.engine_version,
        "status_details": query.status_details,
        "exception_message": query.exception_message,
        "num_failures": query.num_failures,
        "config": config,
    }


def parse_pq_id(pq_id: str) -> tuple[str, str | int]:
    """'enterprise:<system>:<serial or name>' -> (system, identifier)."""
    parts = pq_id.split(":", 2) if isinstance(pq_id, str) else []
    if len(parts) != 3 or parts[0] != "enterprise" or not parts[1] or not parts[2]:
        raise InvalidArgumentError(
            f"malformed pq_id {pq_id!r}: expected 'enterprise:<system>:<serial or name>'"
        )
    identifier: str | int = int(parts[2]) if parts[2].isdigit() else parts[2]
    return parts[1], identifier


def register(mcp: FastMCP, state: SystemsServerState) -> None:
    enterprise = state.enterprise

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {"system_name": STRING, "pqs": {"type": "array", "items": {"type": "object"}}},
            ["system_name", "pqs"],
        ),
    )
    async def pq_list(system_name: SystemName) -> ToolResult:
        """Persistent queries of a system with their states; running ones carry a session_id."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            queries = await system.pq_list()
            return ok(system_name=system.name, pqs=[summary(system.name, q) for q in queries])

        return await run_tool("Listing persistent queries", body)

    @mcp.tool(
        annotations=READ_ONLY,
        output_schema=envelope_schema(
            {"serial": INTEGER, "name": STRING, "state": STRING, "config": {"type": "object"}},
            ["serial", "name", "state", "config"],
        ),
    )
    async def pq_details(system_name: SystemName, pq_identifier: Identifier) -> ToolResult:
        """Configuration, state and worker location of one persistent query."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            return ok(**details(system.name, await system.pq_details(pq_identifier)))

        return await run_tool("Reading persistent query details", body)

    @mcp.tool(
        annotations=MUTATING,
        output_schema=envelope_schema(
            {"serial": INTEGER, "pq_name": STRING, "state": STRING, "message": STRING},
            ["serial", "pq_name", "state", "message"],
        ),
    )
    async def pq_create(
        system_name: SystemName,
        pq_name: Annotated[str, Field(description="Name of the new persistent query.")],
        heap_size_gb: Annotated[float, Field(description="JVM heap in GB.")],
        programming_language: Annotated[
            str | None, Field(description="'Python' or 'Groovy'.")
        ] = None,
        auto_delete_timeout: Annotated[
            int | None, Field(description="Idle seconds before deletion.")
        ] = None,
        server: Annotated[str | None, Field(description="Server to run on.")] = None,
        engine: Annotated[str | None, Field(description="Engine, e.g. DeephavenCommunity.")] = None,
        extra_jvm_args: Strings = None,
        extra_environment_vars: Strings = None,
        admin_groups: Strings = None,
        viewer_groups: Strings = None,
    ) -> ToolResult:
        """Create a persistent query (not started; use pq_start)."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            request = WorkerRequest(
                heap_size_gb=heap_size_gb,
                programming_language=programming_language,
                auto_delete_timeout=auto_delete_timeout,
                server=server,
                engine=engine,
                extra_jvm_args=extra_jvm_args,
                extra_environment_vars=extra_environment_vars,
                admin_groups=admin_groups,
                viewer_groups=viewer_groups,
            )
            query = await system.pq_create(pq_name, request)
            return ok(
                serial=query.serial,
                pq_name=query.name,
                state=query.state,
                message="PQ created successfully",
            )

        return await run_tool("Creating the persistent query", body)

    @mcp.tool(
        annotations=DESTRUCTIVE,
        output_schema=envelope_schema({"serial": INTEGER, "message": STRING}, ["message"]),
    )
    async def pq_delete(system_name: SystemName, pq_identifier: Identifier) -> ToolResult:
        """Delete a persistent query permanently (stopped first if running)."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            query = await system.pq_delete(pq_identifier)
            return ok(serial=query.serial, message="PQ deleted successfully")

        return await run_tool("Deleting the persistent query", body)

    @mcp.tool(
        annotations=DESTRUCTIVE,
        output_schema=envelope_schema(
            {
                "pq_id": STRING,
                "serial": INTEGER,
                "name": STRING,
                "restarted": BOOLEAN,
                "message": STRING,
            },
            ["pq_id", "serial", "name", "restarted", "message"],
        ),
    )
    async def pq_modify(
        pq_id: Annotated[str, Field(description="'enterprise:<system>:<serial or name>'.")],
        restart: Annotated[
            bool, Field(description="Restart afterwards to apply the changes.")
        ] = False,
        pq_name: Annotated[str | None, Field(description="New name.")] = None,
        heap_size_gb: Annotated[float | None, Field(description="JVM heap in GB.")] = None,
        script_body: Annotated[
            str | None, Field(description="Inline script (not with script_path).")
        ] = None,
        script_path: Annotated[
            str | None, Field(description="Script path (not with script_body).")
        ] = None,
        programming_language: Annotated[
            str | None, Field(description="'Python' or 'Groovy'.")
        ] = None,
        configuration_type: Annotated[
            str | None, Field(description="e.g. Script, RunAndDone.")
        ] = None,
        enabled: bool | None = None,
        schedule: Strings = None,
        server: str | None = None,
        engine: str | None = None,
        jvm_profile: str | None = None,
        extra_jvm_args: Strings = None,
        extra_class_path: Strings = None,
        python_virtual_environment: str | None = None,
        extra_environment_vars: Strings = None,
        init_timeout_nanos: int | None = None,
        auto_delete_timeout: int | None = None,
        admin_groups: Strings = None,
        viewer_groups: Strings = None,
        restart_users: Annotated[
            str | None, Field(description="e.g. RU_ADMIN, RU_ADMIN_AND_VIEWERS.")
        ] = None,
    ) -> ToolResult:
        """Change a persistent query; only the given fields change (lists replace)."""

        async def body() -> ToolResult:
            system_name, identifier = parse_pq_id(pq_id)
            if script_body is not None and script_path is not None:
                raise InvalidArgumentError("set either script_body or script_path, not both")
            changes = PqChanges(
                name=pq_name,
                heap_size_gb=heap_size_gb,
                script_body=script_body,
                script_path=script_path,
                programming_language=programming_language,
                configuration_type=configuration_type,
                enabled=enabled,
                schedule=tuple(schedule) if schedule is not None else None,
                server=server,
                engine=engine,
                jvm_profile=jvm_profile,
                extra_jvm_args=tuple(extra_jvm_args) if extra_jvm_args is not None else None,
                extra_class_path=tuple(extra_class_path) if extra_class_path is not None else None,
                python_virtual_environment=python_virtual_environment,
                extra_environment_vars=(
                    tuple(extra_environment_vars) if extra_environment_vars is not None else None
                ),
                init_timeout_nanos=init_timeout_nanos,
                auto_delete_timeout=auto_delete_timeout,
                admin_groups=tuple(admin_groups) if admin_groups is not None else None,
                viewer_groups=tuple(viewer_groups) if viewer_groups is not None else None,
                restart_users=restart_users,
            )
            if changes.is_empty():
                raise InvalidArgumentError("nothing to change: give at least one field to modify")
            system = enterprise.get(system_name)
            query = await system.pq_modify(identifier, changes, restart)
            return ok(
                pq_id=pq_id,
                serial=query.serial,
                name=query.name,
                restarted=restart,
                message=f"PQ '{query.name}' modified successfully",
            )

        return await run_tool("Modifying the persistent query", body)

    @mcp.tool(
        annotations=MUTATING,
        output_schema=envelope_schema(
            {
                "serial": INTEGER,
                "state": STRING,
                "session_id": NULLABLE_STRING,
                "message": STRING,
            },
            ["serial", "state", "message"],
        ),
    )
    async def pq_start(
        system_name: SystemName,
        pq_identifier: Identifier,
        wait: WaitArg = True,
        timeout_seconds: TimeoutArg = 120,
    ) -> ToolResult:
        """Start a persistent query; once RUNNING its session_id works with the data tools."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            query = await system.pq_start(pq_identifier, wait, timeout_seconds)
            return ok(
                serial=query.serial,
                state=query.state,
                session_id=session_id_of(system.name, query),
                message="PQ started successfully" if query.is_running else "PQ start requested",
            )

        return await run_tool("Starting the persistent query", body)

    @mcp.tool(
        annotations=DESTRUCTIVE,
        output_schema=envelope_schema(
            {"serial": INTEGER, "state": STRING, "message": STRING}, ["serial", "state", "message"]
        ),
    )
    async def pq_stop(
        system_name: SystemName,
        pq_identifier: Identifier,
        wait: WaitArg = True,
        timeout_seconds: TimeoutArg = 120,
    ) -> ToolResult:
        """Stop a running persistent query; its definition is kept."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            query = await system.pq_stop(pq_identifier, wait, timeout_seconds)
            return ok(
                serial=query.serial,
                state=query.state,
                message="PQ stopped successfully" if query.is_terminal else "PQ stop requested",
            )

        return await run_tool("Stopping the persistent query", body)

    @mcp.tool(
        annotations=DESTRUCTIVE,
        output_schema=envelope_schema(
            {"serial": INTEGER, "message": STRING}, ["serial", "message"]
        ),
    )
    async def pq_restart(system_name: SystemName, pq_identifier: Identifier) -> ToolResult:
        """Restart a persistent query with its current configuration."""

        async def body() -> ToolResult:
            system = enterprise.get(system_name)
            query = await system.pq_restart(pq_identifier)
            return ok(serial=query.serial, message="PQ restart initiated")

        return await run_tool("Restarting the persistent query", body)
