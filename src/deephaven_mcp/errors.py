"""The exceptions :class:`~deephaven_mcp.DeephavenSystems` raises (public API).

Every expected failure is a :class:`DeephavenMcpError` subclass whose message is written
for a human and is safe to show to an agent: the MCP tools return it verbatim (after
redaction) in their failure envelope. Anything else is a bug or an unexpected library
failure: the tools log it and answer with a short, generic message, so gRPC debug strings
and Java stack frames never reach the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ConfigError",
    "DeephavenMcpError",
    "DeephavenTimeoutError",
    "DependencyMissingError",
    "InvalidArgumentError",
    "LimitExceededError",
    "NotFoundError",
    "PermissionDeniedError",
    "ScriptFailedError",
    "SessionUnavailableError",
]


class DeephavenMcpError(Exception):
    """Base class: the message is written for a human and safe to return.

    ``details`` is None or a JSON-compatible object the MCP failure envelope carries next to
    the message (see :class:`ScriptFailedError`).
    """

    details: dict[str, Any] | None = None


class ConfigError(DeephavenMcpError):
    """The configuration file is missing, unreadable, or invalid."""


class InvalidArgumentError(DeephavenMcpError):
    """A tool argument is malformed or out of range."""


class ScriptFailedError(InvalidArgumentError):
    """A script raised an error. The message is the error line; ``stdout``, ``stderr`` (None
    where not captured, e.g. Groovy) and ``tables`` are what it printed and changed before
    failing, with the same fields as a successful run in ``details``."""

    def __init__(
        self,
        message: str,
        *,
        stdout: str | None = None,
        stdout_dropped_bytes: int = 0,
        stderr: str | None = None,
        stderr_dropped_bytes: int = 0,
        tables: Sequence[dict[str, Any]] = (),
        tables_truncated: bool = False,
    ) -> None:
        super().__init__(message)
        self.stdout = stdout
        self.stdout_dropped_bytes = stdout_dropped_bytes
        self.stderr = stderr
        self.stderr_dropped_bytes = stderr_dropped_bytes
        self.tables = list(tables)
        self.tables_truncated = tables_truncated
        self.details = {
            "stdout": stdout,
            "stdout_truncated": stdout_dropped_bytes > 0,
            "stdout_dropped_bytes": stdout_dropped_bytes,
            "stderr": stderr,
            "stderr_truncated": stderr_dropped_bytes > 0,
            "stderr_dropped_bytes": stderr_dropped_bytes,
            "tables": self.tables,
            "tables_truncated": tables_truncated,
        }


class NotFoundError(DeephavenMcpError):
    """A session, table, system or query does not exist."""


class SessionUnavailableError(DeephavenMcpError):
    """A worker could not be reached or refused the connection."""


class DeephavenTimeoutError(DeephavenMcpError):
    """A blocking Deephaven call did not finish in time."""


class LimitExceededError(DeephavenMcpError):
    """A request would exceed a configured or built-in limit."""


class PermissionDeniedError(DeephavenMcpError):
    """The operation is disabled by configuration."""


class DependencyMissingError(DeephavenMcpError):
    """An optional dependency needed by this operation is not installed."""
