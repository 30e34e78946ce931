"""Every coreplus name the adapter uses, declared once.

:mod:`.adapter` imports these declarations; ``tests/enterprise/test_contract.py`` checks each
class, method, parameter name, protobuf field and PQ state against the installed
``deephaven-coreplus-client``, so an API drift fails the test suite instead of production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

SESSION_MANAGER_MODULE: Final = "deephaven_enterprise.client.session_manager"
CONTROLLER_MODULE: Final = "deephaven_enterprise.client.controller"
AUTH_MODULE: Final = "deephaven_enterprise.client.auth"
PQ_PROTO_MODULE: Final = "deephaven_enterprise.proto.persistent_query_pb2"
SCHEDULING_MODULE: Final = "deephaven_enterprise.client.generate_scheduling"
CONTROLLER_PROTO_MODULE: Final = "deephaven_enterprise.proto.controller_pb2"
CONTROLLER_GRPC_MODULE: Final = "deephaven_enterprise.proto.controller_service_pb2_grpc"
COMMON_PROTO_MODULE: Final = "deephaven_enterprise.proto.common_pb2"


@dataclass(frozen=True)
class ApiMember:
    """A coreplus class, method or instance attribute and the parameter names we pass."""

    module: str
    path: str  # "Class" (its constructor) or "Class.member"
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProtoFields:
    """Fields of one protobuf message that we read or write."""

    module: str
    message: str
    fields: tuple[str, ...]


# The worker settings that connect_to_new_worker passes on to make_temporary_config.
WORKER_CONFIG_PARAMS: Final = (
    "name",
    "heap_size_gb",
    "server",
    "extra_jvm_args",
    "extra_environment_vars",
    "engine",
    "auto_delete_timeout",
    "admin_groups",
    "viewer_groups",
)

USED_API: Final[tuple[ApiMember, ...]] = (
    ApiMember(
        SESSION_MANAGER_MODULE, "SessionManager", ("url", "client_name", "rpc_timeout_seconds")
    ),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.password", ("user", "password")),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.private_key", ("file",)),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.ping"),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.close"),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.controller_client"),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.active_sessions"),
    ApiMember(
        SESSION_MANAGER_MODULE,
        "SessionManager.connect_to_new_worker",
        (
            *WORKER_CONFIG_PARAMS,
            "timeout_seconds",
            "configuration_transformer",
            "session_arguments",
        ),
    ),
    ApiMember(
        SESSION_MANAGER_MODULE,
        "SessionManager.connect_to_persistent_query",
        ("serial", "session_arguments"),
    ),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession.pqinfo"),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession.close"),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession.catalog_table"),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession.historical_table", ("namespace", "table_name")),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession.live_table", ("namespace", "table_name")),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.map_and_version"),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.sub_state"),
    ApiMember(
        CONTROLLER_MODULE,
        "ControllerClient.wait_for_change_from_version",
        ("map_version", "timeout_seconds"),
    ),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.get", ("serial", "timeout_seconds")),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.status_name", ("status",)),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.is_running", ("status",)),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.is_terminal", ("status",)),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.make_temporary_config", WORKER_CONFIG_PARAMS),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.add_query", ("query_config",)),
    ApiMember(
        SCHEDULING_MODULE,
        "GenerateScheduling.generate_continuous_scheduler",
        ("start_time", "time_zone", "restart_daily"),
    ),
    ApiMember(
        SCHEDULING_MODULE,
        "GenerateScheduling.generate_daily_scheduler",
        ("start_time", "stop_time", "time_zone", "business_days", "days"),
    ),
    ApiMember(
        SCHEDULING_MODULE,
        "GenerateScheduling.generate_temporary_scheduler",
        ("queue_name", "auto_delete", "expiration_time_minutes"),
    ),
    ApiMember(SCHEDULING_MODULE, "GenerateScheduling.generate_disabled_scheduler"),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.server_config"),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.modify_query", ("query_config", "do_restart")),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.delete_query", ("serial",)),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.restart_query", ("serials",)),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.stop_query", ("serials",)),
    ApiMember(AUTH_MODULE, "AuthenticationFailedException"),
    ApiMember(PQ_PROTO_MODULE, "PersistentQueryConfigMessage"),
    ApiMember(PQ_PROTO_MODULE, "RestartUsersEnum.Value", ("name",)),
    ApiMember(PQ_PROTO_MODULE, "RestartUsersEnum.Name", ("number",)),
    ApiMember(PQ_PROTO_MODULE, "RestartUsersEnum.keys"),
    # restartQuery / stopQuery with the answer read (ControllerClient's methods drop it).
    ApiMember(
        CONTROLLER_MODULE,
        "ControllerClient._req_with_authentication_retry",
        ("request", "timeout", "method"),
    ),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.channel"),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.rpc_timeout_secs"),
    ApiMember(CONTROLLER_GRPC_MODULE, "ControllerApiStub", ("channel",)),
    ApiMember(CONTROLLER_PROTO_MODULE, "RestartQueryRequest"),
    ApiMember(CONTROLLER_PROTO_MODULE, "StopQueryRequest"),
    # Fault isolation (adapter: open_manager, logged_in, close_manager, _worker).
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.auth_client"),
    ApiMember(AUTH_MODULE, "AuthClient.cookie_deadline_time_millis"),
    ApiMember(AUTH_MODULE, "AuthClient.rpc_timeout_secs"),
    ApiMember(SESSION_MANAGER_MODULE, "DndSession._owned_pq_serial"),
    ApiMember(SESSION_MANAGER_MODULE, "SessionManager.owned_channels"),
    ApiMember(AUTH_MODULE, "AuthClient.close"),
    ApiMember(CONTROLLER_MODULE, "ControllerClient.close"),
)

# Generic protobuf Message methods we call on the messages below.
PROTO_MESSAGE_METHODS: Final = ("CopyFrom", "HasField")

USED_PROTO_FIELDS: Final[tuple[ProtoFields, ...]] = (
    ProtoFields(PQ_PROTO_MODULE, "PersistentQueryInfoMessage", ("config", "state")),
    ProtoFields(
        PQ_PROTO_MODULE,
        "PersistentQueryConfigMessage",
        (
            "serial",
            "version",
            "name",
            "owner",
            "enabled",
            "heapSizeGb",
            "serverName",
            "workerKind",
            "scriptLanguage",
            "configurationType",
            "scriptCode",
            "scriptPath",
            "jvmProfile",
            "extraJvmArguments",
            "extraEnvironmentVariables",
            "classPathAdditions",
            "adminGroups",
            "viewerGroups",
            "scheduling",
            "restartUsers",
            "timeoutNanos",
            "typeSpecificFieldsJson",
            "pythonControl",
        ),
    ),
    ProtoFields(
        PQ_PROTO_MODULE,
        "PersistentQueryStateMessage",
        (
            "status",
            "statusDetails",
            "connectionDetails",
            "exceptionDetails",
            "engineVersion",
            "numFailures",
            "lastUpdateNanos",
        ),
    ),
    ProtoFields(
        PQ_PROTO_MODULE,
        "ProcessorConnectionDetailsMessage",
        ("grpcUrl", "processorHost", "processInfoId"),
    ),
    ProtoFields(COMMON_PROTO_MODULE, "ExceptionDetailsMessage", ("errorMessage",)),
    ProtoFields(
        CONTROLLER_PROTO_MODULE,
        "ControllerConfigurationMessage",
        ("configurationTypes", "defaultTempQueueName"),
    ),
    ProtoFields(CONTROLLER_PROTO_MODULE, "ConsoleConfigurationTypeMessage", ("name", "hasScript")),
    ProtoFields(CONTROLLER_PROTO_MODULE, "RestartQueryRequest", ("serials",)),
    ProtoFields(CONTROLLER_PROTO_MODULE, "StopQueryRequest", ("serials",)),
    ProtoFields(CONTROLLER_PROTO_MODULE, "RestartQueryResponse", ("errorSerials",)),
    ProtoFields(CONTROLLER_PROTO_MODULE, "StopQueryResponse", ("errorSerials",)),
)

# How PqInfo and PqChanges fields map onto PersistentQueryConfigMessage fields: the adapter
# reads them into a PqInfo (_info) and writes a PqChanges' into the message (_apply_changes).
SETTING_FIELDS: Final[tuple[tuple[str, str, Callable[[Any], Any]], ...]] = (
    ("name", "name", str),
    ("heap_size_gb", "heapSizeGb", float),
    ("programming_language", "scriptLanguage", str),
    ("configuration_type", "configurationType", str),
    ("enabled", "enabled", bool),
    ("server", "serverName", str),
    ("engine", "workerKind", str),
    ("jvm_profile", "jvmProfile", str),
)
CHANGE_SCALAR_FIELDS: Final[tuple[tuple[str, str, Callable[[Any], Any]], ...]] = (
    *SETTING_FIELDS,
    ("script_body", "scriptCode", str),  # scriptData is a oneof: this clears scriptPath
)
# Lists: replaced as a whole by a change, read into a PqInfo as tuples.
CHANGE_REPEATED_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("extra_jvm_args", "extraJvmArguments"),
    ("extra_class_path", "classPathAdditions"),
    ("admin_groups", "adminGroups"),
    ("viewer_groups", "viewerGroups"),
)

# In this module, a local variable with one of these names always holds an object of that
# coreplus type; the contract test checks every attribute read on them against USED_API /
# USED_PROTO_FIELDS, so an undeclared use cannot slip in.
HANDLE_TYPES: Final[Mapping[str, tuple[str, str]]] = {
    "sm_module": (SESSION_MANAGER_MODULE, ""),
    "auth_module": (AUTH_MODULE, ""),
    "pq_pb": (PQ_PROTO_MODULE, ""),
    "scheduling_module": (SCHEDULING_MODULE, ""),
    "session_manager": (SESSION_MANAGER_MODULE, "SessionManager"),
    "controller": (CONTROLLER_MODULE, "ControllerClient"),
    "dnd": (SESSION_MANAGER_MODULE, "DndSession"),
    "info": (PQ_PROTO_MODULE, "PersistentQueryInfoMessage"),
    "cfg": (PQ_PROTO_MODULE, "PersistentQueryConfigMessage"),
    "state": (PQ_PROTO_MODULE, "PersistentQueryStateMessage"),
    "details": (PQ_PROTO_MODULE, "ProcessorConnectionDetailsMessage"),
    "failure": (COMMON_PROTO_MODULE, "ExceptionDetailsMessage"),
    "server_config": (CONTROLLER_PROTO_MODULE, "ControllerConfigurationMessage"),
    "config_type": (CONTROLLER_PROTO_MODULE, "ConsoleConfigurationTypeMessage"),
    "controller_pb": (CONTROLLER_PROTO_MODULE, ""),
    "grpc_module": (CONTROLLER_GRPC_MODULE, ""),
    # A RestartQueryRequest or StopQueryRequest (both declared, same fields used) ...
    "query_request": (CONTROLLER_PROTO_MODULE, "RestartQueryRequest"),
    # ... and its answer, a RestartQueryResponse or StopQueryResponse.
    "query_answer": (CONTROLLER_PROTO_MODULE, "RestartQueryResponse"),
    "auth_client": (AUTH_MODULE, "AuthClient"),
}

# State names (without the ``PQS_`` prefix) that the rest of the package reasons about.
PQ_STATE_PREFIX: Final = "PQS_"
KNOWN_PQ_STATES: Final = (
    "UNINITIALIZED",
    "CONNECTING",
    "AUTHENTICATING",
    "ACQUIRING_WORKER",
    "INITIALIZING",
    "RUNNING",
    "FAILED",
    "ERROR",
    "DISCONNECTED",
    "STOPPING",
    "STOPPED",
    "COMPLETED",
    "EXECUTING",
)

# ----------------------------------------------------------------------------------------------
# Lazy import of the optional dependency.
# ----------------------------------------------------------------------------------------------
