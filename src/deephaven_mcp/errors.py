"""The exceptions :class:`~deephaven_mcp.DeephavenSystems` raises (public API).

Every expected failure is a :class:`DeephavenMcpError` subclass whose message is written
for a human and is safe to show to an agent: the MCP tools return it verbatim (after
redaction) in their failure envelope. Anything else is a bug or an unexpected library
failure: the tools log it and answer with a short, generic message, so gRPC debug strings
and Java stack frames never reach the agent.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeephavenMcpError",
    "DeephavenTimeoutError",
    "DependencyMissingError",
    "InvalidArgumentError",
    "LimitExceededError",
    "NotFoundError",
    "PermissionDeniedError",
    "SessionUnavailableError",
]


class DeephavenMcpError(Exception):
    """Base class: the message is written for a human and safe to return."""


class ConfigError(DeephavenMcpError):
    """The configuration file is missing, unreadable, or invalid."""


class InvalidArgumentError(DeephavenMcpError):
    """A tool argument is malformed or out of range."""


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
