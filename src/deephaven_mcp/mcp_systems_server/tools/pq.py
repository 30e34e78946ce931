"""Persistent query tools: list, details, create, delete, modify, start, stop, restart."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from deephaven_mcp.enterprise import Schedule
from deephaven_mcp.mcp_systems_server.tools._common import SystemName, Systems, systems_tool
from deephaven_mcp.mcp_systems_server.tools.enterprise_sessions import (
    HEAP_HELP,
    AdminGroups,
    Engine,
    EnvVars,
    HeapSize,
    JvmArgs,
    Language,
    Strings,
    ViewerGroups,
    operator_set,
)
from deephaven_mcp.model.arguments import Number, WholeNumber
from deephaven_mcp.model.requests import DEFAULT_PQ_CONCURRENCY, MAX_PQ_BATCH
from deephaven_mcp.systems import results

__all__ = [
    "pq_create",
    "pq_delete",
    "pq_details",
    "pq_list",
    "pq_modify",
    "pq_restart",
    "pq_start",
    "pq_stop",
]

Identifier = Annotated[str | int, Field(description="PQ name, or its serial number.")]
ScriptBody = Annotated[str | None, operator_set("The query's script (not with script_path).")]
ScriptPath = Annotated[
    str | None,
    operator_set(
        "A script file on the MCP server, inside security.script_path_roots, sent as the "
        "query's script (not with script_body)."
    ),
]
ConfigurationTypeArg = Annotated[
    str | None,
    operator_set("Script (a live query, the default), RunAndDone (a batch job), ..."),
]
EnabledArg = Annotated[bool | None, operator_set("Whether the query may run (default true).")]
ScheduleArg = Annotated[
    Schedule | None,
    operator_set(
        "When it runs: {type: continuous | daily | temporary | manual, ...}, e.g. "
        '{"type": "daily", "start_time": "08:00:00", "stop_time": "18:00:00", '
        '"time_zone": "Europe/London"}; default continuous.'
    ),
]
JvmProfile = Annotated[str | None, operator_set("A JVM profile the controller defines.")]
ClassPath = Annotated[Strings, operator_set("Class path additions.")]
PythonVenv = Annotated[
    dict[str, Any] | str | None,
    operator_set(
        "Core+ Python virtual environment control, a JSON object such as "
        '{"ephemeral_venv": true, "ephemeral_requirements": "pandas==2.2"}.'
    ),
]
InitTimeout = Annotated[
    Number | None, operator_set("Seconds the query may take to initialize (at most 86400).")
]
RestartUsers = Annotated[
    str | None, operator_set("Who may restart it: RU_ADMIN, RU_ADMIN_AND_VIEWERS, ...")
]
WaitArg = Annotated[bool, Field(description="Wait for the state change (default true).")]
TimeoutArg = Annotated[
    int, Field(description="Seconds to wait when wait is true (default 120, at most 3600).")
]
Identifiers = Annotated[
    str
    | int
    | Annotated[
        list[str | int], Field(json_schema_extra={"minItems": 1, "maxItems": MAX_PQ_BATCH})
    ],
    Field(
        description=f"PQ name or serial, or a list of up to {MAX_PQ_BATCH} of them: then the "
        "answer has one result per query, and one query's error does not stop the others."
    ),
]
ConcurrencyArg = Annotated[
    WholeNumber,
    Field(
        description=f"With a list: how many queries at once (default {DEFAULT_PQ_CONCURRENCY}; "
        "at most the system's agent_limits.max_pq_batch_concurrency).",
        json_schema_extra={"minimum": 1},
    ),
]


@systems_tool("Listing persistent queries")
async def pq_list(systems: Systems, system_name: SystemName) -> results.PqList:
    """Persistent queries of a system with their states; running ones carry a session_id."""


@systems_tool("Reading persistent query details")
async def pq_details(
    systems: Systems, system_name: SystemName, pq_identifier: Identifier
) -> results.PqDetails:
    """Configuration, state and worker location of one persistent query."""


@systems_tool("Creating the persistent query")
async def pq_create(
    systems: Systems,
    system_name: SystemName,
    pq_name: Annotated[str, Field(description="Name of the new persistent query.")],
    heap_size_gb: Annotated[Number, Field(description=HEAP_HELP)],
    script_body: ScriptBody = None,
    script_path: ScriptPath = None,
    programming_language: Language = None,
    configuration_type: ConfigurationTypeArg = None,
    enabled: EnabledArg = None,
    schedule: ScheduleArg = None,
    server: Annotated[
        str | None,
        Field(
            description="Server to run on; one of the system's agent_limits.allowed_servers "
            "when set (default then: the system's session_creation.defaults.server, else the "
            "first allowed)."
        ),
    ] = None,
    engine: Engine = None,
    jvm_profile: JvmProfile = None,
    extra_jvm_args: JvmArgs = None,
    extra_class_path: ClassPath = None,
    python_virtual_environment: PythonVenv = None,
    extra_environment_vars: EnvVars = None,
    init_timeout_seconds: InitTimeout = None,
    admin_groups: AdminGroups = None,
    viewer_groups: ViewerGroups = None,
    restart_users: RestartUsers = None,
    owner: Annotated[
        str | None, operator_set("Owner of the query (another user needs admin rights).")
    ] = None,
) -> results.PqCreated:
    """Create a persistent query that runs a script (configuration_type Script by default).

    The script is script_body, or the file script_path names on the MCP server (inside
    security.script_path_roots). The schedule is continuous unless given: the controller
    then starts the query at once (starts_now in the answer says so); a temporary or manual
    one waits for pq_start. Give pq_name, heap_size_gb, programming_language and server; the
    engine, JVM arguments, environment and groups come from the system's
    session_creation.defaults. Any other argument is refused unless the operator listed it
    in the system's agent_limits.agent_may_set; a heap_size_gb above
    agent_limits.max_heap_size_gb or a server not in allowed_servers is refused too.
    """


@systems_tool("Deleting the persistent query")
async def pq_delete(
    systems: Systems,
    system_name: SystemName,
    pq_identifier: Identifiers,
    max_concurrent: ConcurrencyArg = DEFAULT_PQ_CONCURRENCY,
) -> results.PqDeleted | results.PqBatch:
    """Delete a persistent query permanently (stopped first if running).

    Given a list, deletes each and answers per query: results (pq, success, serial, name,
    message or error), succeeded and failed.
    """


@systems_tool("Modifying the persistent query")
async def pq_modify(
    systems: Systems,
    pq_id: Annotated[str, Field(description="'enterprise:<system>:<serial or name>'.")],
    restart: Annotated[bool, Field(description="Restart afterwards to apply the changes.")] = False,
    pq_name: Annotated[str | None, Field(description="New name.")] = None,
    heap_size_gb: HeapSize = None,
    script_body: ScriptBody = None,
    script_path: ScriptPath = None,
    programming_language: Language = None,
    configuration_type: ConfigurationTypeArg = None,
    enabled: EnabledArg = None,
    schedule: ScheduleArg = None,
    server: Annotated[
        str | None,
        Field(description="Server; one of the system's agent_limits.allowed_servers when set."),
    ] = None,
    engine: Engine = None,
    jvm_profile: JvmProfile = None,
    extra_jvm_args: JvmArgs = None,
    extra_class_path: ClassPath = None,
    python_virtual_environment: PythonVenv = None,
    extra_environment_vars: EnvVars = None,
    init_timeout_seconds: InitTimeout = None,
    auto_delete_timeout: Annotated[
        WholeNumber | None,
        operator_set("Temporary queries only: idle seconds before deletion (0: at once)."),
    ] = None,
    admin_groups: AdminGroups = None,
    viewer_groups: ViewerGroups = None,
    restart_users: RestartUsers = None,
) -> results.PqModified:
    """Change a persistent query; only the given fields change (lists replace).

    pq_name, heap_size_gb, programming_language and server are the caller's (held to the
    system's agent_limits), and restart. Any other field is refused unless the operator
    listed it in the system's agent_limits.agent_may_set. auto_delete_timeout applies to
    temporary queries only; python_virtual_environment is the controller's JSON object; a
    script_path is read on the MCP server and sent as the query's inline script.
    """


@systems_tool("Starting the persistent query")
async def pq_start(
    systems: Systems,
    system_name: SystemName,
    pq_identifier: Identifiers,
    wait: WaitArg = True,
    timeout_seconds: TimeoutArg = 120,
    max_concurrent: ConcurrencyArg = DEFAULT_PQ_CONCURRENCY,
) -> results.PqStarted | results.PqBatch:
    """Start a persistent query; once RUNNING its session_id works with the data tools.

    With wait (default) the answer comes when it is RUNNING (or COMPLETED, for a query that
    runs once). Ending in FAILED or another terminal state is an error with the server's
    exception; not RUNNING after timeout_seconds is a timeout error naming the state the
    controller last reported and when. Without wait the answer is the first new state the
    controller publishes (usually ACQUIRING_WORKER or INITIALIZING). A refusal by the
    controller (permissions) is always an error. Given a list, each query is started and
    answered on its own: results (pq, success, serial, name, state, session_id, message or
    error), succeeded and failed.
    """


@systems_tool("Stopping the persistent query")
async def pq_stop(
    systems: Systems,
    system_name: SystemName,
    pq_identifier: Identifiers,
    wait: WaitArg = True,
    timeout_seconds: TimeoutArg = 120,
    max_concurrent: ConcurrencyArg = DEFAULT_PQ_CONCURRENCY,
) -> results.PqStopped | results.PqBatch:
    """Stop a running persistent query; its definition is kept.

    With wait (default) the answer comes once it is STOPPED (a query that is not running
    answers at once); ending FAILED instead is an error with the server's exception, and a
    wait that ends first is a timeout error naming the state last reported. Without wait,
    the first new state the controller publishes. A refusal is an error. Lists as for
    pq_start.
    """


@systems_tool("Restarting the persistent query")
async def pq_restart(
    systems: Systems,
    system_name: SystemName,
    pq_identifier: Identifiers,
    wait: WaitArg = True,
    timeout_seconds: TimeoutArg = 120,
    max_concurrent: ConcurrencyArg = DEFAULT_PQ_CONCURRENCY,
) -> results.PqRestarted | results.PqBatch:
    """Restart a persistent query with its current configuration.

    With wait (default) the answer comes when the new run is RUNNING; outcomes, timeouts,
    refusals and lists as for pq_start.
    """
