"""Exceptions whose message is safe and useful to show to an MCP client.

Anything raised as a :class:`McpError` subclass is reported to the agent verbatim (after
redaction). Any other exception is logged with its traceback at DEBUG and reported as a
short, generic message, so gRPC debug strings and Java stack frames never reach the agent.
"""

from __future__ import annotations


class McpError(Exception):
    """Base class: the message is written for a human and safe to return."""


class ConfigError(McpError):
    """The configuration file is missing, unreadable, or invalid."""


class InvalidArgumentError(McpError):
    """A tool argument is malformed or out of range."""


class NotFoundError(McpError):
    """A session, table, system or query does not exist."""


class SessionUnavailableError(McpError):
    """A worker could not be reached or refused the connection."""


class DeephavenTimeoutError(McpError):
    """A blocking Deephaven call did not finish in time."""


class LimitExceededError(McpError):
    """A request would exceed a configured or built-in limit."""


class PermissionDeniedError(McpError):
    """The operation is disabled by configuration."""


class DependencyMissingError(McpError):
    """An optional dependency needed by this operation is not installed."""
