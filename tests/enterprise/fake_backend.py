"""An in-process :class:`EnterpriseBackend` over a real Deephaven Community worker.

No Enterprise server is reachable in tests, so this fake plays the controller (an in-memory
PQ map with state transitions on timers, versioned like the real subscription map) and the
auth server (users and private-key files). Everything data-related is real: worker sessions
are real ``pydeephaven.Session`` objects connected to the test worker, and the catalog and
the historical/live tables are real server-side tables published with shared tickets (so
they never show up in the worker's global scope that other tests list).

Failures use the exception types the real client raises: coreplus's
``AuthenticationFailedException``, ``RuntimeError`` for PQs that are not running,
``pydeephaven.DHError`` for unknown tables, and any injected exception per method.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pyarrow as pa
from deephaven_enterprise.client.auth import AuthenticationFailedException
from deephaven_enterprise.client.generate_scheduling import GenerateScheduling
from pydeephaven import DHError, Session
from pydeephaven.table import Table

from deephaven_mcp.enterprise.adapter import restart_users_names
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
    scheduler_type,
    with_auto_delete,
)
from deephaven_mcp.enterprise.schedule import Schedule
from deephaven_mcp.errors import InvalidArgumentError
from tests.enterprise.catalog_data import Kind, PublishedCatalog, database_ticket
from tests.enterprise.wire.auth_service import ALL_USERS_GROUP, PLAIN_PASSWORD, PLAIN_USER
from tests.enterprise.wire.controller_service import refusal

TERMINAL = frozenset({"FAILED", "ERROR", "DISCONNECTED", "STOPPED", "COMPLETED"})
ACTIVE = frozenset({"ACQUIRING_WORKER", "INITIALIZING", "RUNNING"})  # what a stop acts on

T = TypeVar("T")
ENGINE_VERSION = "1.20250219.100"  # what the controller reports for a running Core+ worker


def _worker_schedule() -> tuple[str, ...]:
    """The scheduling lines coreplus writes for a console worker (make_temporary_config)."""
    lines = GenerateScheduling.generate_temporary_scheduler(
        expiration_time_minutes=2880,
        queue_name="InteractiveConsoleTemporaryQueue",
        auto_delete=True,
    )
    return tuple(lines)


def _schedule_lines(schedule: Schedule) -> tuple[str, ...]:
    """What the controller stores for ``schedule`` (coreplus's generators write it)."""
    if schedule.type == "continuous":
        lines = GenerateScheduling.generate_continuous_scheduler(
            start_time=schedule.start_time or "00:00:00",
            time_zone=schedule.zone,
            restart_daily=bool(schedule.restart_daily),
        )
    elif schedule.type == "daily":
        assert schedule.start_time is not None and schedule.stop_time is not None
        lines = GenerateScheduling.generate_daily_scheduler(
            start_time=schedule.start_time,
            stop_time=schedule.stop_time,
            time_zone=schedule.zone,
            business_days=bool(schedule.business_days),
            days=schedule.day_flags,
        )
    elif schedule.type == "temporary":
        lines = GenerateScheduling.generate_temporary_scheduler(
            queue_name="InteractiveConsoleTemporaryQueue",
            auto_delete=schedule.auto_delete_timeout is not None,
            expiration_time_minutes=schedule.expiration_minutes or 2880,
        )
    else:
        lines = GenerateScheduling.generate_disabled_scheduler()
    return tuple(lines)


CONFIGURATION_TYPES = (
    ConfigurationType("Script", has_script=True),
    ConfigurationType("RunAndDone", has_script=True),
    ConfigurationType("InteractiveConsole", has_script=False),
)


def _changed(new: T | None, old: T) -> T:
    """PqChanges semantics: None keeps the current value."""
    return old if new is None else new


@dataclass
class FakePq:
    serial: int
    spec: PqSpec
    owner: str
    state: str = "UNINITIALIZED"
    config_type: str = "InteractiveConsole"
    version: int = 1
    process_info_id: str | None = None
    fail_on_start: bool = False
    hangs: bool = False  # stays INITIALIZING when started
    exception_message: str | None = None
    num_failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    last_update_nanos: int = 0

    def __setattr__(self, name: str, value: Any) -> None:
        # Like the controller: every state change carries a new lastUpdateNanos.
        if name == "state":
            object.__setattr__(self, "last_update_nanos", time.time_ns())
        object.__setattr__(self, name, value)

    def info(self, host: str, port: int) -> PqInfo:
        running = self.state == "RUNNING"
        spec = self.spec
        return PqInfo(
            serial=self.serial,
            name=spec.name,
            state=self.state,
            is_running=running,
            is_terminal=self.state in TERMINAL,
            owner=self.owner,
            enabled=self.extra.get("enabled", True),
            heap_size_gb=spec.heap_size_gb,
            server=spec.server or "Query_1",
            engine=spec.engine or "DeephavenCommunity",
            programming_language=spec.programming_language or "Python",
            configuration_type=self.config_type,
            config_version=self.version,
            worker_host=host if running else None,
            worker_port=port if running else None,
            process_info_id=self.process_info_id if running else None,
            engine_version=ENGINE_VERSION if running else None,
            exception_message=self.exception_message,
            num_failures=self.num_failures,
            last_update_nanos=self.last_update_nanos,
            extra_jvm_args=spec.extra_jvm_args or (),
            extra_environment_vars=spec.extra_environment_vars or (),
            admin_groups=spec.admin_groups or (),
            viewer_groups=spec.viewer_groups or (),
            auto_delete_timeout=spec.auto_delete_timeout,
            jvm_profile=self.extra.get("jvm_profile", ""),
            script_code=self.extra.get("script_body"),
            script_path=self.extra.get("script_path"),
            restart_users=self.extra.get("restart_users", "RU_ADMIN"),
            schedule=tuple(self.extra.get("schedule", ())),
            extra_class_path=tuple(self.extra.get("extra_class_path", ())),
            python_control=self.extra.get("python_control", ""),
            init_timeout_nanos=self.extra.get("init_timeout_nanos", 60_000_000_000),
        )


@dataclass
class FakeManager:
    user: str | None = None
    closed: bool = False
    subscription_stuck: bool = False  # re-subscribing forever, while ping still answers
    login_expired: bool = False  # the auth cookie's deadline passed without a refresh


class FakeEnterpriseBackend:
    """See the module docstring; ``fail_next`` / ``fail_always`` inject failures per method."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        users: Mapping[str, str] | None = None,
        transition_delay: float = 0.2,
    ) -> None:
        self.host = host
        self.port = port
        self.users = dict(users or {"alice": "s3cret-pw"})
        self.transition_delay = transition_delay
        self.fail_next: dict[str, BaseException] = {}
        self.fail_always: dict[str, BaseException] = {}
        self.ping_result = True
        self.calls: list[tuple[str, object]] = []
        self.sessions_opened = 0
        self.managers: list[FakeManager] = []
        self.plain_users: dict[str, frozenset[str]] = {}  # see add_plain_user
        self._cond = threading.Condition()
        self._pqs: dict[int, FakePq] = {}
        self._version = 0
        self._serials = itertools.count(1000)
        self._timers: list[threading.Timer] = []
        self._catalog: PublishedCatalog | None = None
        self._data_lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------------

    def _enter(self, op: str, detail: object = None) -> None:
        self.calls.append((op, detail))
        if op in self.fail_always:
            raise self.fail_always[op]
        exc = self.fail_next.pop(op, None)
        if exc is not None:
            raise exc

    def _bump(self) -> None:
        self._version += 1
        self._cond.notify_all()

    def _later(self, fn: Any) -> None:
        timer = threading.Timer(self.transition_delay, fn)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _pq(self, serial: int) -> FakePq:
        pq = self._pqs.get(serial)
        if pq is None:
            raise KeyError(serial)
        return pq

    def add_existing_pq(
        self, name: str, *, running: bool = False, fail_on_start: bool = False, hangs: bool = False
    ) -> int:
        """A PQ somebody else created (e.g. in the web UI); ``hangs``: it never finishes
        starting (the wire fake's StartBehavior.HANG)."""
        with self._cond:
            serial = next(self._serials)
            pq = FakePq(serial, PqSpec(name=name, heap_size_gb=2.0), owner="bob")
            pq.config_type = "Script"
            pq.extra.update(script_body="print('hello')", jvm_profile="Default")
            pq.fail_on_start = fail_on_start
            pq.hangs = hangs
            if running:
                pq.state = "RUNNING"
                pq.process_info_id = uuid.uuid4().hex
            self._pqs[serial] = pq
            self._bump()
            return serial

    def set_state(self, serial: int, state: str) -> None:
        """Force a state, as the controller would after a crash."""
        with self._cond:
            pq = self._pq(serial)
            pq.state = state
            if state == "RUNNING":
                pq.process_info_id = uuid.uuid4().hex
            self._bump()

    def _begin_start(self, pq: FakePq) -> None:
        pq.state = "INITIALIZING"
        self._bump()

        def finish() -> None:
            with self._cond:
                if pq.serial not in self._pqs or pq.state != "INITIALIZING" or pq.hangs:
                    return
                if pq.fail_on_start:
                    pq.state = "FAILED"
                    pq.exception_message = "NameError: name 'undefined_thing' is not defined"
                    pq.num_failures += 1
                else:
                    pq.state = "RUNNING"
                    pq.process_info_id = uuid.uuid4().hex
                self._bump()

        self._later(finish)

    def _wait_state(self, serial: int, done: Any, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: serial not in self._pqs or done(self._pqs[serial]), timeout
            )

    # -- connection ---------------------------------------------------------------------------

    def open_manager(
        self, connection_json_url: str, rpc_timeout_seconds: int, connect_timeout_seconds: int
    ) -> ManagerHandle:
        self._enter(
            "open_manager", (connection_json_url, rpc_timeout_seconds, connect_timeout_seconds)
        )
        manager = FakeManager()
        self.managers.append(manager)
        return ManagerHandle(native=manager, url=connection_json_url)

    def subscribed(self, manager: ManagerHandle) -> bool:
        # A local read in the real client (no RPC), so not recorded in ``calls``.
        assert isinstance(manager.native, FakeManager)
        return not manager.native.subscription_stuck

    def logged_in(self, manager: ManagerHandle) -> bool:
        # Local in the real client too (the cookie's deadline), so not recorded either.
        native = manager.native
        assert isinstance(native, FakeManager)
        return native.user is not None and not native.closed and not native.login_expired

    def login_password(self, manager: ManagerHandle, username: str, password: str) -> None:
        self._enter("login_password", username)
        if self.users.get(username) != password:
            raise AuthenticationFailedException("Failed to authenticate with password.")
        assert isinstance(manager.native, FakeManager)
        manager.native.user = username

    def login_private_key(self, manager: ManagerHandle, private_key_path: str) -> None:
        self._enter("login_private_key", private_key_path)
        with open(private_key_path, encoding="utf-8") as key_file:  # FileNotFoundError as real
            entries = dict(
                line.split(None, 1) for line in key_file.read().splitlines() if line.strip()
            )
        for needed in ("public", "private", "user", "operateas"):
            if needed not in entries:
                raise ValueError(f"'{private_key_path}' is not a Deephaven private key file")
        if entries["user"].strip() not in self.users:
            raise AuthenticationFailedException("Failed to authenticate with private key.")
        assert isinstance(manager.native, FakeManager)
        manager.native.user = entries["user"].strip()

    def ping(self, manager: ManagerHandle) -> bool:
        self._enter("ping")
        assert isinstance(manager.native, FakeManager)
        return self.ping_result and not manager.native.closed

    def close_manager(self, manager: ManagerHandle) -> None:
        self._enter("close_manager")
        assert isinstance(manager.native, FakeManager)
        manager.native.closed = True

    # -- PQ map -------------------------------------------------------------------------------

    def pq_snapshot(self, manager: ManagerHandle) -> PqSnapshot:
        self._enter("pq_snapshot")
        with self._cond:
            return PqSnapshot(
                version=self._version,
                queries=tuple(pq.info(self.host, self.port) for pq in self._pqs.values()),
            )

    def pq_get(self, manager: ManagerHandle, serial: int, timeout_seconds: float) -> PqInfo | None:
        with self._cond:
            self._cond.wait_for(lambda: serial in self._pqs, timeout_seconds)
            pq = self._pqs.get(serial)
            return None if pq is None else pq.info(self.host, self.port)

    def wait_for_change(self, manager: ManagerHandle, version: int, timeout_seconds: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._version > version, timeout_seconds)

    # -- workers ------------------------------------------------------------------------------

    def _session(self, language: str, session_arguments: Mapping[str, object] | None) -> Session:
        self.sessions_opened += 1
        return Session(
            host=self.host,
            port=self.port,
            session_type=language.lower(),
            **dict(session_arguments or {}),  # type: ignore[arg-type]
        )

    def create_worker(self, manager: ManagerHandle, worker: NewWorker) -> WorkerSession:
        spec = worker.spec
        self._enter("create_worker", (spec, worker.timeout_seconds, worker.session_arguments))
        serial = self.add_query(manager, spec, record=False)
        with self._cond:
            self._begin_start(self._pq(serial))
        self._wait_state(
            serial, lambda pq: pq.state in TERMINAL | {"RUNNING"}, worker.timeout_seconds or 60
        )
        with self._cond:
            pq = self._pq(serial)
            if pq.state != "RUNNING":
                del self._pqs[serial]
                self._bump()
                raise RuntimeError(f"Query '{spec.name}' is not running. Status: {pq.state}")
            process = pq.process_info_id
        language = spec.programming_language or "Python"
        try:
            session = self._session(language, worker.session_arguments)
        except Exception:
            self.delete_query(manager, serial)
            raise
        return WorkerSession(session, serial, spec.name, language, True, process)

    def connect_to_pq(
        self, manager: ManagerHandle, serial: int, session_arguments: Mapping[str, object] | None
    ) -> WorkerSession:
        self._enter("connect_to_pq", serial)
        with self._cond:
            pq = self._pq(serial)
            if pq.state != "RUNNING":
                raise RuntimeError(f"Query '{pq.spec.name}' is not running, state is {pq.state}")
            name, process = pq.spec.name, pq.process_info_id
            language = pq.spec.programming_language or "Python"
        session = self._session(language, session_arguments)
        return WorkerSession(session, serial, name, language, False, process)

    def close_worker(self, worker: WorkerSession) -> None:
        """Only the session, as the adapter: a worker's query is deleted with delete_query."""
        self._enter("close_worker", worker.name)
        worker.session.close()

    # -- persistent queries -------------------------------------------------------------------

    def add_query(self, manager: ManagerHandle, spec: PqSpec, *, record: bool = True) -> int:
        """A query of ours: a worker (``record=False``) is an InteractiveConsole that deletes
        itself after 600 s idle; a PQ has its spec's type, script and schedule, and like the
        controller, the fake starts an enabled continuous one (or a daily one inside its
        window; not modelled here) by itself."""
        if record:
            self._enter("add_query", spec)
        assert isinstance(manager.native, FakeManager)
        with self._cond:
            serial = next(self._serials)
            if not record:
                if spec.auto_delete_timeout is None:
                    spec = replace(spec, auto_delete_timeout=600)
                pq = FakePq(serial, spec, owner=manager.native.user or "")
                pq.extra.update(jvm_profile="Default", schedule=_worker_schedule())
                self._pqs[serial] = pq
                self._bump()
                return serial
            schedule = spec.schedule or Schedule(type="continuous")
            if schedule.type == "temporary":
                spec = replace(spec, auto_delete_timeout=schedule.auto_delete_timeout)
            pq = FakePq(
                serial,
                spec,
                owner=spec.owner or manager.native.user or "",
                config_type=spec.configuration_type or "Script",
            )
            pq.extra.update(
                jvm_profile=spec.jvm_profile or "Default",
                schedule=_schedule_lines(schedule),
                script_body=spec.script_code or None,
                enabled=spec.enabled is not False,
                restart_users=spec.restart_users or "RU_ADMIN",
                extra_class_path=spec.extra_class_path or (),
                python_control=spec.python_control or "",
                init_timeout_nanos=round((spec.init_timeout_seconds or 60) * 1e9),
            )
            self._pqs[serial] = pq
            self._bump()
            if schedule.type == "continuous" and spec.enabled is not False:
                self._begin_start(pq)  # the controller keeps an enabled continuous one up
            return serial

    def configuration_types(self, manager: ManagerHandle) -> tuple[ConfigurationType, ...]:
        self._enter("configuration_types")
        return CONFIGURATION_TYPES

    def modify_query(
        self, manager: ManagerHandle, serial: int, changes: PqChanges, restart: bool
    ) -> None:
        self._enter("modify_query", (serial, changes, restart))
        if changes.restart_users is not None and changes.restart_users not in restart_users_names():
            raise InvalidArgumentError(f"restart_users must be one of {restart_users_names()}")
        with self._cond:
            pq = self._pq(serial)
            kind = scheduler_type(pq.extra.get("schedule", ()))
            if changes.auto_delete_timeout is not None and kind != TEMPORARY_SCHEDULER:
                raise InvalidArgumentError(
                    "auto_delete_timeout applies only to temporary queries; this one has the "
                    f"{kind.rsplit('.', 1)[-1] or 'default'} schedule"
                )
            old = pq.spec
            pq.spec = replace(
                old,
                name=_changed(changes.name, old.name),
                heap_size_gb=_changed(changes.heap_size_gb, old.heap_size_gb),
                programming_language=_changed(
                    changes.programming_language, old.programming_language
                ),
                server=_changed(changes.server, old.server),
                engine=_changed(changes.engine, old.engine),
                extra_jvm_args=_changed(changes.extra_jvm_args, old.extra_jvm_args),
                extra_environment_vars=_changed(
                    changes.extra_environment_vars, old.extra_environment_vars
                ),
                admin_groups=_changed(changes.admin_groups, old.admin_groups),
                viewer_groups=_changed(changes.viewer_groups, old.viewer_groups),
                auto_delete_timeout=_changed(changes.auto_delete_timeout, old.auto_delete_timeout),
            )
            for key in ("script_body", "restart_users", "enabled", "extra_class_path"):
                value = getattr(changes, key)
                if value is not None:
                    pq.extra[key] = value
            if changes.script_body is not None:
                pq.extra.pop("script_path", None)
            if changes.schedule is not None:
                pq.extra["schedule"] = _schedule_lines(changes.schedule)
            if changes.auto_delete_timeout is not None:  # as the adapter's _set_auto_delete
                pq.extra["schedule"] = tuple(with_auto_delete(pq.extra.get("schedule", ())))
            if changes.init_timeout_seconds is not None:
                pq.extra["init_timeout_nanos"] = round(changes.init_timeout_seconds * 1e9)
            if changes.python_virtual_environment is not None:
                pq.extra["python_control"] = changes.python_virtual_environment
            if changes.configuration_type is not None:
                pq.config_type = changes.configuration_type
            pq.version += 1
            self._bump()
            if restart:
                self._begin_start(pq)

    def delete_query(self, manager: ManagerHandle, serial: int) -> None:
        self._enter("delete_query", serial)
        with self._cond:
            del self._pqs[serial]
            self._bump()

    # -- users who are no superusers, and who may restart, stop or delete what ---------------

    def add_plain_user(
        self, user: str = PLAIN_USER, password: str = PLAIN_PASSWORD, groups: tuple[str, ...] = ()
    ) -> None:
        """A login that is no superuser (the auth fake's ``add_plain_user``)."""
        self.users[user] = password
        self.plain_users[user] = frozenset(groups)

    def set_permissions(
        self,
        serial: int,
        *,
        restart_users: str | None = None,
        admin_groups: tuple[str, ...] | None = None,
        viewer_groups: tuple[str, ...] | None = None,
    ) -> None:
        """As the wire controller's ``set_permissions``."""
        with self._cond:
            pq = self._pq(serial)
            if restart_users is not None:
                pq.extra["restart_users"] = restart_users
            pq.spec = replace(
                pq.spec,
                admin_groups=_changed(admin_groups, pq.spec.admin_groups),
                viewer_groups=_changed(viewer_groups, pq.spec.viewer_groups),
            )
            pq.version += 1
            self._bump()

    def _refusal(self, manager: ManagerHandle, verb: str, pq: FakePq) -> str | None:
        """The wire controller's rule (:func:`refusal`), for the logged-in user."""
        assert isinstance(manager.native, FakeManager)
        user = manager.native.user or ""
        return refusal(
            verb,
            user=user,
            superuser=user not in self.plain_users,
            groups=frozenset({user, ALL_USERS_GROUP, *self.plain_users.get(user, ())}),
            owner=pq.owner,
            admin_groups=pq.spec.admin_groups or (),
            viewer_groups=pq.spec.viewer_groups or (),
            restart_users=pq.extra.get("restart_users", "RU_ADMIN"),
            down=pq.state not in ACTIVE,
            name=pq.spec.name,
        )

    def start_query(self, manager: ManagerHandle, serial: int) -> str | None:
        self._enter("start_query", serial)
        return self._restart(manager, serial)

    def _restart(self, manager: ManagerHandle, serial: int) -> str | None:
        with self._cond:
            pq = self._pq(serial)
            refused = self._refusal(manager, "restart", pq)
            if refused is None:
                self._begin_start(pq)
            return refused

    def stop_query(self, manager: ManagerHandle, serial: int) -> str | None:
        """Like the controller: a query that is not running is left as it is."""
        self._enter("stop_query", serial)
        with self._cond:
            pq = self._pq(serial)
            refused = self._refusal(manager, "stop", pq)
            if refused is not None or pq.state not in ACTIVE:
                return refused
            pq.state = "STOPPING"
            self._bump()

        def finish() -> None:
            with self._cond:
                if pq.serial in self._pqs and pq.state == "STOPPING":
                    pq.state = "STOPPED"
                    self._bump()

        self._later(finish)
        return None

    def restart_query(self, manager: ManagerHandle, serial: int) -> str | None:
        self._enter("restart_query", serial)
        return self._restart(manager, serial)

    # -- catalog and tables -------------------------------------------------------------------

    def _fetch(self, session: Session, kind: Kind, namespace: str, table_name: str) -> Table:
        with self._data_lock:
            if self._catalog is None:
                self._catalog = PublishedCatalog(Session(host=self.host, port=self.port))
            ticket = self._catalog.tickets.get(database_ticket(kind, namespace, table_name))
        if ticket is None:
            raise DHError(f"no table by the name d/{kind}/{namespace}/{table_name}")
        shared = session.fetch_table(ticket)
        try:
            # An export of our own, like DndSession's fetch: closing it must not touch the
            # shared ticket, which this session may not release.
            assert shared.schema is not None
            return shared.view(shared.schema.names)
        finally:
            shared.schema = None  # disarm __del__, as coreplus does for its fetch handle

    def catalog_table(self, session: Session) -> Table:
        self._enter("catalog_table")
        return self._fetch(session, "catalog", "", "")

    def historical_table(self, session: Session, namespace: str, table_name: str) -> Table:
        self._enter("historical_table", (namespace, table_name))
        return self._fetch(session, "hist", namespace, table_name)

    def live_table(self, session: Session, namespace: str, table_name: str) -> Table:
        self._enter("live_table", (namespace, table_name))
        return self._fetch(session, "live", namespace, table_name)

    def table_meta(self, table: Table) -> pa.Table:
        meta_table = table.meta_table
        try:
            meta: pa.Table = meta_table.to_arrow()
        finally:
            meta_table.close()
        return meta

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
