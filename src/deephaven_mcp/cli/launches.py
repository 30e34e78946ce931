"""Records of running ``dh-mcp launch`` processes, so ``dh-mcp stop`` in another shell finds
them.

A launched worker lives as long as the ``DeephavenSystems`` that launched it, so ``launch``
stays in the foreground; its record (``<state dir>/cli-launches/<name>.json``, mode 0600)
names the process to signal. The process, not the worker, is what ``stop`` signals: the
launch process then stops its worker itself and removes the record.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import psutil

from deephaven_mcp.errors import DeephavenTimeoutError, InvalidArgumentError, NotFoundError

RECORDS: Final = "cli-launches"
_POLL: Final = 0.1
# Session names the API accepts are simple words; anything else is no file name either.
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class LaunchRecord:
    """One running ``dh-mcp launch``: its process, and its worker once started."""

    session_name: str
    pid: int
    create_time: float
    system_name: str | None = None  # the Enterprise system; None for a Community worker
    session_id: str | None = None
    connection_url: str | None = None
    worker_pid: int | None = None


def _path(state_dir: Path, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise InvalidArgumentError(
            f"session name {name!r}: use 1 to 64 letters, digits, '_' or '-'"
        )
    return state_dir / RECORDS / f"{name}.json"


def _alive(record: LaunchRecord) -> bool:
    """Whether the record's process still runs (the same process, not a reused pid)."""
    try:
        return bool(psutil.Process(record.pid).create_time() == record.create_time)
    except psutil.Error:
        return False


def read(state_dir: Path, name: str) -> LaunchRecord | None:
    """The record of a running launch of ``name``; a stale one is removed."""
    path = _path(state_dir, name)
    try:
        record = LaunchRecord(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):  # a torn or foreign file: not a launch we can stop
        path.unlink(missing_ok=True)
        return None
    if not _alive(record):
        path.unlink(missing_ok=True)
        return None
    return record


def claim(state_dir: Path, name: str, system_name: str | None = None) -> LaunchRecord:
    """Record this process as the launch of ``name`` (on ``system_name`` for an Enterprise
    worker); refused while another one of that name runs, of either kind, since ``stop``
    takes only the name."""
    running = read(state_dir, name)
    if running is not None:
        raise InvalidArgumentError(
            f"'{name}' is already launched by process {running.pid}; "
            f"stop it first with `dh-mcp stop {name}`"
        )
    record = LaunchRecord(name, os.getpid(), psutil.Process().create_time(), system_name)
    _write(state_dir, record, exclusive=True)
    return record


def update(state_dir: Path, record: LaunchRecord) -> None:
    """Rewrite a claimed record (e.g. with the worker's session id once it runs)."""
    _write(state_dir, record, exclusive=False)


def _write(state_dir: Path, record: LaunchRecord, *, exclusive: bool) -> None:
    path = _path(state_dir, record.session_name)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(asdict(record), handle)
    try:
        if exclusive:
            try:
                os.link(temporary, path)  # fails if another launch claimed it first
            except FileExistsError:
                raise InvalidArgumentError(
                    f"'{record.session_name}' is being launched by another process"
                ) from None
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def release(state_dir: Path, record: LaunchRecord) -> None:
    """Remove this process's record (left alone if another process owns it now)."""
    path = _path(state_dir, record.session_name)
    with contextlib.suppress(FileNotFoundError, ValueError, TypeError):
        current = json.loads(path.read_text(encoding="utf-8"))
        if current.get("pid") == record.pid:
            path.unlink(missing_ok=True)


def stop(state_dir: Path, name: str, timeout: float) -> LaunchRecord:
    """Signal the launch of ``name`` to stop its worker and wait until it has exited."""
    record = read(state_dir, name)
    if record is None:
        raise NotFoundError(f"no running `dh-mcp launch {name}` is recorded in {state_dir}")
    process = psutil.Process(record.pid)
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running(process):
        if time.monotonic() > deadline:
            raise DeephavenTimeoutError(
                f"the launch of '{name}' (process {record.pid}) did not stop within {timeout:g} s"
            )
        time.sleep(_POLL)
    return record


def _running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs; an exited one its parent has not reaped yet (a zombie)
    has finished too."""
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
