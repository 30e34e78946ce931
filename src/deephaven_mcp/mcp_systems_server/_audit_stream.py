"""Where audit records go: one JSON object per line, always on, to stderr and a file.

The stream has its own logger (:data:`AUDIT_LOGGER_NAME`) with its own handlers, its own
level and ``propagate`` off, so neither ``PYTHONLOGLEVEL`` nor
:func:`deephaven_mcp.runtime.logging.setup_logging` can silence it or reformat it. It always
writes to stderr (whatever ``sys.stderr`` is at the time) and, once
:func:`configure_audit_file` has opened ``security.audit.path`` at start, to that file as
well.

Every string is redacted, bounded and JSON-escaped with ``ensure_ascii``, so no
agent-supplied text can begin a line; arguments appear only as a SHA-256 digest. The file
is created with mode 0600 and only ever appended to; an existing file that is not a
regular file owned by this user, or that its group or others may access, stops the start.
A write that fails later is logged once as a warning and the stderr copy carries on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TextIO

from deephaven_mcp.errors import ConfigError
from deephaven_mcp.runtime.logging import redact

AUDIT_LOGGER_NAME: Final = "deephaven_mcp.audit"
MAX_FIELD_CHARS: Final = 160
FILE_MODE: Final = 0o600

_STDERR_HANDLER: Final = "deephaven-mcp-audit-stderr"
_FILE_HANDLER: Final = "deephaven-mcp-audit-file"

_log = logging.getLogger(__name__)  # ordinary log: not the audit logger, never recursive

Outcome = Literal["ok", "error", "exception"]


def bounded(value: str) -> str:
    """``value`` redacted, then cut to :data:`MAX_FIELD_CHARS` characters."""
    text = redact(value)  # before cutting, so a secret is never left half-visible
    if len(text) > MAX_FIELD_CHARS:
        text = text[: MAX_FIELD_CHARS - 1] + "…"
    return text


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the arguments' canonical JSON: keys sorted, no spaces, ASCII.

    The same as ``hashlib.sha256(json.dumps(arguments, sort_keys=True,
    separators=(",", ":")).encode()).hexdigest()``, so an operator holding the arguments
    they expect can check them against a line.
    """
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited tool call; :meth:`line` renders it."""

    tool: str
    session: str
    caller: str
    transport: str
    outcome: Outcome
    duration_ms: float
    args_sha256: str
    time: datetime = field(default_factory=_utc_now)
    """When the call began."""

    def line(self) -> str:
        """The JSON object on one line, every string bounded, redacted and ASCII-escaped."""
        when = self.time.astimezone(UTC).isoformat(timespec="milliseconds")
        fields = {
            "time": when.replace("+00:00", "Z"),
            "tool": bounded(self.tool),
            "session": bounded(self.session),
            "caller": bounded(self.caller),
            "transport": bounded(self.transport),
            "outcome": self.outcome,
            "duration_ms": round(self.duration_ms, 1),
            "args_sha256": self.args_sha256,
        }
        return json.dumps(fields, ensure_ascii=True, allow_nan=False)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to ``sys.stderr`` as it is when the line is written (redirected or not)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.set_name(_STDERR_HANDLER)

    def emit(self, record: logging.LogRecord) -> None:
        if sys.stderr is not None:  # none at all under pythonw
            self.stream = sys.stderr  # not setStream: that flushes the old, maybe closed one
            super().emit(record)


class _FileHandler(logging.StreamHandler[TextIO]):
    """Appends to the audit file; a failing write warns once and never raises."""

    def __init__(self, path: Path, stream: TextIO) -> None:
        super().__init__(stream)
        self.set_name(_FILE_HANDLER)
        self.path = path
        self.failing = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            self.stream.flush()  # to the OS, not to the disk: no fsync on the event loop
        except Exception as exc:  # any failure: the server must outlive its audit file
            if not self.failing:
                self.failing = True
                _log.warning(
                    "cannot write the audit file %s (%s); audit lines go to stderr only "
                    "until it works again",
                    self.path,
                    exc,
                )
            return
        if self.failing:
            self.failing = False
            _log.warning("the audit file %s is written to again", self.path)

    def close(self) -> None:
        self.acquire()
        try:
            with contextlib.suppress(OSError):
                self.stream.close()
        finally:
            self.release()
        super().close()


def _audit_logger() -> logging.Logger:
    logger = logging.getLogger(AUDIT_LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.disabled = False
    if not any(handler.get_name() == _STDERR_HANDLER for handler in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    return logger


_audit = _audit_logger()


def write_audit(event: AuditEvent) -> None:
    """Write ``event`` to every audit sink (a quick local append; never raises)."""
    _audit.info(event.line())


def _refuse_unsafe(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"security.audit.path {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise ConfigError(f"security.audit.path {path} belongs to another user")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"security.audit.path {path} may be accessed by its group or others "
            f"(mode {mode:04o}); chmod 600 it"
        )


def _open_for_append(path: Path) -> TextIO:
    if not path.parent.is_dir():
        raise ConfigError(f"security.audit.path {path}: directory {path.parent} does not exist")
    try:
        _refuse_unsafe(path, path.lstat())
    except FileNotFoundError:
        pass  # created below, 0600
    except OSError as exc:
        raise ConfigError(f"security.audit.path {path}: {exc.strerror}") from None
    # O_NOFOLLOW: never through a symlink; O_NONBLOCK: a FIFO swapped in cannot hang us
    # (no effect on a regular file). No O_TRUNC, ever.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        raise ConfigError(f"security.audit.path {path}: cannot open it ({exc.strerror})") from None
    try:
        _refuse_unsafe(path, os.fstat(fd))  # what was opened, not what was looked at
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def configure_audit_file(path: str | None) -> None:
    """Send the audit stream to ``path`` as well as stderr (``None``: stderr only).

    Called once at start with ``security.audit.path``; raises :class:`ConfigError` when the
    file cannot be opened for append or is unsafe (not a regular file, not ours, or open to
    group or others). Replaces (and closes) a file configured before.
    """
    handler: _FileHandler | None = None
    if path is not None:
        resolved = Path(os.path.expanduser(path))
        handler = _FileHandler(resolved, _open_for_append(resolved))
        handler.setFormatter(logging.Formatter("%(message)s"))
    for existing in list(_audit.handlers):
        if existing.get_name() == _FILE_HANDLER:
            _audit.removeHandler(existing)
            existing.close()
    if handler is not None:
        _audit.addHandler(handler)
