"""Instance tracker: record format, orphan cleanup safety (PID reuse), concurrent writers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from deephaven_mcp.launchers import InstanceRecord, InstanceTracker, TrackedWorker
from deephaven_mcp.launchers.instance_tracker import _write_json_atomic, read_record
from deephaven_mcp.launchers.python_launcher import BOOTSTRAP_PATH, instance_marker
from tests.launchers._helpers import recorded_workers

REPO_ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> tuple[int, float]:
    """PID and start time of a process that has exited (and been reaped)."""
    process = subprocess.Popen(["sleep", "0"])
    create_time = psutil.Process(process.pid).create_time()
    process.wait()
    return process.pid, create_time


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; all killed afterwards."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _spawn(processes: list[subprocess.Popen[bytes]], *args: str) -> tuple[int, float]:
    process = subprocess.Popen(list(args))
    processes.append(process)
    return process.pid, psutil.Process(process.pid).create_time()


def _python_entry(key: str, pid: int, create_time: float, marker: tuple[str, ...]) -> TrackedWorker:
    return TrackedWorker(
        key=key,
        session_name=key,
        launch_method="python",
        pid=pid,
        create_time=create_time,
        marker=marker,
    )


def _write_record(state_dir: Path, record: InstanceRecord) -> Path:
    path = state_dir / "instances" / f"{record.instance_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json_atomic(path, record.to_json())
    return path


async def test_record_round_trip(tmp_path: Path) -> None:
    tracker = InstanceTracker(tmp_path)
    python_entry = _python_entry("py-1", 4242, 1234.5, instance_marker(tracker.instance_id))
    docker_entry = TrackedWorker(
        key="dk-1", session_name="dk", launch_method="docker", container_name="dh-mcp-dk-x"
    )
    await tracker.register(python_entry)
    await tracker.register(docker_entry)
    await tracker.update("dk-1", container_id="c0ffee")

    raw = json.loads(tracker.record_path.read_text())
    assert raw["version"] == 1
    assert raw["owner_pid"] == os.getpid()
    assert raw["owner_create_time"] == psutil.Process().create_time()
    assert raw["workers"][0]["marker"] == [
        str(BOOTSTRAP_PATH),
        f"--instance-id={tracker.instance_id}",
    ]
    record = read_record(tracker.record_path)
    assert record is not None
    assert record.instance_id == tracker.instance_id
    assert record.workers == (
        python_entry,
        TrackedWorker(
            key="dk-1",
            session_name="dk",
            launch_method="docker",
            container_name="dh-mcp-dk-x",
            container_id="c0ffee",
        ),
    )
    assert InstanceRecord.from_json(record.to_json()) == record
    assert oct(tracker.state_dir.stat().st_mode & 0o777) == oct(0o700)

    await tracker.unregister("py-1")
    assert [w.key for w in recorded_workers(tracker)] == ["dk-1"]
    await tracker.unregister("dk-1")
    await tracker.shutdown()
    assert not tracker.record_path.exists()


async def test_cleanup_never_kills_a_process_that_does_not_match(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    dead_pid, dead_time = _dead_pid()
    dead_id = "deadbeef" * 4
    marker = instance_marker(dead_id)
    # An unrelated live process that "reused" a recorded PID: wrong start time.
    reused_pid, reused_time = _spawn(spawned, "sleep", "300")
    # Right PID and start time, but no launcher marker on its command line.
    unmarked_pid, unmarked_time = _spawn(spawned, "sleep", "301")
    # A marker for a different instance only.
    other_pid, other_time = _spawn(
        spawned, sys.executable, "-c", "import time; time.sleep(300)", *instance_marker("other")
    )
    # The genuine orphan: everything matches.
    orphan_pid, orphan_time = _spawn(
        spawned, sys.executable, "-c", "import time; time.sleep(300)", *marker
    )
    record = InstanceRecord(
        instance_id=dead_id,
        owner_pid=dead_pid,
        owner_create_time=dead_time,
        started_at=time.time(),
        workers=(
            _python_entry("reused", reused_pid, reused_time - 1000.0, marker),
            _python_entry("unmarked", unmarked_pid, unmarked_time, marker),
            _python_entry("other", other_pid, other_time, instance_marker("other")),
            _python_entry("orphan", orphan_pid, orphan_time, marker),
        ),
    )
    path = _write_record(tmp_path, record)
    (tmp_path / "workers" / dead_id / "orphan").mkdir(parents=True)

    report = await InstanceTracker(tmp_path).cleanup_orphans()

    assert report.instances_cleaned == [dead_id]
    assert report.processes_stopped == 1
    assert report.processes_skipped == 3
    assert spawned[3].wait(10) is not None  # the orphan is gone
    for survivor in spawned[:3]:
        assert survivor.poll() is None
    assert not path.exists()
    assert not (tmp_path / "workers" / dead_id).exists()


async def test_owner_pid_reuse_counts_as_dead_and_live_owners_are_left_alone(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    live_pid, live_time = _spawn(spawned, "sleep", "302")
    # The recorded owner PID is alive but is a different process (start time differs).
    reused = InstanceRecord("reusedowner", live_pid, live_time - 50.0, time.time())
    # A live owner: another tracker of this very process.
    live_tracker = InstanceTracker(tmp_path)
    await live_tracker.register(
        _python_entry("w", live_pid, live_time, instance_marker(live_tracker.instance_id))
    )
    reused_path = _write_record(tmp_path, reused)
    (tmp_path / "instances" / "garbage.json").write_text("{not json")

    cleaner = InstanceTracker(tmp_path)
    await cleaner.start()
    report = await cleaner.cleanup_orphans()

    assert report.instances_cleaned == ["reusedowner"]
    assert not reused_path.exists()
    assert live_tracker.record_path.exists()
    assert cleaner.record_path.exists()
    assert (tmp_path / "instances" / "garbage.json").exists()  # unreadable: left for a human
    assert spawned[0].poll() is None
    await cleaner.shutdown()
    await live_tracker.unregister("w")
    await live_tracker.shutdown()


async def test_concurrent_writes_in_one_process(tmp_path: Path) -> None:
    trackers = [InstanceTracker(tmp_path) for _ in range(4)]

    async def churn(tracker: InstanceTracker, n: int) -> None:
        for i in range(n):
            await tracker.register(_python_entry(f"w{i}", 10_000 + i, 1.0, ("m",)))
            if i % 3 == 0:
                await tracker.unregister(f"w{i}")

    await asyncio.gather(
        *(churn(t, 30) for t in trackers), *(churn(trackers[0], 0) for _ in range(3))
    )
    expected = sorted(f"w{i}" for i in range(30) if i % 3)
    for tracker in trackers:
        assert sorted(w.key for w in recorded_workers(tracker)) == expected
    assert not [p for p in (tmp_path / "instances").iterdir() if p.name.startswith(".tmp-")]


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from deephaven_mcp.launchers import InstanceTracker, TrackedWorker

    async def main() -> None:
        tracker = InstanceTracker(sys.argv[1], instance_id=sys.argv[2])
        for i in range(40):
            await tracker.register(TrackedWorker(key=f"k{i}", session_name="s",
                                                 launch_method="docker"))
        print("done", flush=True)
        sys.stdin.read()  # stay alive (a live owner) until the test closes stdin

    asyncio.run(main())
    """
)


async def test_concurrent_instances_and_cleaners_across_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), f"writer{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
        )
        for n in range(2)
    ]
    try:
        # Cleaners run while the writers rewrite their records; live records must survive.
        pending = []
        for writer in writers:
            assert writer.stdout is not None
            pending.append(asyncio.ensure_future(asyncio.to_thread(writer.stdout.readline)))
        rounds = 0
        deadline = time.monotonic() + 60
        while (not all(t.done() for t in pending) or rounds < 5) and time.monotonic() < deadline:
            await asyncio.gather(*(InstanceTracker(tmp_path).cleanup_orphans() for _ in range(2)))
            rounds += 1
        assert [await t for t in pending] == [b"done\n", b"done\n"]
        for n in range(2):
            record = read_record(tmp_path / "instances" / f"writer{n}.json")
            assert record is not None
            assert [w.key for w in record.workers] == [f"k{i}" for i in range(40)]
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()
            for pipe in (writer.stdin, writer.stdout):
                if pipe is not None:
                    pipe.close()
    # Owners are now dead: a cleaner removes their records (no docker entries have ids, and
    # an unreachable docker daemon keeps them, so point DOCKER_HOST at a closed port).
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    report = await InstanceTracker(tmp_path).cleanup_orphans()
    assert sorted(report.records_kept) == ["writer0", "writer1"]
    record = read_record(tmp_path / "instances" / "writer0.json")
    assert record is not None
    assert len(record.workers) == 40


async def test_cleanup_skips_records_whose_id_is_unsafe_or_not_their_file_name(
    tmp_path: Path,
    spawned: list[subprocess.Popen[bytes]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # no docker call may succeed
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    instances = state / "instances"
    instances.mkdir(mode=0o700)
    dead_pid, dead_time = _dead_pid()
    # What a crafted "../../x" would reach: state/workers/../../x = tmp_path/x.
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    # What a record named a.json but claiming to be "bbbb" would reach.
    inside = state / "workers" / "bbbb"
    inside.mkdir(parents=True)
    (inside / "keep.txt").write_text("precious")

    paths = []
    # Without a docker entry an accepted dead record is deleted with its workers directory;
    # with one (and Docker unreachable) it would be rewritten and its containers looked up.
    for file_stem, claimed_id, with_docker in [
        ("evil", "../../x", False),
        ("aaaa", "bbbb", False),
        ("newline", "newline\n", True),
        ("long", "../" * 5000, True),
    ]:
        # A live process carrying exactly the marker the record claims: a kill would work.
        pid, create_time = _spawn(
            spawned,
            sys.executable,
            "-c",
            "import time; time.sleep(300)",
            *instance_marker(claimed_id),
        )
        record = InstanceRecord(
            instance_id=claimed_id,
            owner_pid=dead_pid,
            owner_create_time=dead_time,
            started_at=time.time(),
            workers=(
                _python_entry("w", pid, create_time, instance_marker(claimed_id)),
                *([TrackedWorker(key="d", session_name="d", launch_method="docker")] * with_docker),
            ),
        )
        path = instances / f"{file_stem}.json"
        _write_json_atomic(path, record.to_json())
        paths.append(path)
    before = {path: path.read_bytes() for path in paths}

    report = await InstanceTracker(state).cleanup_orphans()

    assert report.instances_cleaned == []
    assert report.records_kept == []
    assert report.processes_stopped == 0
    assert report.processes_skipped == 0
    for process in spawned:
        assert process.poll() is None  # nothing was killed
    assert (outside / "keep.txt").read_text() == "precious"
    assert (inside / "keep.txt").read_text() == "precious"
    assert {path: path.read_bytes() for path in paths} == before  # left for a human
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "skipping" in r.message]
    assert len(warnings) == 4
    assert "'../../x'" in caplog.text
    assert "does not match the file name" in caplog.text
    assert all(len(r.getMessage()) < 300 for r in caplog.records)
