"""The plain types and the protocol that separate the enterprise package from coreplus.

Nothing here imports ``deephaven_enterprise``; :mod:`.adapter` implements
:class:`EnterpriseBackend` over it, and the tests implement it with an in-process fake.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Final, Protocol, TextIO

from deephaven_mcp.enterprise.schedule import Schedule

if TYPE_CHECKING:
    # Annotations only: these plain types are needed at start-up, the client libraries not.
    import pyarrow as pa
    from pydeephaven import Session
    from pydeephaven.table import Table

# ----------------------------------------------------------------------------------------------
# Plain data crossing the boundary.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ManagerHandle:
    """An authenticated connection to one system (a coreplus SessionManager, for real)."""

    native: object
    url: str


@dataclass(frozen=True)
class PqInfo:
    """One persistent query as seen in the controller's subscription map."""

    serial: int
    name: str
    state: str  # e.g. "RUNNING", without the PQS_ prefix
    is_running: bool
    is_terminal: bool
    owner: str = ""
    enabled: bool = True
    heap_size_gb: float = 0.0
    server: str = ""
    engine: str = ""
    programming_language: str = ""
    configuration_type: str = ""
    config_version: int = 0
    worker_host: str | None = None
    worker_port: int | None = None
    process_info_id: str | None = None
    engine_version: str | None = None
    status_details: str | None = None
    exception_message: str | None = None
    num_failures: int = 0
    last_update_nanos: int = 0
    jvm_profile: str = ""
    script_path: str | None = None
    script_code: str | None = None
    extra_jvm_args: tuple[str, ...] = ()
    extra_environment_vars: Environment = ()
    extra_class_path: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()
    viewer_groups: tuple[str, ...] = ()
    schedule: tuple[str, ...] = ()
    restart_users: str = ""
    init_timeout_nanos: int = 0
    auto_delete_timeout: int | None = None
    python_control: str = ""


@dataclass(frozen=True)
class PqSnapshot:
    """The whole map at one version (the version increases whenever the map changes)."""

    version: int
    queries: tuple[PqInfo, ...]


Environment = tuple[tuple[str, str], ...]
"""Environment variables as (name, value) pairs, in order."""


def environment_to_wire(pairs: Environment) -> list[str]:
    """The protobuf's form: alternating entries, name then value (``extraEnvironmentVariables``)."""
    return [item for pair in pairs for item in pair]


def environment_from_wire(entries: Sequence[str]) -> Environment:
    """Alternating name/value entries back into pairs; a dangling name gets an empty value."""
    items = list(entries)
    if len(items) % 2:
        items.append("")
    return tuple((items[i], items[i + 1]) for i in range(0, len(items), 2))


@dataclass(frozen=True)
class PqSpec:
    """What a new worker or persistent query looks like; ``None`` means the API default.

    A worker (``session_enterprise_create``) uses the launch fields only; a persistent query
    (``pq_create``) also the query fields below them.
    """

    name: str
    heap_size_gb: float
    programming_language: str | None = None
    auto_delete_timeout: int | None = None
    server: str | None = None
    engine: str | None = None
    extra_jvm_args: tuple[str, ...] | None = None
    extra_environment_vars: Environment | None = None
    admin_groups: tuple[str, ...] | None = None
    viewer_groups: tuple[str, ...] | None = None
    # Query fields (pq_create).
    configuration_type: str | None = None
    script_code: str | None = None
    enabled: bool | None = None
    schedule: Schedule | None = None
    jvm_profile: str | None = None
    extra_class_path: tuple[str, ...] | None = None
    python_control: str | None = None  # JSON text (see _params.python_control)
    init_timeout_seconds: float | None = None
    restart_users: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class NewWorker:
    """A worker to start (``create_worker``): what it looks like, how long starting it may
    take (None: the client's default) and the arguments of the session opened to it."""

    spec: PqSpec
    timeout_seconds: float | None = None
    session_arguments: Mapping[str, object] | None = None


@dataclass(frozen=True)
class ConfigurationType:
    """A persistent-query type the controller offers (``Script``, ``RunAndDone``, ...)."""

    name: str
    has_script: bool


@dataclass(frozen=True)
class PqChanges:
    """Changes to an existing query; only non-None fields are applied (lists replace).

    ``script_path`` names a file on the MCP server's machine; it is read into
    ``script_body`` before the controller sees the change."""

    name: str | None = None
    heap_size_gb: float | None = None
    script_body: str | None = None
    script_path: str | None = None
    programming_language: str | None = None
    configuration_type: str | None = None
    enabled: bool | None = None
    schedule: Schedule | None = None
    server: str | None = None
    engine: str | None = None
    jvm_profile: str | None = None
    extra_jvm_args: tuple[str, ...] | None = None
    extra_class_path: tuple[str, ...] | None = None
    python_virtual_environment: str | None = None  # JSON text (see _params.python_control)
    extra_environment_vars: Environment | None = None
    init_timeout_seconds: float | None = None
    auto_delete_timeout: int | None = None
    admin_groups: tuple[str, ...] | None = None
    viewer_groups: tuple[str, ...] | None = None
    restart_users: str | None = None

    def is_empty(self) -> bool:
        """Whether no field is set: nothing to change."""
        return all(getattr(self, item.name) is None for item in fields(self))


@dataclass
class WorkerSession:
    """A pydeephaven-compatible session to an enterprise worker (a DndSession for real)."""

    session: Session
    serial: int
    name: str
    programming_language: str
    owns_query: bool
    process_info_id: str | None = None


class EnterpriseBackend(Protocol):
    """The narrow, blocking surface the enterprise package needs from a Core+ client."""

    def open_manager(
        self, connection_json_url: str, rpc_timeout_seconds: int, connect_timeout_seconds: int
    ) -> ManagerHandle:
        """Fetch connection.json and open the auth and controller channels (no login yet).

        The connect timeout bounds opening, the auth server's calls (login, tokens, cookie
        refreshes) and so connecting to workers; the RPC timeout bounds controller calls.
        """
        ...

    def login_password(self, manager: ManagerHandle, username: str, password: str) -> None:
        """Log in with a user name and password (raises the client's error if refused)."""
        ...

    def login_private_key(self, manager: ManagerHandle, private_key_path: str) -> None:
        """Log in with the private key file at ``private_key_path``."""
        ...

    def ping(self, manager: ManagerHandle) -> bool:
        """True if the auth server and the controller answered; False if logged out."""
        ...

    def subscribed(self, manager: ManagerHandle) -> bool:
        """Whether the controller subscription is up (a stuck re-subscription still pings)."""
        ...

    def logged_in(self, manager: ManagerHandle) -> bool:
        """Whether the login has not expired, as far as the client knows (local, no RPC)."""
        ...

    def close_manager(self, manager: ManagerHandle) -> None:
        """Log out and close the channels; worker sessions made through it stay open."""
        ...

    def pq_snapshot(self, manager: ManagerHandle) -> PqSnapshot:
        """The controller subscription map: local, no RPC."""
        ...

    def pq_get(self, manager: ManagerHandle, serial: int, timeout_seconds: float) -> PqInfo | None:
        """One query, waiting up to ``timeout_seconds`` for it to appear in the map."""
        ...

    def wait_for_change(self, manager: ManagerHandle, version: int, timeout_seconds: float) -> bool:
        """Block until the map version moves past ``version``; False on timeout."""
        ...

    def create_worker(self, manager: ManagerHandle, worker: NewWorker) -> WorkerSession:
        """Start a temporary query and connect to it. The session is ours alone: closing the
        manager closes neither it nor the query (delete that with ``delete_query``)."""
        ...

    def connect_to_pq(
        self, manager: ManagerHandle, serial: int, session_arguments: Mapping[str, object] | None
    ) -> WorkerSession:
        """Connect to a RUNNING query; the session outlives the manager, as above."""
        ...

    def close_worker(self, worker: WorkerSession) -> None:
        """Close the session; the query stays (even a worker we created)."""
        ...

    def add_query(self, manager: ManagerHandle, spec: PqSpec) -> int:
        """Create a persistent query from ``spec``; its serial."""
        ...

    def configuration_types(self, manager: ManagerHandle) -> tuple[ConfigurationType, ...]:
        """The query types the controller offers (empty when it did not say)."""
        ...

    def modify_query(
        self, manager: ManagerHandle, serial: int, changes: PqChanges, restart: bool
    ) -> None:
        """Apply ``changes`` to the query's current config; ``restart`` runs it anew."""
        ...

    def delete_query(self, manager: ManagerHandle, serial: int) -> None:
        """Delete the query (the controller stops it first)."""
        ...

    def start_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Ask the controller to (re)start the query: None once it accepted, else its
        refusal of this query (``errorSerials``); raises if the call itself fails."""
        ...

    def stop_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Ask the controller to stop the query; answers like :meth:`start_query`."""
        ...

    def restart_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Ask the controller to restart the query; answers like :meth:`start_query`."""
        ...

    def catalog_table(self, session: Session) -> Table:
        """The worker's catalog: one row per table it can read (Namespace, TableName, ...)."""
        ...

    def historical_table(self, session: Session, namespace: str, table_name: str) -> Table:
        """A historical (on-disk) table; raises DHError when there is none."""
        ...

    def live_table(self, session: Session, namespace: str, table_name: str) -> Table:
        """A live (intraday) table; raises DHError when there is none."""
        ...

    def table_meta(self, table: Table) -> pa.Table:
        """Column metadata of a table (Name, DataType, IsPartitioning, ...)."""
        ...


# ----------------------------------------------------------------------------------------------
# Helpers.
# ----------------------------------------------------------------------------------------------

_stdout_lock = threading.Lock()
_stdout_depth = 0
_saved_stdout: TextIO | None = None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send stdout to stderr meanwhile: coreplus ``print``s progress, and stdout carries the
    MCP stdio protocol."""
    global _stdout_depth, _saved_stdout
    with _stdout_lock:
        if _stdout_depth == 0:
            _saved_stdout = sys.stdout
            sys.stdout = sys.stderr
        _stdout_depth += 1
    try:
        yield
    finally:
        with _stdout_lock:
            _stdout_depth -= 1
            if _stdout_depth == 0 and _saved_stdout is not None:
                sys.stdout = _saved_stdout
                _saved_stdout = None


def parse_grpc_url(url: str) -> tuple[str | None, int | None]:
    """Host and port of a worker's gRPC URL, with the scheme's default port like coreplus."""
    if not url:
        return None, None
    parsed = urllib.parse.urlparse(url)
    port = parsed.port
    if port is None:
        port = {"https": 443, "http": 80}.get(parsed.scheme)
    return parsed.hostname, port


def encode_auto_delete(type_specific_json: str, auto_delete_timeout: int) -> str:
    """Set TerminationDelay (ms) in typeSpecificFieldsJson the way make_temporary_config does."""
    try:
        current = json.loads(type_specific_json) if type_specific_json else {}
    except ValueError:
        current = {}
    if not isinstance(current, dict):
        current = {}
    current["TerminationDelay"] = {"type": "long", "value": str(auto_delete_timeout * 1000)}
    return json.dumps(current)


TEMPORARY_SCHEDULER: Final = "com.illumon.iris.controller.IrisQuerySchedulerTemporary"


def scheduler_type(scheduling: Sequence[str]) -> str:
    """The ``SchedulerType=...`` of a scheduling array ('' when absent)."""
    for entry in scheduling:
        key, _, value = entry.partition("=")
        if key == "SchedulerType":
            return value
    return ""


def with_auto_delete(scheduling: Sequence[str]) -> list[str]:
    """A temporary query's scheduling, marked to delete itself (TemporaryAutoDelete=true)."""
    kept = [entry for entry in scheduling if not entry.startswith("TemporaryAutoDelete=")]
    return [*kept, "TemporaryAutoDelete=true"]


def decode_auto_delete(type_specific_json: str) -> int | None:
    """Seconds of TerminationDelay in typeSpecificFieldsJson, if present."""
    try:
        value = json.loads(type_specific_json)["TerminationDelay"]["value"]
        return int(value) // 1000
    except (ValueError, KeyError, TypeError):
        return None
