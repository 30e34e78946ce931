"""Docker launch method against a fake Docker Engine API, driven by the real docker SDK.

The fake publishes every running "container" on the port of a real Deephaven worker, so the
launcher's readiness check (a real pydeephaven connection) succeeds for real.
"""

from __future__ import annotations

import io
import logging
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from pydeephaven import Session

from deephaven_mcp.errors import (
    DeephavenTimeoutError,
    DependencyMissingError,
    SessionUnavailableError,
)
from deephaven_mcp.launchers import (
    PSK_HANDLER,
    InstanceRecord,
    InstanceTracker,
    LaunchRequest,
    TrackedWorker,
    launch_worker,
)
from deephaven_mcp.launchers.instance_tracker import _write_json_atomic, read_record
from tests._ports import free_port
from tests._workers import start_worker
from tests.launchers._helpers import recorded_workers
from tests.launchers.fake_docker import FakeDockerEngine

DOCKER_PSK = "docker-target-psk-5150"


class _Target(Protocol):
    port: int

    def stop(self) -> None: ...


IMAGE = "ghcr.io/deephaven/server:0.99.0"


@pytest.fixture(scope="module")
def target_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Target]:
    """The real worker behind every fake container's published port."""
    worker = start_worker(
        tmp_path_factory.mktemp("docker-target"), psk=DOCKER_PSK, table_group=None
    )
    yield worker
    worker.stop()


def _request(**overrides: Any) -> LaunchRequest:
    values: dict[str, Any] = {
        "session_name": "dock",
        "launch_method": "docker",
        "auth_token": DOCKER_PSK,
        "heap_size_gb": 1,
        "docker_image": IMAGE,
        "startup_timeout_seconds": 30.0,
        "startup_check_interval_seconds": 0.1,
        "startup_retries": 0,
    }
    values.update(overrides)
    return LaunchRequest(**values)


@pytest.mark.integration
async def test_docker_launch_sends_exact_spec_and_stop_removes(
    engine: FakeDockerEngine, target_worker: _Target, tmp_path: Path
) -> None:
    engine.mapped_port = target_worker.port
    tracker = InstanceTracker(tmp_path / "state")
    events: list[str] = []

    async def progress(message: str, fraction: float) -> None:
        events.append(message)

    request = _request(
        heap_size_gb=2.5,
        extra_jvm_args=("-XX:+UseG1GC", "-Dmcp.test=yes"),
        environment_vars={"TZ": "UTC"},
        docker_memory_limit_gb=3.0,
        docker_cpu_limit=1.5,
        docker_volumes=(f"{tmp_path}:/data/in:ro", "cachevol:/cache"),
        init_script="from deephaven import empty_table\ndocker_init_table = empty_table(2)\n",
    )
    worker = await launch_worker(request, tracker, progress)

    # Image missing -> pulled -> created; the auth file is uploaded before start.
    creates = engine.calls("POST", r"^/containers/create$")
    assert len(creates) == 2
    order = [(r.method, r.path) for r in engine.requests]
    container_id = worker.container_id
    assert container_id is not None
    assert worker.pid is None
    first = order.index(("POST", "/containers/create"))
    assert order.index(("POST", "/images/create")) > first
    assert order.index(("PUT", f"/containers/{container_id}/archive")) < order.index(
        ("POST", f"/containers/{container_id}/start")
    )
    assert engine.calls("POST", "^/images/create$")[0].query == {
        "fromImage": ["ghcr.io/deephaven/server"],
        "tag": ["0.99.0"],
    }

    spec = creates[1].json()
    short = tracker.instance_id[:8]
    assert creates[1].query["name"] == [f"dh-mcp-dock-{short}"]
    assert spec["Image"] == IMAGE
    assert sorted(spec["Env"]) == [
        "START_OPTS=-Xmx2560m -XX:+UseG1GC -Dmcp.test=yes "
        f"-DAuthHandlers={PSK_HANDLER} @/deephaven-mcp/jvm-auth.args",
        "TZ=UTC",
    ]
    assert spec["Labels"] == {
        "deephaven-mcp.managed": "true",
        "deephaven-mcp.instance": tracker.instance_id,
        "deephaven-mcp.session": "dock",
        "deephaven-mcp.key": worker.key,
    }
    assert spec["ExposedPorts"] == {"10000/tcp": {}}
    host_config = spec["HostConfig"]
    assert host_config["PortBindings"] == {"10000/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    # The configured limit wins over the default (2.5 GiB heap + 1 GiB = 3.5 GiB).
    assert host_config["Memory"] == 3 * 1024**3
    assert host_config["NanoCpus"] == 1_500_000_000
    assert host_config["CapDrop"] == ["ALL"]
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["PidsLimit"] == 4096
    assert host_config["Binds"] == [f"{tmp_path}:/data/in:ro", "cachevol:/cache:rw"]

    # The PSK is only inside the uploaded argument file, never in the spec or elsewhere.
    archives = engine.calls("PUT", "/archive$")
    assert len(archives) == 1
    assert archives[0].query["path"] == ["/"]
    with tarfile.open(fileobj=io.BytesIO(archives[0].body)) as tar:
        handle = tar.extractfile("deephaven-mcp/jvm-auth.args")
        assert handle is not None
        assert handle.read() == f'"-Dauthentication.psk={DOCKER_PSK}"\n'.encode()
    others = [r for r in engine.requests if r is not archives[0]]
    assert all(DOCKER_PSK.encode() not in r.body + r.path.encode() for r in others)

    # Ready for real: the published port is the real worker's, and the init script ran.
    assert worker.port == target_worker.port
    session = Session(
        host="127.0.0.1",
        port=worker.port,
        auth_type=PSK_HANDLER,
        auth_token=DOCKER_PSK,
        never_timeout=False,
    )
    try:
        assert "docker_init_table" in session.tables
    finally:
        session.close()
    assert any("init script" in event for event in events)
    assert any("Pulling docker image" in event for event in events)
    assert await worker.is_running()
    assert recorded_workers(tracker) == (
        TrackedWorker(
            key=worker.key,
            session_name="dock",
            launch_method="docker",
            container_id=container_id,
            container_name=f"dh-mcp-dock-{short}",
        ),
    )

    await worker.stop(timeout=5)
    stops = engine.calls("POST", f"^/containers/{container_id}/stop$")
    deletes = engine.calls("DELETE", f"^/containers/{container_id}$")
    assert len(stops) == 1
    assert stops[0].query["t"] == ["5"]
    assert len(deletes) == 1
    assert deletes[0].query["force"] == ["True"]
    assert deletes[0].query["v"] == ["True"]
    assert container_id not in engine.containers
    seen = len(engine.requests)
    await worker.stop()  # idempotent: no further API calls
    assert len(engine.requests) == seen
    assert not await worker.is_running()
    assert recorded_workers(tracker) == ()
    await tracker.shutdown()


async def test_container_that_exits_is_retried_then_reported(
    engine: FakeDockerEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="deephaven_mcp")
    engine.images.add(IMAGE)
    engine.exit_on_start = True
    engine.logs = b"Error: something broke in the worker\n"
    tracker = InstanceTracker(tmp_path / "state")
    with pytest.raises(SessionUnavailableError, match=r"after 3 attempt\(s\): container exited"):
        await launch_worker(_request(startup_retries=2), tracker)
    assert len(engine.calls("POST", "^/containers/create$")) == 3
    assert len(engine.calls("DELETE", "^/containers/")) == 3
    assert engine.containers == {}
    assert "something broke in the worker" in caplog.text
    assert recorded_workers(tracker) == ()
    await tracker.shutdown()


async def test_container_create_is_hardened_with_a_default_memory_limit(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    engine.images.add(IMAGE)
    engine.exit_on_start = True  # only the create request matters here
    tracker = InstanceTracker(tmp_path / "state")
    for heap, expected_memory in [(2, 3 * 1024**3), (8, 10 * 1024**3)]:
        with pytest.raises(SessionUnavailableError, match="container exited"):
            await launch_worker(_request(heap_size_gb=heap), tracker)
        create = engine.calls("POST", "^/containers/create$")[-1]
        host_config = create.json()["HostConfig"]
        assert host_config["CapDrop"] == ["ALL"]
        assert host_config["SecurityOpt"] == ["no-new-privileges"]
        assert host_config["PidsLimit"] == 4096
        assert host_config["Memory"] == expected_memory  # heap + max(1 GiB, heap / 4)
        assert "CapAdd" not in host_config
        assert not host_config.get("Privileged")
    assert engine.containers == {}
    await tracker.shutdown()


async def test_containers_see_neither_the_servers_environment_nor_its_files(
    engine: FakeDockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docker method was isolated already: a container gets the request's variables and
    volumes only, its own PID, IPC and network namespaces, and no host directory the
    operator did not name (the server's working directory, config and state included)."""
    secret = "server-secret-3b9f01c2"
    monkeypatch.setenv("DH_MCP_SERVER_SECRET", secret)
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.chdir(tmp_path)
    engine.images.add(IMAGE)
    engine.exit_on_start = True  # only the create request matters here
    tracker = InstanceTracker(tmp_path / "state")
    with pytest.raises(SessionUnavailableError, match="container exited"):
        await launch_worker(_request(environment_vars={"TZ": "UTC"}), tracker)
    create = engine.calls("POST", "^/containers/create$")[-1]
    assert secret not in create.body.decode()
    spec = create.json()
    assert sorted(item.split("=", 1)[0] for item in spec["Env"]) == ["START_OPTS", "TZ"]
    host_config = spec["HostConfig"]
    assert not host_config.get("Binds") and not host_config.get("Mounts")
    for mode in ("PidMode", "IpcMode", "NetworkMode", "UTSMode", "UsernsMode"):
        assert host_config.get(mode) in (None, "", "default"), mode
    assert not host_config.get("Privileged") and not host_config.get("Devices")
    await tracker.shutdown()


async def test_container_never_ready_times_out(engine: FakeDockerEngine, tmp_path: Path) -> None:
    engine.images.add(IMAGE)
    engine.mapped_port = free_port()
    tracker = InstanceTracker(tmp_path / "state")
    started = time.monotonic()
    with pytest.raises(DeephavenTimeoutError, match="not ready after 1 s"):
        await launch_worker(_request(startup_timeout_seconds=1.0), tracker)
    assert time.monotonic() - started < 20
    assert engine.containers == {}
    await tracker.shutdown()


@pytest.mark.integration
async def test_rejected_credentials_fail_without_retries(
    engine: FakeDockerEngine, target_worker: _Target, tmp_path: Path
) -> None:
    engine.images.add(IMAGE)
    engine.mapped_port = target_worker.port  # a PSK worker; we claim it is anonymous
    tracker = InstanceTracker(tmp_path / "state")
    with pytest.raises(SessionUnavailableError, match="rejected the launcher's credentials"):
        await launch_worker(
            _request(auth_type="Anonymous", auth_token=None, startup_retries=2), tracker
        )
    assert len(engine.calls("POST", "^/containers/create$")) == 1
    assert engine.containers == {}
    await tracker.shutdown()


async def test_unreachable_daemon_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv("DOCKER_HOST", dead)
    tracker = InstanceTracker(tmp_path / "state")
    started = time.monotonic()
    with pytest.raises(DependencyMissingError, match="Docker daemon is not reachable") as info:
        await launch_worker(_request(startup_retries=2), tracker)
    assert dead in str(info.value)
    assert "docker ps" in str(info.value)
    assert time.monotonic() - started < 15
    assert recorded_workers(tracker) == ()
    await tracker.shutdown()


async def test_orphan_cleanup_removes_dead_instance_containers_by_label(
    engine: FakeDockerEngine, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    dead_id = "feedface" * 4
    live = InstanceTracker(state)
    await live.register(TrackedWorker(key="l", session_name="l", launch_method="docker"))
    dead_a = engine.add_container("a", {"deephaven-mcp.instance": dead_id})
    dead_b = engine.add_container("b", {"deephaven-mcp.instance": dead_id}, status="exited")
    live_c = engine.add_container("c", {"deephaven-mcp.instance": live.instance_id})
    other = engine.add_container("d", {"com.example": "unrelated"})
    record = InstanceRecord(
        instance_id=dead_id,
        owner_pid=2**22 + 7,  # beyond pid_max on this machine: certainly not running
        owner_create_time=1.0,
        started_at=1.0,
        workers=(
            TrackedWorker(key="x", session_name="x", launch_method="docker", container_id=dead_a),
        ),
    )
    path = state / "instances" / f"{dead_id}.json"
    _write_json_atomic(path, record.to_json())

    report = await InstanceTracker(state).cleanup_orphans()

    assert report.instances_cleaned == [dead_id]
    assert report.containers_removed == 2
    assert set(engine.containers) == {live_c, other}
    deleted = {r.path for r in engine.calls("DELETE", "^/containers/")}
    assert deleted == {f"/containers/{dead_a}", f"/containers/{dead_b}"}
    lists = engine.calls("GET", "^/containers/json$")
    assert lists[0].query["filters"] == [f'{{"label": ["deephaven-mcp.instance={dead_id}"]}}']
    assert not path.exists()
    assert live.record_path.exists()
    await live.unregister("l")
    await live.shutdown()


async def test_orphan_cleanup_keeps_docker_record_when_daemon_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    state = tmp_path / "state"
    record = InstanceRecord(
        instance_id="gone",
        owner_pid=2**22 + 9,
        owner_create_time=1.0,
        started_at=1.0,
        workers=(
            TrackedWorker(key="d", session_name="d", launch_method="docker", container_id="c1"),
            TrackedWorker(
                key="p", session_name="p", launch_method="python", pid=2**22 + 11, create_time=1.0
            ),
        ),
    )
    path = state / "instances" / "gone.json"
    path.parent.mkdir(mode=0o700, parents=True)
    state.chmod(0o700)
    _write_json_atomic(path, record.to_json())
    report = await InstanceTracker(state).cleanup_orphans()
    assert report.records_kept == ["gone"]
    assert report.instances_cleaned == []
    kept = read_record(path)
    assert kept is not None
    assert [w.key for w in kept.workers] == ["d"]
