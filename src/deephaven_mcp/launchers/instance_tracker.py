"""Which workers each MCP server instance launched, so none outlives its owner for long.

State directory layout (default ``~/.cache/deephaven-mcp``; env ``DH_MCP_STATE_DIR`` or the
constructor argument override it; everything is private to the user, mode 0700/0600)::

    instances/<instance id>.json   one record per live (or crashed) MCP server instance
    instances/.cleanup.lock        flock held while an instance cleans up orphans
    workers/<instance id>/<key>/   a python worker's cwd: worker.log, ready.json, init script
    access/<instance id>-<key>.txt a generated token's access banner (when stderr is no
                                   terminal); deleted with its worker

A record names its owner (PID + process start time) and every worker it launched (python:
PID + start time + command-line marker; docker: container id/name). Each instance rewrites
only its own record, always through a temp file and ``os.replace``, so readers never see a
partial file; cleaners serialise on the flock. At start-up, :meth:`cleanup_orphans` stops
the workers of instances whose owner is gone, never touching a process whose identity does
not match exactly (PID reuse).

Because cleanup deletes directories and signals processes named in record files, neither
the files nor the directory are trusted blindly: the state directory must belong to the
server's user and be writable by nobody else (:func:`check_state_dir`, else start-up
fails), and a record is acted on only if its instance id is well formed and equals its
file name (:func:`record_id_problem`), so a crafted id such as ``../../x`` cannot steer a
delete or a kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Final

import psutil

from deephaven_mcp.errors import ConfigError, DeephavenMcpError, InvalidArgumentError
from deephaven_mcp.launchers.docker_launcher import remove_instance_containers
from deephaven_mcp.launchers.models import LaunchMethod
from deephaven_mcp.launchers.processes import is_alive, terminate_verified
from deephaven_mcp.launchers.worker import LaunchedWorker, WorkerControl
from deephaven_mcp.runtime.blocking import call_blocking, call_blocking_owned

_log = logging.getLogger(__name__)

RECORD_VERSION: Final = 1
LOCK_TIMEOUT: Final = 60.0
IO_TIMEOUT: Final = 30.0
ORPHAN_STOP_GRACE: Final = 10.0
# Instance ids (``uuid4().hex`` unless given): also path components and docker label
# values, so nothing that could climb out of a directory. Use with ``fullmatch``.
INSTANCE_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Longest excerpt of an untrusted value (a record's id or file name) put in a log line.
LOG_EXCERPT_CHARS: Final = 80
# Any permission for group or others: the directory holds worker logs, access files and
# every worker's record, so like ~/.ssh it is the owner's alone.
_FOREIGN_BITS: Final = stat.S_IRWXG | stat.S_IRWXO
_KEY_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")


def default_state_dir() -> Path:
    """Where records go unless the server's settings name a directory (DH_MCP_STATE_DIR)."""
    return Path.home() / ".cache" / "deephaven-mcp"


class UnsafeStateDirError(ConfigError):
    """The state directory could be changed by another user, who could then make orphan
    cleanup delete or kill what they choose; the server refuses to start."""


def check_state_dir(path: Path, expected_uid: int | None = None) -> None:
    """Raise UnsafeStateDirError unless ``path`` (symlinks followed) is a directory owned by
    ``expected_uid`` (default: this process's user) with no group or other permission bits."""
    uid = os.getuid() if expected_uid is None else expected_uid
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeStateDirError(
            f"state directory {path} is not a directory; set DH_MCP_STATE_DIR to a directory"
        )
    if info.st_uid != uid:
        raise UnsafeStateDirError(
            f"state directory {path} is owned by uid {info.st_uid}, not by this server's user "
            f"(uid {uid}); run `chown {uid} {path} && chmod 700 {path}` or set "
            "DH_MCP_STATE_DIR to a directory of your own"
        )
    if info.st_mode & _FOREIGN_BITS:
        raise UnsafeStateDirError(
            f"state directory {path} is open to other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}; it must be 700, like ~/.ssh); run "
            f"`chmod 700 {path}` or set DH_MCP_STATE_DIR to a private directory"
        )


def ensure_state_dir(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """Create the state directory (mode 0700) if missing and check it is private (blocking).

    Start-up code can call this before serving to fail early with a clean message; the
    tracker calls it before every write anyway. Raises UnsafeStateDirError.
    """
    path = Path(state_dir).expanduser() if state_dir is not None else default_state_dir()
    with contextlib.suppress(FileExistsError):  # a file there: check_state_dir says so
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    check_state_dir(path)
    return path


def _excerpt(value: object) -> str:
    """``repr`` of an untrusted value, cut to :data:`LOG_EXCERPT_CHARS` for log lines."""
    text = repr(value)
    if len(text) <= LOG_EXCERPT_CHARS:
        return text
    return f"{text[:LOG_EXCERPT_CHARS]}... ({len(text)} chars)"


def is_instance_id(value: str) -> bool:
    """True for a well-formed instance id (safe as a path component and a label value)."""
    return INSTANCE_ID_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True)
class TrackedWorker:
    """One launched worker as written in a record."""

    key: str
    session_name: str
    launch_method: LaunchMethod
    pid: int | None = None
    create_time: float | None = None
    marker: tuple[str, ...] = ()
    container_id: str | None = None
    container_name: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrackedWorker:
        """One worker as read from a record (raises on a malformed entry)."""
        method = data["launch_method"]
        if method not in ("python", "docker"):
            raise ValueError(f"unknown launch method {method!r}")
        pid, create_time = data.get("pid"), data.get("create_time")
        return cls(
            key=str(data["key"]),
            session_name=str(data["session_name"]),
            launch_method=method,
            pid=int(pid) if pid is not None else None,
            create_time=float(create_time) if create_time is not None else None,
            marker=tuple(str(item) for item in data.get("marker", ())),
            container_id=data.get("container_id"),
            container_name=data.get("container_name"),
        )


@dataclass(frozen=True)
class InstanceRecord:
    """The file one server instance keeps: who owns it and the workers it launched."""

    instance_id: str
    owner_pid: int
    owner_create_time: float
    started_at: float
    workers: tuple[TrackedWorker, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as written, with its format version."""
        data = asdict(self)
        data["version"] = RECORD_VERSION
        data["workers"] = [{**asdict(w), "marker": list(w.marker)} for w in self.workers]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InstanceRecord:
        """A record as read (raises on another format version or a malformed field)."""
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported record version {data.get('version')!r}")
        return cls(
            instance_id=str(data["instance_id"]),
            owner_pid=int(data["owner_pid"]),
            owner_create_time=float(data["owner_create_time"]),
            started_at=float(data["started_at"]),
            workers=tuple(TrackedWorker.from_json(w) for w in data.get("workers", [])),
        )


@dataclass
class CleanupReport:
    """What :meth:`InstanceTracker.cleanup_orphans` did."""

    instances_cleaned: list[str] = field(default_factory=list)
    processes_stopped: int = 0
    # Recorded processes that were already gone or did not match (PID reuse): left alone.
    processes_skipped: int = 0
    containers_removed: int = 0
    # Dead instances whose record is kept because Docker was unreachable.
    records_kept: list[str] = field(default_factory=list)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_record(path: Path) -> InstanceRecord | None:
    """Parse one record file (blocking); None if it is gone or unreadable."""
    try:
        return InstanceRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _log.warning(
            "ignoring unreadable instance record %s: %s", _excerpt(path.name), _excerpt(str(exc))
        )
        return None


def record_id_problem(path: Path, record: InstanceRecord) -> str | None:
    """Why ``record`` must not be acted on, or None: its id must be a valid instance id and
    equal its file's name, since cleanup builds paths and process markers from it."""
    if not is_instance_id(record.instance_id):
        return f"invalid instance id {_excerpt(record.instance_id)}"
    if record.instance_id != path.stem:
        return f"instance id {_excerpt(record.instance_id)} does not match the file name"
    return None


def _acquire_lock(path: Path, timeout: float) -> IO[str] | None:
    handle = path.open("a+")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return None
                time.sleep(0.05)
    except BaseException:
        handle.close()
        raise


def _release_lock(handle: IO[str] | None) -> None:
    if handle is not None:
        handle.close()


class InstanceTracker:
    """The record of this MCP server instance and the workers it launched."""

    def __init__(
        self, state_dir: str | os.PathLike[str] | None = None, *, instance_id: str | None = None
    ) -> None:
        self.state_dir = (
            Path(state_dir).expanduser() if state_dir is not None else default_state_dir()
        )
        self.instance_id = instance_id or uuid.uuid4().hex
        if not is_instance_id(self.instance_id):
            raise InvalidArgumentError(f"invalid instance id {_excerpt(self.instance_id)}")
        self.records_dir = self.state_dir / "instances"
        self.record_path = self.records_dir / f"{self.instance_id}.json"
        self.workers_dir = self.state_dir / "workers" / self.instance_id
        self.access_dir = self.state_dir / "access"
        me = psutil.Process()
        self._owner_pid = me.pid
        self._owner_create_time = me.create_time()
        self._started_at = time.time()
        self._entries: dict[str, TrackedWorker] = {}
        self._live: dict[str, LaunchedWorker] = {}
        # Started but not ready yet: shutdown must stop these too, or a worker launching
        # when the server is told to stop would keep running.
        self._starting: dict[str, WorkerControl] = {}
        self._write_lock = asyncio.Lock()
        self._closed = False

    # -- own record -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` started: no new workers are accepted."""
        return self._closed

    @property
    def workers(self) -> list[LaunchedWorker]:
        """Ready workers launched by this instance and not yet stopped."""
        return list(self._live.values())

    @property
    def entries(self) -> list[TrackedWorker]:
        """Every worker in this instance's record, ready or still starting."""
        return list(self._entries.values())

    def new_worker_key(self, session_name: str) -> str:
        """A key unique to one launch, readable as the session's name (filename-safe)."""
        return f"{_KEY_UNSAFE.sub('-', session_name)}-{uuid.uuid4().hex[:8]}"

    def _ensure_dirs(self) -> None:
        """Create the directories (0700) after checking the state directory is private."""
        ensure_state_dir(self.state_dir)
        # Each level on its own: mkdir(parents=True) gives the parents the umask's mode.
        for directory in (self.records_dir, self.workers_dir.parent, self.workers_dir):
            directory.mkdir(mode=0o700, exist_ok=True)

    def _record(self) -> InstanceRecord:
        return InstanceRecord(
            instance_id=self.instance_id,
            owner_pid=self._owner_pid,
            owner_create_time=self._owner_create_time,
            started_at=self._started_at,
            workers=tuple(self._entries.values()),
        )

    async def _save(self) -> None:
        data = self._record().to_json()

        def write() -> None:
            self._ensure_dirs()
            _write_json_atomic(self.record_path, data)

        await call_blocking("writing the instance record", IO_TIMEOUT, write)

    async def start(self) -> None:
        """Write this instance's (empty) record; registering a worker does it too.

        Raises UnsafeStateDirError if the state directory is not private to this user.
        """
        async with self._write_lock:
            await self._save()

    async def worker_dir(self, key: str) -> Path:
        """Create and return the private directory of one python worker."""
        path = self.workers_dir / key

        def create() -> None:
            self._ensure_dirs()
            path.mkdir(mode=0o700, exist_ok=False)

        await call_blocking("creating the worker directory", IO_TIMEOUT, create)
        return path

    async def register(self, entry: TrackedWorker) -> None:
        """Record a worker as soon as it exists (before it is ready)."""
        if self._closed:
            raise DeephavenMcpError("the MCP server is shutting down; no new sessions can start")
        async with self._write_lock:
            self._entries[entry.key] = entry
            await self._save()

    async def update(self, key: str, **changes: Any) -> None:
        """Change fields of the worker ``key`` in the record (nothing if it is gone)."""
        async with self._write_lock:
            if key in self._entries:
                self._entries[key] = replace(self._entries[key], **changes)
                await self._save()

    def access_file(self, key: str) -> Path:
        """Where the access banner of worker ``key`` goes when it is not printed."""
        return self.access_dir / f"{self.instance_id}-{key}.txt"

    def track_starting(self, key: str, handle: WorkerControl) -> None:
        """Remember a worker that is still starting, so :meth:`shutdown` can stop it."""
        self._starting[key] = handle

    async def unregister(self, key: str) -> None:
        """Forget a stopped worker and delete its directory (logs included)."""
        self._starting.pop(key, None)
        async with self._write_lock:
            self._live.pop(key, None)
            if self._entries.pop(key, None) is not None:
                await self._save()
        directory = self.workers_dir / key
        access = self.access_file(key)

        def remove() -> None:
            shutil.rmtree(directory, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                access.unlink()

        await call_blocking("removing the worker directory", IO_TIMEOUT, remove)

    def adopt(self, worker: LaunchedWorker) -> None:
        """Track a ready worker so :meth:`shutdown` stops it."""
        self._starting.pop(worker.key, None)
        self._live[worker.key] = worker

    async def shutdown(self, timeout: float = 30) -> None:
        """Stop every worker this instance launched, ready or still starting, then delete
        its record."""
        self._closed = True
        workers = list(self._live.values())
        starting = list(self._starting.items())
        self._starting.clear()
        results = await asyncio.gather(
            *(worker.stop(timeout) for worker in workers),
            *(self._stop_starting(key, handle) for key, handle in starting),
            return_exceptions=True,
        )
        names = [worker.session_name for worker in workers] + [key for key, _ in starting]
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                _log.warning("could not stop session %r: %s", name, result)
        async with self._write_lock:
            if self._entries:
                _log.warning(
                    "%d worker(s) could not be stopped; the next start-up will clean them up",
                    len(self._entries),
                )
                return

            await call_blocking(
                "removing the instance record",
                IO_TIMEOUT,
                self._remove_instance,
                self.record_path,
                self.instance_id,
            )

    def _remove_instance(self, record_path: Path, instance_id: str) -> None:
        """Blocking: delete an instance's record, its workers' directories and its access
        files (this instance's at shutdown, a dead one's in orphan cleanup)."""
        with contextlib.suppress(FileNotFoundError):
            record_path.unlink()
        shutil.rmtree(self.state_dir / "workers" / instance_id, ignore_errors=True)
        for access in self.access_dir.glob(f"{instance_id}-*.txt"):
            with contextlib.suppress(FileNotFoundError):
                access.unlink()

    async def _stop_starting(self, key: str, handle: WorkerControl) -> None:
        """A worker that never became ready is killed outright, then forgotten."""
        await handle.stop(0)
        await self.unregister(key)

    # -- other instances ----------------------------------------------------------------

    async def cleanup_orphans(self) -> CleanupReport:
        """Stop the workers of every instance whose owner process is gone, then delete those
        records. Records of live owners (and this instance's) are left alone."""
        report = CleanupReport()
        await call_blocking("creating the state directory", IO_TIMEOUT, self._ensure_dirs)
        # Owned: if this task is cancelled (the server closing) after the lock was taken,
        # the handle is still closed.
        lock = await call_blocking_owned(
            "locking the instance records",
            LOCK_TIMEOUT + 5,
            functools.partial(_acquire_lock, self.records_dir / ".cleanup.lock", LOCK_TIMEOUT),
            _release_lock,
        )
        if lock is None:
            _log.warning("another instance is cleaning up orphaned workers; skipping")
            return report
        try:
            records = await call_blocking(
                "reading instance records", IO_TIMEOUT, self._dead_records
            )
            for path, record in records:
                await self._clean_instance(path, record, report)
        finally:
            lock.close()
        if report.instances_cleaned:
            _log.info(
                "cleaned up %d orphaned instance(s): %d process(es) stopped, "
                "%d container(s) removed",
                len(report.instances_cleaned),
                report.processes_stopped,
                report.containers_removed,
            )
        return report

    def _dead_records(self) -> list[tuple[Path, InstanceRecord]]:
        dead: list[tuple[Path, InstanceRecord]] = []
        for path in sorted(self.records_dir.glob("*.json")):
            if path.name.startswith(".") or path == self.record_path:
                continue
            record = read_record(path)
            if record is None:
                continue
            problem = record_id_problem(path, record)
            if problem is not None:
                _log.warning(
                    "skipping instance record %s (left for a human): %s",
                    _excerpt(path.name),
                    problem,
                )
                continue
            if record.instance_id == self.instance_id:
                continue
            if not is_alive(record.owner_pid, record.owner_create_time):
                dead.append((path, record))
        return dead

    async def _clean_instance(
        self, path: Path, record: InstanceRecord, report: CleanupReport
    ) -> None:
        if record_id_problem(path, record) is not None:  # _dead_records already logged it
            return
        instance_flag = f"--instance-id={record.instance_id}"
        docker_entries: list[TrackedWorker] = []
        for entry in record.workers:
            if entry.launch_method == "docker":
                docker_entries.append(entry)
                continue
            if entry.pid is None or entry.create_time is None or instance_flag not in entry.marker:
                report.processes_skipped += 1
                continue
            stopped = await call_blocking(
                "stopping an orphaned worker",
                ORPHAN_STOP_GRACE + 20,
                terminate_verified,
                entry.pid,
                entry.create_time,
                entry.marker,
                ORPHAN_STOP_GRACE,
            )
            if stopped:
                report.processes_stopped += 1
                _log.info("stopped orphaned worker %r (pid %d)", entry.session_name, entry.pid)
            else:
                report.processes_skipped += 1
        if docker_entries:
            removed = await remove_instance_containers(record.instance_id)
            if removed is None:
                kept = replace(record, workers=tuple(docker_entries))
                await call_blocking(
                    "rewriting an orphaned record",
                    IO_TIMEOUT,
                    _write_json_atomic,
                    path,
                    kept.to_json(),
                )
                report.records_kept.append(record.instance_id)
                return
            report.containers_removed += removed

        await call_blocking(
            "removing an orphaned record",
            IO_TIMEOUT,
            self._remove_instance,
            path,
            record.instance_id,
        )
        report.instances_cleaned.append(record.instance_id)
