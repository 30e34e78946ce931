"""The one module that talks to ``deephaven-coreplus-client`` (package ``deephaven_enterprise``).

The rest of :mod:`deephaven_mcp.enterprise` goes through the ``EnterpriseBackend`` protocol of
:mod:`.backend`, whose methods are blocking and exchange plain dataclasses, never protobufs.
The coreplus package is imported lazily, so ``deephaven_mcp`` imports fine without the
``[enterprise]`` extra and only a real enterprise call reports the missing dependency.

Every coreplus class, method, parameter and protobuf field used below is declared once in
:mod:`._coreplus_api`; a contract test checks those declarations against the installed client
and checks that this module uses nothing undeclared.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

import pyarrow as pa
from pydeephaven import Session
from pydeephaven.table import Table

from deephaven_mcp.clients.finalizers import defer_pydeephaven_finalizers
from deephaven_mcp.enterprise._coreplus_api import (
    AUTH_MODULE,
    CHANGE_REPEATED_FIELDS,
    CHANGE_SCALAR_FIELDS,
    CONTROLLER_GRPC_MODULE,
    CONTROLLER_MODULE,
    CONTROLLER_PROTO_MODULE,
    PQ_PROTO_MODULE,
    PQ_STATE_PREFIX,
    SCHEDULING_MODULE,
    SESSION_MANAGER_MODULE,
    SETTING_FIELDS,
)
from deephaven_mcp.enterprise._params import DEFAULT_CONFIGURATION_TYPE
from deephaven_mcp.enterprise.backend import (
    TEMPORARY_SCHEDULER,
    ConfigurationType,
    ManagerHandle,
    NewWorker,
    PqChanges,
    PqInfo,
    PqSnapshot,
    PqSpec,
    WorkerSession,
    decode_auto_delete,
    encode_auto_delete,
    environment_from_wire,
    environment_to_wire,
    parse_grpc_url,
    scheduler_type,
    stdout_to_stderr,
    with_auto_delete,
)
from deephaven_mcp.enterprise.schedule import (
    CONTINUOUS,
    DEFAULT_EXPIRATION_MINUTES,
    Schedule,
)
from deephaven_mcp.errors import DependencyMissingError, InvalidArgumentError

_log = logging.getLogger(__name__)

# Enterprise sessions are pydeephaven sessions made here: their finalizers must be safe too.
defer_pydeephaven_finalizers()

INSTALL_HINT: Final = (
    "Deephaven Enterprise support is not installed: install deephaven-mcp[enterprise] "
    "(it provides the deephaven-coreplus-client package)."
)
CLIENT_NAME: Final = "deephaven-mcp"
CONTINUOUS_START_TIME: Final = "00:00:00"
DEFAULT_TEMPORARY_QUEUE: Final = "DefaultTemporaryQueue"  # generate_temporary_scheduler's


def _import_module(name: str) -> ModuleType:
    """Import hook (tests replace it to simulate a missing extra)."""
    return importlib.import_module(name)


@dataclass(frozen=True)
class _Coreplus:
    session_manager: ModuleType
    controller: ModuleType
    auth: ModuleType
    pq_pb: ModuleType
    scheduling: ModuleType


def _coreplus() -> _Coreplus:
    try:
        return _Coreplus(
            session_manager=_import_module(SESSION_MANAGER_MODULE),
            controller=_import_module(CONTROLLER_MODULE),
            auth=_import_module(AUTH_MODULE),
            pq_pb=_import_module(PQ_PROTO_MODULE),
            scheduling=_import_module(SCHEDULING_MODULE),
        )
    except ImportError as exc:
        raise DependencyMissingError(INSTALL_HINT) from exc


def coreplus_available() -> bool:
    """Whether the ``[enterprise]`` extra is importable."""
    try:
        _coreplus()
    except DependencyMissingError:
        return False
    return True


def auth_failure_types() -> tuple[type[BaseException], ...]:
    """The exception classes coreplus raises when the server rejects credentials."""
    try:
        auth_module = _coreplus().auth
    except DependencyMissingError:
        return ()
    failure_type: type[BaseException] = auth_module.AuthenticationFailedException
    return (failure_type,)


def _none_if_empty(value: str) -> str | None:
    return value or None


def _optional_kwargs(spec: PqSpec) -> dict[str, Any]:
    """Only the arguments the caller set, so coreplus applies its own defaults otherwise."""
    kwargs: dict[str, Any] = {}
    for name in ("server", "engine", "auto_delete_timeout"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[name] = value
    for name in ("extra_jvm_args", "admin_groups", "viewer_groups"):
        value = getattr(spec, name)
        if value is not None:
            kwargs[name] = list(value)
    if spec.extra_environment_vars is not None:
        kwargs["extra_environment_vars"] = environment_to_wire(spec.extra_environment_vars)
    return kwargs


# ----------------------------------------------------------------------------------------------
# The real implementation over coreplus.
# ----------------------------------------------------------------------------------------------


class CoreplusBackend:
    """:class:`EnterpriseBackend` over the installed ``deephaven-coreplus-client``."""

    def __init__(self) -> None:
        self._snapshots: dict[int, PqSnapshot] = {}
        self._snapshots_lock = threading.Lock()

    @staticmethod
    def _manager(handle: ManagerHandle) -> Any:
        return handle.native

    def _dnd(self, session: Session) -> Any:
        sm_module = _coreplus().session_manager
        if not isinstance(session, sm_module.DndSession):
            raise InvalidArgumentError("This operation needs an Enterprise (Core+) session.")
        return session

    def open_manager(
        self, connection_json_url: str, rpc_timeout_seconds: int, connect_timeout_seconds: int
    ) -> ManagerHandle:
        """A SessionManager for the system (connection.json fetched, channels open, no login)."""
        sm_module = _coreplus().session_manager
        # Built with the connect timeout, which the auth client keeps for life: it bounds the
        # pings of both constructors (they wait for a server that is down, so a failed open
        # ends when its caller gives up), the login, cookie refreshes and the token retries of
        # AuthClient.retry_with_token, which is the whole budget SessionManager.__make_session
        # gives to connecting to a worker. The controller's calls get the RPC timeout.
        with stdout_to_stderr():
            session_manager = sm_module.SessionManager(
                url=connection_json_url,
                client_name=CLIENT_NAME,
                rpc_timeout_seconds=connect_timeout_seconds,
            )
        controller = session_manager.controller_client
        controller.rpc_timeout_secs = rpc_timeout_seconds
        return ManagerHandle(native=session_manager, url=connection_json_url)

    def login_password(self, manager: ManagerHandle, username: str, password: str) -> None:
        """SessionManager.password: log in as ``username``."""
        session_manager = self._manager(manager)
        session_manager.password(user=username, password=password)

    def login_private_key(self, manager: ManagerHandle, private_key_path: str) -> None:
        """SessionManager.private_key: log in with the key file."""
        session_manager = self._manager(manager)
        session_manager.private_key(file=private_key_path)

    def ping(self, manager: ManagerHandle) -> bool:
        """SessionManager.ping: whether the auth server and the controller answer."""
        session_manager = self._manager(manager)
        return bool(session_manager.ping())

    def subscribed(self, manager: ManagerHandle) -> bool:
        """Whether the controller client is SUBSCRIBED to the query map."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        return bool(controller.sub_state.name == "SUBSCRIBED")

    def logged_in(self, manager: ManagerHandle) -> bool:
        """Whether the auth cookie is still within its deadline (local, no RPC)."""
        # AuthClient keeps the deadline the auth server gave its cookie and moves it on each
        # refresh; once it has passed (the refresh thread died, e.g. on a refresh that failed
        # or a cookie lifetime shorter than its 120 s head start), no token can be had.
        session_manager = self._manager(manager)
        auth_client = session_manager.auth_client
        deadline = auth_client.cookie_deadline_time_millis
        return deadline is not None and deadline > time.time() * 1000

    def close_manager(self, manager: ManagerHandle) -> None:
        """Close the manager step by step, so one failed logout does not stop the rest."""
        with self._snapshots_lock:
            self._snapshots.pop(id(manager), None)
        session_manager = self._manager(manager)
        # Logging out waits for a controller that may be down (invalidateCookie with
        # wait_for_ready): give it no longer than the auth client, whose timeout is the
        # connect timeout (see open_manager).
        auth_client = session_manager.auth_client
        controller = session_manager.controller_client
        controller.rpc_timeout_secs = auth_client.rpc_timeout_secs
        # SessionManager.close() closes the active sessions, logs out of the auth server, then
        # of the controller, then closes the channels, and stops at the first failure: after
        # an auth server that did not answer, the controller login, its ping thread and its
        # re-subscription loop would live on. So each step is taken here on its own, the
        # controller first. (Our worker sessions are not among the active sessions: see
        # _worker.) Each logout clears its cookie before its RPC, which stops the client's
        # threads even if the RPC fails; only a ping already under way then fails in its
        # thread (ControllerClient's _RefreshThread raises what it cannot retry).
        while session_manager.active_sessions:
            dnd = session_manager.active_sessions.pop()
            try:
                dnd.close()
            except Exception as exc:
                _log.debug("closing an enterprise worker session failed: %s", exc)
        steps = [controller.close, auth_client.close]
        steps += [channel.close for channel in session_manager.owned_channels]
        for step in steps:
            try:
                with stdout_to_stderr():
                    step()
            except Exception as exc:
                _log.debug("logging out of an enterprise system failed: %s", exc)
        # SessionManager() registers its close() with atexit, which would keep every manager
        # a long-lived server ever replaced in memory until it exits.
        atexit.unregister(session_manager.close)

    def _info(self, controller: Any, info: Any) -> PqInfo:
        cfg = info.config
        has_state = info.HasField("state")
        state = info.state
        details = state.connectionDetails
        failure = state.exceptionDetails
        host, port = parse_grpc_url(details.grpcUrl)
        status = state.status
        status_name = str(controller.status_name(status)) if has_state else "PQS_UNINITIALIZED"
        pq_pb = _coreplus().pq_pb
        try:
            restart_users = str(pq_pb.RestartUsersEnum.Name(cfg.restartUsers))
        except ValueError:
            restart_users = str(cfg.restartUsers)
        # The settings a change can write, read back through the same field map.
        settings: dict[str, Any] = {
            attribute: convert(getattr(cfg, field_name))
            for attribute, field_name, convert in SETTING_FIELDS
        }
        settings.update(
            (attribute, tuple(getattr(cfg, field_name)))
            for attribute, field_name in CHANGE_REPEATED_FIELDS
        )
        return PqInfo(
            serial=int(cfg.serial),
            state=status_name.removeprefix(PQ_STATE_PREFIX),
            is_running=has_state and bool(controller.is_running(status)),
            is_terminal=has_state and bool(controller.is_terminal(status)),
            owner=str(cfg.owner),
            config_version=int(cfg.version),
            worker_host=host or _none_if_empty(str(details.processorHost)),
            worker_port=port,
            process_info_id=_none_if_empty(str(details.processInfoId)),
            engine_version=_none_if_empty(str(state.engineVersion)),
            status_details=_none_if_empty(str(state.statusDetails)),
            exception_message=_none_if_empty(str(failure.errorMessage)),
            num_failures=int(state.numFailures),
            last_update_nanos=int(state.lastUpdateNanos),
            script_path=_none_if_empty(str(cfg.scriptPath)),
            script_code=_none_if_empty(str(cfg.scriptCode)),
            extra_environment_vars=environment_from_wire(cfg.extraEnvironmentVariables),
            schedule=tuple(cfg.scheduling),
            restart_users=restart_users,
            init_timeout_nanos=int(cfg.timeoutNanos),
            auto_delete_timeout=decode_auto_delete(str(cfg.typeSpecificFieldsJson)),
            python_control=str(cfg.pythonControl),
            **settings,
        )

    def pq_snapshot(self, manager: ManagerHandle) -> PqSnapshot:
        """The subscription map as PqInfos, converted once per map version."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        queries, version = controller.map_and_version()
        with self._snapshots_lock:
            cached = self._snapshots.get(id(manager))
        if cached is not None and cached.version == version:
            return cached
        snapshot = PqSnapshot(
            version=int(version),
            queries=tuple(self._info(controller, info) for info in queries.values()),
        )
        with self._snapshots_lock:
            self._snapshots[id(manager)] = snapshot
        return snapshot

    def pq_get(self, manager: ManagerHandle, serial: int, timeout_seconds: float) -> PqInfo | None:
        """ControllerClient.get, waiting for the serial to appear; None if it never does."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        try:
            info = controller.get(serial=serial, timeout_seconds=timeout_seconds)
        except KeyError:
            return None
        return self._info(controller, info)

    def wait_for_change(self, manager: ManagerHandle, version: int, timeout_seconds: float) -> bool:
        """ControllerClient.wait_for_change_from_version: False on timeout."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        return bool(
            controller.wait_for_change_from_version(
                map_version=version, timeout_seconds=timeout_seconds
            )
        )

    def _worker(self, session_manager: Any, dnd: Any, owns_query: bool) -> WorkerSession:
        """A new worker session, made ours alone.

        coreplus ties a DndSession to its SessionManager: SessionManager.__make_session
        appends it to SessionManager.active_sessions and, for connect_to_new_worker, sets
        DndSession._owned_pq_serial; SessionManager.close() pops and closes every active
        session, and DndSession.close() (run by pydeephaven's Session.__del__ too) deletes
        the owned query through session_manager.controller_client.delete_query. So closing a
        SessionManager whose controller was lost would delete the workers the agent created
        and close sessions that tool calls are still using. Taken out of both, the session
        depends on its manager no more (it talks to the worker alone): a new manager takes
        over, the session is closed only by us, once idle, and a worker's query is deleted
        only when we say so (EnterpriseConnection.retire_worker).
        """
        with contextlib.suppress(ValueError):  # already closed by a racing close_manager
            session_manager.active_sessions.remove(dnd)
        dnd._owned_pq_serial = None
        info = dnd.pqinfo()
        cfg = info.config
        state = info.state
        details = state.connectionDetails
        return WorkerSession(
            session=dnd,
            serial=int(cfg.serial),
            name=str(cfg.name),
            programming_language=str(cfg.scriptLanguage) or "Python",
            owns_query=owns_query,
            process_info_id=_none_if_empty(str(details.processInfoId)),
        )

    def create_worker(self, manager: ManagerHandle, worker: NewWorker) -> WorkerSession:
        """Start a worker (connect_to_new_worker, given settings only); ours alone, see _worker."""
        session_manager = self._manager(manager)
        spec = worker.spec
        kwargs = _optional_kwargs(spec)
        if worker.timeout_seconds is not None:
            kwargs["timeout_seconds"] = worker.timeout_seconds
        if worker.session_arguments is not None:
            kwargs["session_arguments"] = dict(worker.session_arguments)
        language = spec.programming_language

        def set_language(cfg: Any) -> Any:
            if language is not None:
                cfg.scriptLanguage = language
            return cfg

        with stdout_to_stderr():
            dnd = session_manager.connect_to_new_worker(
                name=spec.name,
                heap_size_gb=spec.heap_size_gb,
                configuration_transformer=set_language,
                **kwargs,
            )
        return self._worker(session_manager, dnd, owns_query=True)

    def connect_to_pq(
        self, manager: ManagerHandle, serial: int, session_arguments: Mapping[str, object] | None
    ) -> WorkerSession:
        """Connect to a running query (connect_to_persistent_query); ours alone, see _worker."""
        session_manager = self._manager(manager)
        arguments = dict(session_arguments) if session_arguments is not None else None
        with stdout_to_stderr():
            dnd = session_manager.connect_to_persistent_query(
                serial=serial, session_arguments=arguments
            )
        return self._worker(session_manager, dnd, owns_query=False)

    def close_worker(self, worker: WorkerSession) -> None:
        """Close the DndSession; the query stays (nothing is owned, see _worker)."""
        dnd = self._dnd(worker.session)
        dnd.close()  # its query stays: nothing is owned (see _worker)

    def add_query(self, manager: ManagerHandle, spec: PqSpec) -> int:
        """A persistent query of ``spec.configuration_type`` that runs ``spec.script_code``.

        make_temporary_config builds the parts of a valid config we do not choose (serial
        placeholder, owner, server, buffer ratio, GC logging, restart users, JVM profile,
        engine); it is written for console workers (``InteractiveConsole``, empty script, a
        temporary scheduler), so the query fields are then set from ``spec``: the type and
        script, ``enabled`` and the schedule (see :func:`_scheduling`). Only a temporary
        schedule with ``auto_delete_timeout`` keeps make_temporary_config's
        ``TerminationDelay``.
        """
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        schedule = spec.schedule or CONTINUOUS
        kwargs = _optional_kwargs(spec)
        temporary_delete = schedule.auto_delete_timeout if schedule.type == "temporary" else None
        kwargs["auto_delete_timeout"] = temporary_delete  # None: no TerminationDelay
        cfg = controller.make_temporary_config(
            name=spec.name, heap_size_gb=spec.heap_size_gb, **kwargs
        )
        cfg.configurationType = spec.configuration_type or DEFAULT_CONFIGURATION_TYPE
        cfg.scriptCode = spec.script_code or ""
        cfg.enabled = True if spec.enabled is None else spec.enabled
        del cfg.scheduling[:]
        cfg.scheduling.extend(_scheduling(controller, schedule))
        if spec.programming_language is not None:
            cfg.scriptLanguage = spec.programming_language
        if spec.jvm_profile is not None:
            cfg.jvmProfile = spec.jvm_profile
        if spec.extra_class_path is not None:
            cfg.classPathAdditions.extend(spec.extra_class_path)
        if spec.python_control is not None:
            cfg.pythonControl = spec.python_control  # JSON text, checked upstream
        if spec.init_timeout_seconds is not None:
            cfg.timeoutNanos = _nanos(spec.init_timeout_seconds)
        if spec.restart_users is not None:
            cfg.restartUsers = _restart_users(_coreplus().pq_pb, spec.restart_users)
        if spec.owner is not None:
            cfg.owner = spec.owner
        return int(controller.add_query(query_config=cfg))

    def configuration_types(self, manager: ManagerHandle) -> tuple[ConfigurationType, ...]:
        """The query types in the controller's server_config (empty when it has none)."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        server_config = controller.server_config
        if server_config is None:
            return ()
        return tuple(
            ConfigurationType(name=str(config_type.name), has_script=bool(config_type.hasScript))
            for config_type in server_config.configurationTypes
        )

    def modify_query(
        self, manager: ManagerHandle, serial: int, changes: PqChanges, restart: bool
    ) -> None:
        """ControllerClient.modify_query of the current config with ``changes`` merged in."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        pq_pb = _coreplus().pq_pb
        info = controller.get(serial=serial, timeout_seconds=0)
        cfg = pq_pb.PersistentQueryConfigMessage()
        cfg.CopyFrom(info.config)
        _apply_changes(controller, cfg, changes)
        controller.modify_query(query_config=cfg, do_restart=restart)

    def delete_query(self, manager: ManagerHandle, serial: int) -> None:
        """ControllerClient.delete_query."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        controller.delete_query(serial=serial)

    # Not ControllerClient.restart_query / stop_query: they drop the controller's answer,
    # whose errorSerials is how it refuses one query (restartUsers permissions, an unknown
    # serial) while the call itself succeeds. The same RPC on the client's own channel,
    # through its own retry (which refreshes the cookie), with the answer read. Nor
    # start_and_wait / stop_and_wait: they end in AttributeError on a timeout and cannot
    # tell a refusal from a slow start. The waiting is ours, on the subscription map.
    def _query_call(self, manager: ManagerHandle, serial: int, stop: bool) -> str | None:
        """Send restartQuery or stopQuery for one serial; the controller's refusal, if any."""
        session_manager = self._manager(manager)
        controller = session_manager.controller_client
        controller_pb = _import_module(CONTROLLER_PROTO_MODULE)
        grpc_module = _import_module(CONTROLLER_GRPC_MODULE)
        api = grpc_module.ControllerApiStub(controller.channel)
        if stop:
            query_request = controller_pb.StopQueryRequest()
            rpc = api.stopQuery
        else:
            query_request = controller_pb.RestartQueryRequest()
            rpc = api.restartQuery
        query_request.serials.append(serial)
        query_answer = controller._req_with_authentication_retry(
            query_request,
            controller.rpc_timeout_secs,
            lambda timeout: rpc(query_request, timeout, wait_for_ready=True),
        )
        refusal = query_answer.errorSerials.get(serial)
        return None if refusal is None else str(refusal)

    def start_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Send restartQuery, which also starts a stopped query; the refusal, if any."""
        return self._query_call(manager, serial, stop=False)

    def stop_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Send stopQuery; the controller's refusal, if any."""
        return self._query_call(manager, serial, stop=True)

    def restart_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Send restartQuery; the controller's refusal, if any."""
        return self._query_call(manager, serial, stop=False)

    def catalog_table(self, session: Session) -> Table:
        """DndSession.catalog_table."""
        dnd = self._dnd(session)
        table: Table = dnd.catalog_table()
        return table

    def historical_table(self, session: Session, namespace: str, table_name: str) -> Table:
        """DndSession.historical_table."""
        dnd = self._dnd(session)
        table: Table = dnd.historical_table(namespace=namespace, table_name=table_name)
        return table

    def live_table(self, session: Session, namespace: str, table_name: str) -> Table:
        """DndSession.live_table."""
        dnd = self._dnd(session)
        table: Table = dnd.live_table(namespace=namespace, table_name=table_name)
        return table

    def table_meta(self, table: Table) -> pa.Table:
        """The table's meta table as Arrow, the server-side table closed at once."""
        meta_table = table.meta_table
        try:
            meta: pa.Table = meta_table.to_arrow()
        finally:
            meta_table.close()  # never leave a live table to the garbage collector
        return meta


def restart_users_names() -> tuple[str, ...]:
    """Valid ``restart_users`` values, from the installed protobuf enum."""
    pq_pb = _coreplus().pq_pb
    return tuple(str(name) for name in pq_pb.RestartUsersEnum.keys())  # noqa: SIM118 (EnumTypeWrapper)


def _nanos(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _restart_users(pq_pb: ModuleType, name: str) -> int:
    try:
        return int(pq_pb.RestartUsersEnum.Value(name))
    except ValueError:
        valid = ", ".join(str(item) for item in pq_pb.RestartUsersEnum.keys())  # noqa: SIM118 (EnumTypeWrapper)
        raise InvalidArgumentError(
            f"restart_users must be one of: {valid} (got {name!r})"
        ) from None


def _scheduling(controller: Any, schedule: Schedule) -> list[str]:
    """``schedule`` as the controller's ``Key=Value`` entries, written by coreplus's own
    generators (``generate_scheduling.GenerateScheduling``), so they are what the web UI and
    the controller expect. A temporary query goes to the controller's default temporary
    queue, as make_temporary_config's console workers go to theirs."""
    scheduling_module = _coreplus().scheduling
    generate = scheduling_module.GenerateScheduling
    if schedule.type == "continuous":
        entries = generate.generate_continuous_scheduler(
            start_time=schedule.start_time or CONTINUOUS_START_TIME,
            time_zone=schedule.zone,
            restart_daily=bool(schedule.restart_daily),
        )
    elif schedule.type == "daily":
        entries = generate.generate_daily_scheduler(
            start_time=schedule.start_time,
            stop_time=schedule.stop_time,
            time_zone=schedule.zone,
            business_days=bool(schedule.business_days),
            days=schedule.day_flags,
        )
    elif schedule.type == "temporary":
        server_config = controller.server_config
        queue = str(server_config.defaultTempQueueName) if server_config is not None else ""
        entries = generate.generate_temporary_scheduler(
            queue_name=queue or DEFAULT_TEMPORARY_QUEUE,
            auto_delete=schedule.auto_delete_timeout is not None,
            expiration_time_minutes=schedule.expiration_minutes or DEFAULT_EXPIRATION_MINUTES,
        )
    else:
        entries = generate.generate_disabled_scheduler()
    return [str(entry) for entry in entries]


def _set_auto_delete(cfg: Any, seconds: int) -> None:
    """Idle seconds before a temporary query deletes itself (0: when its client goes away).

    A permanent query has no such setting: changing it would take a new schedule, which is
    the caller's decision (``schedule``), not a side effect of this field.
    """
    kind = scheduler_type(list(cfg.scheduling))
    if kind != TEMPORARY_SCHEDULER:
        raise InvalidArgumentError(
            "auto_delete_timeout applies only to temporary queries; this one has the "
            f"{kind.rsplit('.', 1)[-1] or 'default'} schedule"
        )
    cfg.typeSpecificFieldsJson = encode_auto_delete(str(cfg.typeSpecificFieldsJson), seconds)
    scheduling = with_auto_delete(list(cfg.scheduling))
    del cfg.scheduling[:]
    cfg.scheduling.extend(scheduling)


def _apply_changes(controller: Any, cfg: Any, changes: PqChanges) -> None:
    """Merge ``changes`` into a copy of the current config message."""
    for attribute, field_name, convert in CHANGE_SCALAR_FIELDS:
        value = getattr(changes, attribute)
        if value is not None:
            setattr(cfg, field_name, convert(value))
    for attribute, field_name in CHANGE_REPEATED_FIELDS:
        values = getattr(changes, attribute)
        if values is not None:
            container = getattr(cfg, field_name)
            del container[:]
            container.extend(values)
    if changes.schedule is not None:
        del cfg.scheduling[:]
        cfg.scheduling.extend(_scheduling(controller, changes.schedule))
        if changes.schedule.auto_delete_timeout is not None:
            cfg.typeSpecificFieldsJson = encode_auto_delete(
                str(cfg.typeSpecificFieldsJson), changes.schedule.auto_delete_timeout
            )
    if changes.init_timeout_seconds is not None:
        cfg.timeoutNanos = _nanos(changes.init_timeout_seconds)
    if changes.extra_environment_vars is not None:
        del cfg.extraEnvironmentVariables[:]
        cfg.extraEnvironmentVariables.extend(environment_to_wire(changes.extra_environment_vars))
    if changes.python_virtual_environment is not None:
        cfg.pythonControl = changes.python_virtual_environment  # JSON text, checked upstream
    if changes.auto_delete_timeout is not None:
        _set_auto_delete(cfg, changes.auto_delete_timeout)
    if changes.restart_users is not None:
        cfg.restartUsers = _restart_users(_coreplus().pq_pb, changes.restart_users)
