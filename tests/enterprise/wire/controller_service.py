"""A fake Persistent Query Controller (``ControllerApi``) over the client's own protobufs.

It holds an in-memory persistent-query map and implements what the Core+ client calls:
``ping``, ``authenticate`` (verifying one-use tokens with the fake auth server),
``getConfiguration``, the ``subscribe`` stream (a snapshot of SE_PUT events closed by
SE_BATCH_END, then one SE_PUT / SE_REMOVE per change), ``addQuery``, ``modifyQuery``,
``removeQuery``, ``restartQuery``, ``stopQuery`` and ``invalidateCookie``. Every request is
recorded (see :class:`~tests.enterprise.wire.recording.CallLog`).

State changes are driven here, on a timer, like a real controller: start goes
ACQUIRING_WORKER -> INITIALIZING -> RUNNING (or FAILED / COMPLETED, or hangs in
INITIALIZING, per :class:`StartBehavior`); stop goes STOPPING -> STOPPED. A RUNNING query's
connection details point at the worker proxy. A temporary query with
``TemporaryAutoDelete=true`` in its scheduling is deleted once it reaches a terminal state,
which is what the real scheduler promises for such queries, and any temporary query once
its ``TemporaryExpirationTimeMillis`` have passed.

Like the controller it checks what it is given (:func:`config_problem`: a known
configuration type, a script for a type that runs one, a scheduler type) and schedules
what it saves (:func:`should_run_now`): an enabled continuous query, or a daily one inside
its window, starts as soon as it is added or changed.
"""

from __future__ import annotations

import contextlib
import enum
import heapq
import itertools
import queue
import threading
import time
import uuid
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import grpc
from deephaven_enterprise.proto import (
    auth_pb2,
    controller_common_pb2,
    controller_pb2,
    controller_service_pb2_grpc,
    persistent_query_pb2,
)

from tests.enterprise.wire.auth_service import FakeAuthService, abort_with_auth_error
from tests.enterprise.wire.recording import CallLog

pq_pb = persistent_query_pb2
SERVICE_NAME = "PersistentQueryController"
# Java's Long.MIN_VALUE: "assign me a serial" (make_temporary_config sends it).
ASSIGN_SERIAL = -(2**63)
DB_SERVER = "Query_1"
ENGINE = "DeephavenCommunity"
ENGINE_VERSION = "1.20250219.100"  # a Core+ engine version, as the controller reports it
TERMINAL = frozenset(
    {
        pq_pb.PQS_ERROR,
        pq_pb.PQS_DISCONNECTED,
        pq_pb.PQS_STOPPED,
        pq_pb.PQS_FAILED,
        pq_pb.PQS_COMPLETED,
    }
)
ACTIVE = frozenset(
    {
        pq_pb.PQS_CONNECTING,
        pq_pb.PQS_AUTHENTICATING,
        pq_pb.PQS_ACQUIRING_WORKER,
        pq_pb.PQS_INITIALIZING,
        pq_pb.PQS_RUNNING,
        pq_pb.PQS_EXECUTING,
    }
)


# (name, display name, runs a script) of the query types this controller offers.
CONFIGURATION_TYPES = (
    ("Script", "Live Query (Script)", True),
    ("RunAndDone", "Batch Query (RunAndDone)", True),
    ("InteractiveConsole", "Interactive Console", False),
)
SCHEDULER = "com.illumon.iris.controller.IrisQueryScheduler"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

RESTARTING = "restarting"  # ends a subscription stream with UNAVAILABLE
_Event = controller_pb2.SubscribeResponse | str | None


class StartBehavior(enum.Enum):
    """What a query does when (re)started."""

    RUN = "run"  # reaches RUNNING with a worker
    FAIL = "fail"  # reaches FAILED with exception details
    HANG = "hang"  # stays INITIALIZING until stopped
    COMPLETE = "complete"  # runs to COMPLETED (RunAndDone)


@dataclass(frozen=True)
class Failure:
    """An injected RPC failure: a status, details and optionally an ``AuthError`` trailer."""

    code: grpc.StatusCode
    details: str
    auth_error: bool = False


@dataclass
class FakeQuery:
    config: pq_pb.PersistentQueryConfigMessage
    state: pq_pb.PersistentQueryStateMessage | None = None
    behavior: StartBehavior = StartBehavior.RUN
    failure_message: str = "Script failed: NameError: name 'oops' is not defined"
    stop_hangs: bool = False  # stays STOPPING when stopped
    generation: int = 0  # bumped by every start/stop so stale timer steps are ignored

    def info(self) -> pq_pb.PersistentQueryInfoMessage:
        info = pq_pb.PersistentQueryInfoMessage(config=self.config, is_admin=True)
        if self.state is not None:
            info.state.CopyFrom(self.state)
        return info

    @property
    def status(self) -> int:
        return pq_pb.PQS_UNINITIALIZED if self.state is None else self.state.status

    def is_temporary_auto_delete(self) -> bool:
        return "TemporaryAutoDelete=true" in self.config.scheduling


@dataclass(order=True)
class _Step:
    when: float
    order: int
    action: Callable[[], None] = field(compare=False)


class _Scheduler:
    """One thread that runs delayed state transitions in order; joined on close."""

    def __init__(self) -> None:
        self._heap: list[_Step] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fake-controller-steps", daemon=True)
        self._thread.start()

    def later(self, delay: float, action: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, _Step(time.monotonic() + delay, next(self._order), action))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (
                    not self._heap or self._heap[0].when > time.monotonic()
                ):
                    timeout = self._heap[0].when - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                step = heapq.heappop(self._heap)
            step.action()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(10)


def default_server_config(host: str) -> controller_pb2.ControllerConfigurationMessage:
    """What the controller tells clients about itself (make_temporary_config needs dbServers)."""
    return controller_pb2.ControllerConfigurationMessage(
        maxHeapSizeGb=64,
        minDataBufferPoolRatio=0.1,
        maxDataBufferPoolRatio=0.5,
        dbServers=[
            controller_pb2.PQDBServerConfigMessage(
                name=DB_SERVER,
                host=host,
                port=22013,
                serverType=controller_pb2.STE_DISPATCHER,
                maxHeapSizeGb=64,
                console_permitted=True,
            )
        ],
        temporaryQueueDetails=[
            controller_pb2.ControllerTempQueueDetailsMessage(
                name="InteractiveConsoleTemporaryQueue", maxConcurrentQueries=8, maxHeapMb=65536
            )
        ],
        defaultTempQueueName="InteractiveConsoleTemporaryQueue",
        jvmProfileNames=["Default"],
        defaultJvmProfileName="Default",
        supported_worker_kinds=[
            controller_pb2.WorkerKind(
                name=ENGINE,
                title="Core+",
                implemented_protocols=[controller_pb2.WP_COMMUNITY],
            )
        ],
        default_worker_kind=ENGINE,
        min_heap_size_gb=0.5,
        configurationTypes=[
            controller_pb2.ConsoleConfigurationTypeMessage(
                name=name, displayName=title, displayable=True, hasScript=has_script
            )
            for name, title, has_script in CONFIGURATION_TYPES
        ],
    )


def _scheduling(config: pq_pb.PersistentQueryConfigMessage) -> dict[str, str]:
    values: dict[str, str] = {}
    for entry in config.scheduling:
        key, _, value = entry.partition("=")
        values[key] = value
    return values


def config_problem(config: pq_pb.PersistentQueryConfigMessage) -> str | None:
    """Why the controller refuses ``config`` (None: it accepts it): an unknown type, a
    script type without a script, or a schedule without a scheduler (modelled on the
    controller's configuration checks: the type must be one of its configurationTypes, and
    a type with hasScript needs scriptCode or scriptPath)."""
    kinds = {name: has_script for name, _title, has_script in CONFIGURATION_TYPES}
    if config.configurationType not in kinds:
        return f"Unknown configuration type {config.configurationType!r}"
    if kinds[config.configurationType] and not (config.scriptCode or config.scriptPath):
        return f"A {config.configurationType} query requires a script"
    if config.scheduling and not _scheduling(config).get("SchedulerType"):
        return "Scheduling has no SchedulerType"
    return None


def should_run_now(config: pq_pb.PersistentQueryConfigMessage, now: float) -> bool:
    """Whether the controller's scheduler starts this query as soon as it is saved: enabled,
    scheduling not disabled, and continuous or inside a daily window (business-day calendars
    are not modelled: such a schedule never counts as open)."""
    values = _scheduling(config)
    if not config.enabled or values.get("SchedulingDisabled") == "true":
        return False
    kind = values.get("SchedulerType", "")
    if kind == SCHEDULER + "Continuous":
        return True
    if kind != SCHEDULER + "Daily" or values.get("BusinessDays") == "true":
        return False
    local = datetime.fromtimestamp(now, zoneinfo.ZoneInfo(values.get("TimeZone", "UTC")))
    start, stop = values.get("StartTime", ""), values.get("StopTime", "")
    clock = local.strftime("%H:%M:%S")
    flags = values.get("Days", "=".join(["true"] * 7)).split("=")
    runs = {day for day, flag in zip(WEEKDAYS, flags, strict=False) if flag == "true"}
    today, yesterday = WEEKDAYS[local.weekday()], WEEKDAYS[(local.weekday() - 1) % 7]
    if start <= stop:
        return today in runs and start <= clock < stop
    return (today in runs and clock >= start) or (yesterday in runs and clock < stop)


def refusal(
    verb: str,
    *,
    user: str,
    superuser: bool,
    groups: frozenset[str],
    owner: str,
    admin_groups: Sequence[str],
    viewer_groups: Sequence[str],
    restart_users: str,
    down: bool,
    name: str,
) -> str | None:
    """Why ``user`` may not ``verb`` ("restart", "stop" or "delete") query ``name``; None
    when they may. Shared with the in-process fake (``tests/enterprise/fake_backend.py``).

    The controller's rule, as its sources state it: the ``restartUsers`` field of
    ``PersistentQueryConfigMessage`` ("Controls the behavior of who can restart the query
    (admins, viewers, or viewers when down)", ``persistent_query_pb2.pyi`` in the coreplus
    client) with its ``RestartUsersEnum`` RU_ADMIN, RU_ADMIN_AND_VIEWERS,
    RU_VIEWERS_WHEN_DOWN; and Deephaven's web permissions guide
    (deephaven.io/enterprise/docs/interfaces/web/permissions): "a Viewer can view the name
    of the query and its associated tables and plots ..., but they cannot see the query
    code or start/stop the query unless Admin permission is granted". So:

    * superusers, the owner and members of ``adminGroups`` (admins) may do all three;
    * members of ``viewerGroups`` (viewers) may restart it under RU_ADMIN_AND_VIEWERS, and
      under RU_VIEWERS_WHEN_DOWN only while it is down (not running nor starting); they may
      stop it only under RU_ADMIN_AND_VIEWERS, and never delete it;
    * nobody else may. RU_UNSPECIFIED counts as RU_ADMIN (coreplus's
      make_temporary_config writes RU_ADMIN).
    """
    if superuser or user == owner or groups & set(admin_groups):
        return None
    if not groups & set(viewer_groups):
        return f"User {user} is neither an admin nor a viewer of query {name}"
    if verb == "delete":
        return f"User {user} may not delete query {name} (admins only)"
    if verb == "restart" and restart_users == "RU_ADMIN_AND_VIEWERS":
        return None
    if verb == "restart" and restart_users == "RU_VIEWERS_WHEN_DOWN" and down:
        return None
    if verb == "stop" and restart_users == "RU_ADMIN_AND_VIEWERS":
        return None
    return f"User {user} may not {verb} query {name} (restartUsers {restart_users or 'unset'})"


class FakeControllerService(controller_service_pb2_grpc.ControllerApiServicer):
    """See the module docstring. Test hooks: :meth:`add_query`, :meth:`set_behavior`,
    :meth:`set_status`, :meth:`fail_next`, :meth:`restart`, ``transition_delay``, ``delays``
    (seconds an RPC takes to answer, per method) and ``removal_notice_delay`` (how long the
    subscription map lags behind a ``removeQuery`` answer).

    Restarting, stopping and deleting follow the controller's permission rule
    (:func:`refusal`): users are superusers unless the auth fake's ``add_plain_user`` made
    them plain, and a query's rights come from :meth:`set_permissions`. ``peak_in_flight``
    counts the most restartQuery / stopQuery / removeQuery calls answered at once."""

    def __init__(
        self, auth: FakeAuthService, host: str = "127.0.0.1", transition_delay: float = 0.05
    ):
        self.auth = auth
        self.host = host
        self.transition_delay = transition_delay
        self.server_config = default_server_config(host)
        self.worker_endpoint: tuple[str, int] | None = None  # where RUNNING queries are served
        self.log = CallLog()
        self.removed: list[int] = []
        self.delays: dict[str, float] = {}
        self.removal_notice_delay = 0.0
        # restartQuery / stopQuery / removeQuery calls being answered now, and the most at once
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}
        self.expiry_scale = 1.0  # tests shrink temporary queries' expiration time with it
        self.expired: list[int] = []
        self._lock = threading.RLock()
        self._queries: dict[int, FakeQuery] = {}
        self._serials = itertools.count(1_700_000_000_000_000_001)
        self._cookies: dict[bytes, auth_pb2.UserContext] = {}
        self._subscribers: list[queue.SimpleQueue[_Event]] = []
        self._failures: dict[str, deque[Failure]] = {}
        self._workers = itertools.count(1)
        self._scheduler = _Scheduler()

    def close(self) -> None:
        self._scheduler.close()
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.put(None)

    # -- hooks for tests ---------------------------------------------------------------------

    def add_query(
        self,
        name: str,
        *,
        owner: str = "bob",
        running: bool = False,
        behavior: StartBehavior = StartBehavior.RUN,
        configuration_type: str = "Script",
        script: str = "print('hello')",
        heap_size_gb: float = 4.0,
        scheduling: Sequence[str] = (),
        type_specific_json: str | None = None,
    ) -> int:
        """A query somebody else made (e.g. in the web UI); RUNNING at once if ``running``."""
        config = pq_pb.PersistentQueryConfigMessage(
            name=name,
            owner=owner,
            version=1,
            enabled=True,
            heapSizeGb=heap_size_gb,
            serverName=DB_SERVER,
            workerKind=ENGINE,
            scriptLanguage="Python",
            configurationType=configuration_type,
            scriptCode=script,
            jvmProfile="Default",
            restartUsers=pq_pb.RU_ADMIN,
            timeoutNanos=60 * 1_000_000_000,
            scheduling=list(scheduling),
        )
        if type_specific_json is not None:
            config.typeSpecificFieldsJson = type_specific_json
        with self._lock:
            serial = next(self._serials)
            config.serial = serial
            query = FakeQuery(config=config, behavior=behavior)
            self._queries[serial] = query
            if running:
                query.generation += 1
                self._transition(query, pq_pb.PQS_RUNNING, self._running)
            else:
                self._transition(query, pq_pb.PQS_UNINITIALIZED)
        return serial

    def set_behavior(
        self,
        serial_or_name: int | str,
        behavior: StartBehavior | None = None,
        *,
        message: str = "",
        stop_hangs: bool | None = None,
    ) -> None:
        """How the query reacts to its next start (``message``: its failure) and stop."""
        with self._lock:
            query = self._find(serial_or_name)
            if behavior is not None:
                query.behavior = behavior
            if message:
                query.failure_message = message
            if stop_hangs is not None:
                query.stop_hangs = stop_hangs

    def set_permissions(
        self,
        serial_or_name: int | str,
        *,
        restart_users: str | None = None,
        admin_groups: Sequence[str] | None = None,
        viewer_groups: Sequence[str] | None = None,
    ) -> None:
        """Who may restart, stop or delete the query (see :func:`refusal`), as an admin
        would set it in the web UI; published like any config change."""
        with self._lock:
            query = self._find(serial_or_name)
            config = query.config
            if restart_users is not None:
                config.restartUsers = pq_pb.RestartUsersEnum.Value(restart_users)
            if admin_groups is not None:
                del config.adminGroups[:]
                config.adminGroups.extend(admin_groups)
            if viewer_groups is not None:
                del config.viewerGroups[:]
                config.viewerGroups.extend(viewer_groups)
            config.version += 1
            self._publish(query)

    def set_status(self, serial_or_name: int | str, status: str) -> None:
        """Force a state (a ``PQS_*`` name), as after a controller restart or a crash."""
        with self._lock:
            query = self._find(serial_or_name)
            query.generation += 1
            self._transition(query, pq_pb.PersistentQueryStatusEnum.Value(status))

    def fail_next(self, method: str, failure: Failure) -> None:
        """The next call of ``method`` fails with ``failure`` (queued, one per call)."""
        with self._lock:
            self._failures.setdefault(method, deque()).append(failure)

    def restart(self) -> None:
        """What clients see of a controller restart: sessions forgotten, streams ended."""
        with self._lock:
            self._cookies.clear()
            for subscriber in self._subscribers:
                subscriber.put(RESTARTING)

    def query(self, serial_or_name: int | str) -> pq_pb.PersistentQueryInfoMessage:
        with self._lock:
            return self._find(serial_or_name).info()

    def queries(self) -> dict[int, pq_pb.PersistentQueryInfoMessage]:
        with self._lock:
            return {serial: query.info() for serial, query in self._queries.items()}

    def status_name(self, serial_or_name: int | str) -> str:
        return str(pq_pb.PersistentQueryStatusEnum.Name(self.query(serial_or_name).state.status))

    def wait_for_status(self, serial_or_name: int | str, status: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.status_name(serial_or_name) != status:
            assert time.monotonic() < deadline, (
                f"{serial_or_name} is {self.status_name(serial_or_name)}"
            )
            time.sleep(0.02)

    @property
    def live_cookies(self) -> int:
        with self._lock:
            return len(self._cookies)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    # -- state machine -----------------------------------------------------------------------

    def _find(self, serial_or_name: int | str) -> FakeQuery:
        if isinstance(serial_or_name, int):
            return self._queries[serial_or_name]
        for query in self._queries.values():
            if query.config.name == serial_or_name:
                return query
        raise KeyError(serial_or_name)

    def _state(self, query: FakeQuery, status: int) -> pq_pb.PersistentQueryStateMessage:
        previous = query.state
        return pq_pb.PersistentQueryStateMessage(
            serial=query.config.serial,
            version=query.config.version,
            status=status,  # type: ignore[arg-type]
            lastUpdateNanos=time.time_ns(),
            numFailures=previous.numFailures if previous is not None else 0,
            dispatcherHost=self.host,
        )

    def _publish(self, query: FakeQuery) -> None:
        event = controller_pb2.SubscribeResponse(
            event=controller_pb2.SE_PUT, queryInfo=query.info()
        )
        for subscriber in self._subscribers:
            subscriber.put(event)

    def _remove(self, serial: int) -> None:
        if self._queries.pop(serial, None) is None:
            return
        self.removed.append(serial)
        event = controller_pb2.SubscribeResponse(event=controller_pb2.SE_REMOVE, querySerial=serial)

        def notify() -> None:
            with self._lock:
                for subscriber in self._subscribers:
                    subscriber.put(event)

        if self.removal_notice_delay:
            self._scheduler.later(self.removal_notice_delay, notify)
        else:
            notify()

    def _transition(
        self,
        query: FakeQuery,
        status: int,
        fill: Callable[[pq_pb.PersistentQueryStateMessage], None] | None = None,
    ) -> None:
        """Give ``query`` a new state (``fill`` completes it) and publish it."""
        query.state = self._state(query, status)
        if fill is not None:
            fill(query.state)
        self._publish(query)
        if status in TERMINAL and query.is_temporary_auto_delete():
            serial, generation = query.config.serial, query.generation
            self._scheduler.later(
                self.transition_delay, lambda: self._auto_delete(serial, generation)
            )

    def _schedule_expiry(self, query: FakeQuery) -> None:
        """A temporary query is deleted once its expiration time has passed, whatever it is
        doing; ``expiry_scale`` shrinks the minutes of TemporaryExpirationTimeMillis for
        tests."""
        millis = _scheduling(query.config).get("TemporaryExpirationTimeMillis", "")
        if not millis.isdigit() or not _scheduling(query.config).get("SchedulerType", "").endswith(
            "Temporary"
        ):
            return
        serial = query.config.serial
        delay = int(millis) / 1000 * self.expiry_scale

        def expire() -> None:
            with self._lock:
                self.expired.append(serial)
                self._remove(serial)

        self._scheduler.later(delay, expire)

    def _auto_delete(self, serial: int, generation: int) -> None:
        with self._lock:
            query = self._queries.get(serial)
            if query is not None and query.generation == generation and query.status in TERMINAL:
                self._remove(serial)

    def _running(self, state: pq_pb.PersistentQueryStateMessage) -> None:
        """Connection details of a fresh worker process, served by the worker proxy."""
        assert self.worker_endpoint is not None, "the harness sets worker_endpoint first"
        host, port = self.worker_endpoint
        state.engineVersion = ENGINE_VERSION
        state.initializationCompleteNanos = time.time_ns()
        details = state.connectionDetails
        details.grpcUrl = f"https://{host}:{port}"
        details.processorHost = host
        details.workerName = f"worker_{next(self._workers)}"
        details.processInfoId = str(uuid.uuid4())
        details.envoyPrefix = ""

    def _step(self, serial: int, generation: int, action: Callable[[FakeQuery], None]) -> None:
        """Run ``action`` later unless the query was deleted, restarted or stopped meanwhile."""

        def run() -> None:
            with self._lock:
                query = self._queries.get(serial)
                if query is not None and query.generation == generation:
                    action(query)

        self._scheduler.later(self.transition_delay, run)

    def _start(self, query: FakeQuery) -> None:
        query.generation += 1
        generation, serial = query.generation, query.config.serial
        self._transition(query, pq_pb.PQS_ACQUIRING_WORKER)

        def initializing(query: FakeQuery) -> None:
            self._transition(query, pq_pb.PQS_INITIALIZING)
            if query.behavior is not StartBehavior.HANG:
                self._step(serial, generation, finish)

        def failed(state: pq_pb.PersistentQueryStateMessage) -> None:
            state.numFailures += 1
            state.lastFailureTimeNanos = time.time_ns()
            state.exceptionDetails.errorMessage = query.failure_message
            state.exceptionDetails.shortCauses = query.failure_message

        def finish(query: FakeQuery) -> None:
            if query.behavior is StartBehavior.RUN:
                self._transition(query, pq_pb.PQS_RUNNING, self._running)
            elif query.behavior is StartBehavior.COMPLETE:
                self._transition(query, pq_pb.PQS_COMPLETED)
            else:
                self._transition(query, pq_pb.PQS_FAILED, failed)

        self._step(serial, generation, initializing)

    def _stop(self, query: FakeQuery) -> None:
        if query.status not in ACTIVE:
            return
        query.generation += 1
        self._transition(query, pq_pb.PQS_STOPPING)
        if query.stop_hangs:
            return
        self._step(
            query.config.serial,
            query.generation,
            lambda query: self._transition(query, pq_pb.PQS_STOPPED),
        )

    # -- RPC plumbing ------------------------------------------------------------------------

    def _enter(self, method: str, request: object, context: grpc.ServicerContext) -> None:
        """Record the call and apply an injected failure, if one is queued."""
        self.log.record(method, request, context)
        delay = self.delays.get(method)
        if delay:
            time.sleep(delay)
        with self._lock:
            pending = self._failures.get(method)
            failure = pending.popleft() if pending else None
        if failure is not None:
            if failure.auth_error:
                abort_with_auth_error(
                    context, failure.code, failure.details, auth_pb2.AUTH_ERROR_NON_RETRYABLE
                )
            context.abort(failure.code, failure.details)

    def _user(self, cookie: bytes, context: grpc.ServicerContext) -> auth_pb2.UserContext:
        with self._lock:
            user = self._cookies.get(cookie)
        if user is None:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Controller session is not valid")
        return user

    def _refusal(self, verb: str, user: auth_pb2.UserContext, query: FakeQuery) -> str | None:
        """:func:`refusal` for the effective user of a call (who acts, as on the server)."""
        name = user.effectiveUser or user.authenticatedUser
        config = query.config
        return refusal(
            verb,
            user=name,
            superuser=self.auth.is_superuser(name),
            groups=self.auth.groups_of(name),
            owner=config.owner,
            admin_groups=list(config.adminGroups),
            viewer_groups=list(config.viewerGroups),
            restart_users=str(pq_pb.RestartUsersEnum.Name(config.restartUsers)),
            down=query.status not in ACTIVE,
            name=config.name,
        )

    @contextlib.contextmanager
    def _counted(self, method: str) -> Iterator[None]:
        """Count the calls of ``method`` being answered at once (``peak_in_flight``)."""
        with self._lock:
            now = self.in_flight.get(method, 0) + 1
            self.in_flight[method] = now
            self.peak_in_flight[method] = max(self.peak_in_flight.get(method, 0), now)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight[method] -= 1

    def _for_each_serial(
        self,
        verb: str,
        user: auth_pb2.UserContext,
        serials: Sequence[int],
        action: Callable[[FakeQuery], None],
        response: Any,
    ) -> None:
        """Apply ``action`` to each query the user may ``verb``, filling the response's
        per-serial outcome: the serials done, and for the others why (``errorSerials``;
        the call itself succeeds, as the controller's does)."""
        with self._lock:
            for serial in serials:
                query = self._queries.get(serial)
                if query is None:
                    response.errorSerials[serial] = f"No query with serial {serial}"
                    continue
                refused = self._refusal(verb, user, query)
                if refused is not None:
                    response.errorSerials[serial] = refused
                    continue
                action(query)
                response.successSerials.append(serial)

    # -- ControllerApi -----------------------------------------------------------------------

    def ping(
        self, request: controller_common_pb2.PingRequest, context: grpc.ServicerContext
    ) -> controller_common_pb2.PingResponse:
        self._enter("ping", request, context)
        if request.HasField("cookie"):
            self._user(request.cookie, context)
        return controller_common_pb2.PingResponse()

    def authenticate(
        self, request: controller_pb2.AuthenticationRequest, context: grpc.ServicerContext
    ) -> controller_pb2.AuthenticationResponse:
        self._enter("authenticate", request, context)
        user = self.auth.verify_token(request.token, SERVICE_NAME)
        if user is None:
            return controller_pb2.AuthenticationResponse(authenticated=False)
        cookie = uuid.uuid4().bytes
        with self._lock:
            self._cookies[cookie] = user
        response = controller_pb2.AuthenticationResponse(authenticated=True, cookie=cookie)
        if request.getConfiguration:
            response.config.CopyFrom(self.server_config)
        return response

    def getConfiguration(
        self, request: controller_pb2.GetConfigurationRequest, context: grpc.ServicerContext
    ) -> controller_pb2.GetConfigurationResponse:
        self._enter("getConfiguration", request, context)
        self._user(request.cookie, context)
        return controller_pb2.GetConfigurationResponse(config=self.server_config)

    def invalidateCookie(
        self, request: auth_pb2.InvalidateCookieRequest, context: grpc.ServicerContext
    ) -> auth_pb2.InvalidateCookieResponse:
        self._enter("invalidateCookie", request, context)
        with self._lock:
            self._cookies.pop(request.cookie, None)
        return auth_pb2.InvalidateCookieResponse()

    def subscribe(
        self, request: controller_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[controller_pb2.SubscribeResponse]:
        self._enter("subscribe", request, context)
        self._user(request.cookie, context)
        events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
        with self._lock:  # the snapshot and the registration are one atomic step
            snapshot = [
                controller_pb2.SubscribeResponse(
                    event=controller_pb2.SE_PUT, queryInfo=query.info()
                )
                for _, query in sorted(self._queries.items())
            ]
            self._subscribers.append(events)
        if not context.add_callback(lambda: events.put(None)):
            events.put(None)  # the RPC already ended
        try:
            yield from snapshot
            yield controller_pb2.SubscribeResponse(event=controller_pb2.SE_BATCH_END)
            while (event := events.get()) is not None:
                if event is RESTARTING:
                    context.abort(grpc.StatusCode.UNAVAILABLE, "controller is restarting")
                assert isinstance(event, controller_pb2.SubscribeResponse)
                yield event
        finally:
            with self._lock:
                self._subscribers.remove(events)

    def addQuery(
        self, request: controller_pb2.AddQueryRequest, context: grpc.ServicerContext
    ) -> controller_pb2.AddQueryResponse:
        self._enter("addQuery", request, context)
        user = self._user(request.cookie, context)
        config = pq_pb.PersistentQueryConfigMessage()
        config.CopyFrom(request.config)
        now = time.time_ns()
        with self._lock:
            if config.serial == ASSIGN_SERIAL:
                config.serial = next(self._serials)
            elif config.serial in self._queries:
                context.abort(
                    grpc.StatusCode.ALREADY_EXISTS, f"Query with serial {config.serial} exists"
                )
            config.owner = config.owner or user.effectiveUser
            config.version = max(config.version, 1)
            config.createdTimeNanos = now
            config.lastModifiedTimeNanos = now
            config.lastModifiedByAuthenticated = user.authenticatedUser
            config.lastModifiedByEffective = user.effectiveUser
            problem = config_problem(config)
            if problem is not None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
            query = FakeQuery(config=config)
            self._queries[config.serial] = query
            self._transition(query, pq_pb.PQS_UNINITIALIZED)
            self._schedule_expiry(query)
            if should_run_now(config, time.time()):
                self._start(query)
        return controller_pb2.AddQueryResponse(querySerial=config.serial)

    def modifyQuery(
        self, request: controller_pb2.ModifyQueryRequest, context: grpc.ServicerContext
    ) -> controller_pb2.ModifyQueryResponse:
        self._enter("modifyQuery", request, context)
        user = self._user(request.cookie, context)
        with self._lock:
            query = self._queries.get(request.config.serial)
            if query is None:
                context.abort(
                    grpc.StatusCode.NOT_FOUND, f"No query with serial {request.config.serial}"
                )
            config = pq_pb.PersistentQueryConfigMessage()
            config.CopyFrom(request.config)
            config.version = query.config.version + 1
            config.owner = query.config.owner
            config.createdTimeNanos = query.config.createdTimeNanos
            config.lastModifiedTimeNanos = time.time_ns()
            config.lastModifiedByAuthenticated = user.authenticatedUser
            config.lastModifiedByEffective = user.effectiveUser
            problem = config_problem(config)
            if problem is not None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
            query.config = config
            idle = query.status not in ACTIVE
            if request.doRestart or (idle and should_run_now(config, time.time())):
                self._start(query)
            else:
                self._publish(query)
        return controller_pb2.ModifyQueryResponse()

    def removeQuery(
        self, request: controller_pb2.RemoveQueryRequest, context: grpc.ServicerContext
    ) -> controller_pb2.RemoveQueryResponse:
        with self._counted("removeQuery"):
            self._enter("removeQuery", request, context)
            user = self._user(request.cookie, context)
            with self._lock:
                query = self._queries.get(request.serial)
                if query is None:
                    context.abort(
                        grpc.StatusCode.NOT_FOUND, f"No query with serial {request.serial}"
                    )
                refused = self._refusal("delete", user, query)
                if refused is not None:  # no per-query answer here: the call fails
                    context.abort(grpc.StatusCode.PERMISSION_DENIED, refused)
                # The controller stops a query's worker before it forgets the query.
                self._remove(request.serial)
        return controller_pb2.RemoveQueryResponse()

    def restartQuery(
        self, request: controller_pb2.RestartQueryRequest, context: grpc.ServicerContext
    ) -> controller_pb2.RestartQueryResponse:
        with self._counted("restartQuery"):
            self._enter("restartQuery", request, context)
            user = self._user(request.cookie, context)
            response = controller_pb2.RestartQueryResponse()
            self._for_each_serial("restart", user, request.serials, self._start, response)
        return response

    def stopQuery(
        self, request: controller_pb2.StopQueryRequest, context: grpc.ServicerContext
    ) -> controller_pb2.StopQueryResponse:
        with self._counted("stopQuery"):
            self._enter("stopQuery", request, context)
            user = self._user(request.cookie, context)
            response = controller_pb2.StopQueryResponse()
            self._for_each_serial("stop", user, request.serials, self._stop, response)
        return response
