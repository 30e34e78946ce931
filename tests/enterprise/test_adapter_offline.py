"""The real CoreplusBackend driving a real coreplus ControllerClient, offline.

The ControllerClient is built without its network constructor and given a query map and a
recording gRPC stub: every coreplus method the adapter calls (map_and_version, get,
make_temporary_config, add_query, modify_query, ...) runs its real code, and we inspect the
real protobuf requests that would have gone on the wire.
"""

from __future__ import annotations

import json
import logging
import threading
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest
from deephaven_enterprise.client.controller import ControllerClient, SubState
from deephaven_enterprise.client.generate_scheduling import GenerateScheduling
from deephaven_enterprise.proto import controller_pb2, persistent_query_pb2
from deephaven_enterprise.proto.controller_service_pb2_grpc import ControllerApiStub

from deephaven_mcp.enterprise import CoreplusBackend, ManagerHandle, PqChanges, PqSpec
from deephaven_mcp.enterprise.backend import (
    TEMPORARY_SCHEDULER,
    decode_auto_delete,
    parse_grpc_url,
    scheduler_type,
)
from deephaven_mcp.enterprise.schedule import Schedule
from deephaven_mcp.errors import InvalidArgumentError


class RecordingStub:
    """Stands in for ControllerApiStub: records requests, answers like the controller."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.refusals: dict[int, str] = {}  # serial -> errorSerials text

    def _record(self, name: str, request: Any) -> None:
        copy = type(request)()
        copy.CopyFrom(request)
        self.requests.append((name, copy))

    def addQuery(self, request: Any, timeout: float, wait_for_ready: bool) -> Any:
        self._record("addQuery", request)
        return controller_pb2.AddQueryResponse(querySerial=4242)

    def modifyQuery(self, request: Any, timeout: float, wait_for_ready: bool) -> Any:
        self._record("modifyQuery", request)
        return controller_pb2.ModifyQueryResponse()

    def removeQuery(self, request: Any, timeout: float, wait_for_ready: bool) -> Any:
        self._record("removeQuery", request)
        return controller_pb2.RemoveQueryResponse()

    def restartQuery(self, request: Any, timeout: float, wait_for_ready: bool) -> Any:
        self._record("restartQuery", request)
        return controller_pb2.RestartQueryResponse(errorSerials=self._refused(request))

    def stopQuery(self, request: Any, timeout: float, wait_for_ready: bool) -> Any:
        self._record("stopQuery", request)
        return controller_pb2.StopQueryResponse(errorSerials=self._refused(request))

    def _refused(self, request: Any) -> dict[int, str]:
        return {
            serial: self.refusals[serial] for serial in request.serials if serial in self.refusals
        }


class RecordingChannel:
    """A gRPC channel whose calls go to the recording stub, for a ControllerApiStub that
    the adapter builds on the client's channel (restartQuery / stopQuery)."""

    def __init__(self, stub: RecordingStub) -> None:
        self._stub = stub

    def _call(self, method: str, *_args: Any, **_kwargs: Any) -> Any:
        name = method.rsplit("/", 1)[-1]
        return lambda *args, **kwargs: getattr(self._stub, name)(*args, **kwargs)

    unary_unary = unary_stream = _call


def running_pq(serial: int, name: str) -> Any:
    info = persistent_query_pb2.PersistentQueryInfoMessage()
    info.config.serial = serial
    info.config.name = name
    info.config.owner = "alice"
    info.config.heapSizeGb = 8.0
    info.config.serverName = "Query_1"
    info.config.workerKind = "DeephavenCommunity"
    info.config.scriptLanguage = "Python"
    info.config.configurationType = "Script"
    info.config.version = 3
    info.config.scriptCode = "t = empty_table(1)"
    info.config.extraJvmArguments.extend(["-Xss4m"])
    info.config.restartUsers = persistent_query_pb2.RU_ADMIN
    info.config.typeSpecificFieldsJson = json.dumps(
        {"TerminationDelay": {"type": "long", "value": "600000"}}
    )
    info.config.scheduling.extend(
        GenerateScheduling.generate_temporary_scheduler(auto_delete=False)
    )
    info.state.status = persistent_query_pb2.PQS_RUNNING
    info.state.engineVersion = "0.40.0"
    info.state.connectionDetails.grpcUrl = "https://worker-7.example.com:8123/"
    info.state.connectionDetails.processInfoId = "proc-1"
    info.state.connectionDetails.workerName = "worker_7"
    return info


@pytest.fixture
def stub() -> RecordingStub:
    return RecordingStub()


@pytest.fixture
def controller(stub: RecordingStub) -> ControllerClient:
    client = object.__new__(ControllerClient)  # skip the network constructor
    client.log = logging.getLogger("test.controller")
    client.cookie = b"cookie"
    client.rpc_timeout_secs = 5
    client.subscription_timeout_secs = 5
    client.query_map = {}
    client.query_map_version = 0
    client.query_map_condition = threading.Condition(threading.RLock())
    client.sub_state_cond = threading.Condition()
    client.sub_state = SubState.SUBSCRIBED
    client.effective_user = "alice"
    client.server_config = controller_pb2.ControllerConfigurationMessage(
        dbServers=[controller_pb2.PQDBServerConfigMessage(name="Query_1")]
    )
    client.auth_client = None
    client.me = "test"
    client.stub = cast(ControllerApiStub, stub)  # a fake with just the methods the adapter calls
    client.channel = cast(grpc.Channel, RecordingChannel(stub))
    stopped = persistent_query_pb2.PersistentQueryInfoMessage()
    stopped.config.serial = 11
    stopped.config.name = "stopped_pq"
    stopped.state.status = persistent_query_pb2.PQS_STOPPED
    client.query_map = {10: running_pq(10, "analytics"), 11: stopped}
    client.query_map_version = 2
    return client


@pytest.fixture
def handle(controller: ControllerClient) -> ManagerHandle:
    return ManagerHandle(native=SimpleNamespace(controller_client=controller), url="x")


def test_snapshot_converts_the_real_map(
    controller: ControllerClient, handle: ManagerHandle
) -> None:
    backend = CoreplusBackend()
    snapshot = backend.pq_snapshot(handle)
    assert snapshot.version == 2
    queries = {query.serial: query for query in snapshot.queries}
    running = queries[10]
    assert (running.name, running.state, running.is_running, running.is_terminal) == (
        "analytics",
        "RUNNING",
        True,
        False,
    )
    assert (running.worker_host, running.worker_port) == ("worker-7.example.com", 8123)
    assert running.heap_size_gb == 8.0 and running.engine == "DeephavenCommunity"
    assert running.auto_delete_timeout == 600 and running.restart_users == "RU_ADMIN"
    assert running.extra_jvm_args == ("-Xss4m",) and running.process_info_id == "proc-1"
    assert running.engine_version == "0.40.0" and running.config_version == 3
    stopped = queries[11]
    assert (stopped.state, stopped.is_running, stopped.is_terminal) == ("STOPPED", False, True)
    assert stopped.worker_host is None
    assert backend.pq_snapshot(handle) is snapshot  # unchanged version: cached conversion
    controller.query_map_version += 1
    assert backend.pq_snapshot(handle) is not snapshot


def test_get_and_wait_for_change(controller: ControllerClient, handle: ManagerHandle) -> None:
    backend = CoreplusBackend()
    info = backend.pq_get(handle, 10, 0.1)
    assert info is not None and info.name == "analytics"
    assert backend.pq_get(handle, 999, 0.1) is None
    assert backend.wait_for_change(handle, 1, 0.1) is True
    assert backend.wait_for_change(handle, 2, 0.1) is False


def test_add_query_with_auto_delete_is_temporary(
    stub: RecordingStub, handle: ManagerHandle
) -> None:
    spec = PqSpec(
        name="etl",
        heap_size_gb=6.0,
        programming_language="Groovy",
        schedule=Schedule(type="temporary", auto_delete_timeout=900),
        extra_jvm_args=("-XX:+UseG1GC",),
        admin_groups=("admins",),
    )
    assert CoreplusBackend().add_query(handle, spec) == 4242
    name, request = stub.requests[-1]
    config = request.config
    assert name == "addQuery" and request.cookie == b"cookie"
    assert (config.name, config.heapSizeGb, config.scriptLanguage) == ("etl", 6.0, "Groovy")
    assert config.serverName == "Query_1"  # first server from the controller config
    assert config.workerKind == "DeephavenCommunity"  # API default
    assert list(config.extraJvmArguments) == ["-XX:+UseG1GC"]
    assert list(config.adminGroups) == ["admins"]
    assert config.configurationType == "Script"  # a query that runs its script by default
    assert decode_auto_delete(config.typeSpecificFieldsJson) == 900
    assert scheduler_type(config.scheduling) == TEMPORARY_SCHEDULER
    assert "TemporaryAutoDelete=true" in config.scheduling


def test_add_query_without_auto_delete_is_permanent(
    stub: RecordingStub, handle: ManagerHandle
) -> None:
    """Issue 10, bug 2: no temporary scheduler, no 48 h expiry, no idle deletion."""
    CoreplusBackend().add_query(handle, PqSpec(name="nightly", heap_size_gb=4.0))
    config = stub.requests[-1][1].config
    assert (
        scheduler_type(config.scheduling)
        == "com.illumon.iris.controller.IrisQuerySchedulerContinuous"
    )
    assert not any(entry.startswith("Temporary") for entry in config.scheduling)
    assert decode_auto_delete(config.typeSpecificFieldsJson) is None
    assert "SchedulingDisabled=false" in config.scheduling


def test_add_query_sends_every_query_field(stub: RecordingStub, handle: ManagerHandle) -> None:
    """Issue 19: a real persistent query: its type, script, state and schedule as given."""
    spec = PqSpec(
        name="daily_job",
        heap_size_gb=2.0,
        configuration_type="RunAndDone",
        script_code="print('hi')",
        enabled=False,
        schedule=Schedule(
            type="daily",
            start_time="08:30:00",
            stop_time="17:00:00",
            time_zone="Europe/London",
            days=["mon", "wed"],
        ),
        jvm_profile="Large",
        extra_class_path=("/opt/lib/a.jar",),
        python_control='{"ephemeral_venv": true}',
        init_timeout_seconds=90.5,
        restart_users="RU_ADMIN_AND_VIEWERS",
        owner="carol",
    )
    CoreplusBackend().add_query(handle, spec)
    config = stub.requests[-1][1].config
    assert config.configurationType == "RunAndDone"
    assert config.WhichOneof("scriptData") == "scriptCode" and config.scriptCode == "print('hi')"
    assert config.enabled is False
    assert (
        config.scheduling[0] == "SchedulerType=com.illumon.iris.controller.IrisQuerySchedulerDaily"
    )
    assert {"StartTime=08:30:00", "StopTime=17:00:00", "TimeZone=Europe/London"} <= set(
        config.scheduling
    )
    assert "Days=true=false=true=false=false=false=false" in config.scheduling
    assert not any(entry.startswith("Temporary") for entry in config.scheduling)
    assert decode_auto_delete(config.typeSpecificFieldsJson) is None
    assert config.jvmProfile == "Large"
    assert list(config.classPathAdditions) == ["/opt/lib/a.jar"]
    assert json.loads(config.pythonControl) == {"ephemeral_venv": True}
    assert config.timeoutNanos == 90_500_000_000
    assert config.restartUsers == persistent_query_pb2.RU_ADMIN_AND_VIEWERS
    assert config.owner == "carol"
    with pytest.raises(InvalidArgumentError, match="RU_ADMIN_AND_VIEWERS"):
        CoreplusBackend().add_query(handle, PqSpec(name="x", heap_size_gb=1, restart_users="ALL"))


@pytest.mark.parametrize(
    ("schedule", "scheduler", "expected"),
    [
        (Schedule(type="continuous"), "Continuous", {"DailyRestart=false", "StartTime=00:00:00"}),
        (
            Schedule(type="continuous", start_time="06:00:00", restart_daily=True),
            "Continuous",
            {"DailyRestart=true", "StartTime=06:00:00"},
        ),
        (
            Schedule(type="temporary", expiration_minutes=30),
            "Temporary",
            {"TemporaryAutoDelete=false", "TemporaryExpirationTimeMillis=1800000"},
        ),
        (Schedule(type="manual"), "Daily", {"SchedulingDisabled=true"}),
    ],
)
def test_each_schedule_is_written_by_coreplus_generators(
    stub: RecordingStub,
    handle: ManagerHandle,
    schedule: Schedule,
    scheduler: str,
    expected: set[str],
) -> None:
    CoreplusBackend().add_query(
        handle, PqSpec(name="s", heap_size_gb=1, script_code="x = 1", schedule=schedule)
    )
    entries = set(stub.requests[-1][1].config.scheduling)
    assert f"SchedulerType=com.illumon.iris.controller.IrisQueryScheduler{scheduler}" in entries
    assert expected <= entries


def test_modify_merges_into_the_current_config(
    controller: ControllerClient, stub: RecordingStub, handle: ManagerHandle
) -> None:
    changes = PqChanges(
        name="analytics_v2",
        heap_size_gb=16,
        script_body="print('v2')",
        extra_jvm_args=("-Xss8m", "-Dx=1"),
        auto_delete_timeout=60,
        restart_users="RU_ADMIN_AND_VIEWERS",
        enabled=False,
        init_timeout_seconds=5,
    )
    CoreplusBackend().modify_query(handle, 10, changes, restart=True)
    name, request = stub.requests[-1]
    config = request.config
    assert name == "modifyQuery" and request.doRestart is True
    assert (config.serial, config.name, config.heapSizeGb) == (10, "analytics_v2", 16.0)
    assert config.WhichOneof("scriptData") == "scriptCode"  # inline, replacing any path
    assert config.scriptCode == "print('v2')"
    assert list(config.extraJvmArguments) == ["-Xss8m", "-Dx=1"]  # lists replace
    assert config.restartUsers == persistent_query_pb2.RU_ADMIN_AND_VIEWERS
    assert config.enabled is False and config.timeoutNanos == 5_000_000_000
    assert decode_auto_delete(config.typeSpecificFieldsJson) == 60
    assert "TemporaryAutoDelete=true" in config.scheduling  # so the delay takes effect
    assert config.owner == "alice" and config.workerKind == "DeephavenCommunity"  # untouched
    assert controller.query_map[10].config.name == "analytics"  # the map copy is not mutated
    with pytest.raises(InvalidArgumentError, match="RU_ADMIN_AND_VIEWERS"):
        CoreplusBackend().modify_query(handle, 10, PqChanges(restart_users="ALL"), False)


def test_auto_delete_is_refused_on_a_permanent_query(
    controller: ControllerClient, handle: ManagerHandle
) -> None:
    """Issue 10, bug 8: on a permanent query the delay would silently do nothing."""
    permanent = controller.query_map[10]
    del permanent.config.scheduling[:]
    permanent.config.scheduling.extend(
        GenerateScheduling.generate_continuous_scheduler(start_time="00:00:00")
    )
    with pytest.raises(InvalidArgumentError, match=r"only to temporary queries.*Continuous"):
        CoreplusBackend().modify_query(handle, 10, PqChanges(auto_delete_timeout=0), False)


def test_python_control_is_sent_as_json(stub: RecordingStub, handle: ManagerHandle) -> None:
    """Issue 10, bug 7: pythonControl is a JSON document, not a bare name."""
    control = '{"ephemeral_venv": true, "ephemeral_requirements": "pandas==2.2"}'
    CoreplusBackend().modify_query(handle, 10, PqChanges(python_virtual_environment=control), False)
    config = stub.requests[-1][1].config
    assert json.loads(config.pythonControl) == {
        "ephemeral_venv": True,
        "ephemeral_requirements": "pandas==2.2",
    }


def test_lifecycle_requests(stub: RecordingStub, handle: ManagerHandle) -> None:
    backend = CoreplusBackend()
    assert backend.restart_query(handle, 10) is None
    assert backend.start_query(handle, 11) is None
    assert backend.stop_query(handle, 10) is None
    backend.delete_query(handle, 11)
    sent = [(name, list(getattr(req, "serials", [])) or req.serial) for name, req in stub.requests]
    assert sent == [
        ("restartQuery", [10]),
        ("restartQuery", [11]),
        ("stopQuery", [10]),
        ("removeQuery", 11),
    ]
    assert all(request.cookie == b"cookie" for _, request in stub.requests)


def test_a_refusal_in_error_serials_is_returned(stub: RecordingStub, handle: ManagerHandle) -> None:
    """coreplus's restart_query / stop_query drop the answer; the adapter reads it."""
    stub.refusals[10] = "User carol may not restart query analytics"
    backend = CoreplusBackend()
    assert backend.restart_query(handle, 10) == "User carol may not restart query analytics"
    assert backend.start_query(handle, 10) == "User carol may not restart query analytics"
    assert backend.stop_query(handle, 10) == "User carol may not restart query analytics"
    assert backend.stop_query(handle, 11) is None


def test_catalog_calls_refuse_a_community_session() -> None:
    with pytest.raises(InvalidArgumentError, match="Enterprise"):
        CoreplusBackend().catalog_table(object())  # type: ignore[arg-type]


def test_grpc_url_parsing() -> None:
    assert parse_grpc_url("https://h.example") == ("h.example", 443)
    assert parse_grpc_url("http://h:9000/") == ("h", 9000)
    assert parse_grpc_url("") == (None, None)
