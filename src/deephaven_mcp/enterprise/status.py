"""Classify a failure to reach an enterprise system from its exception TYPE.

Message text is never inspected: coreplus, gRPC and httpx messages change between versions.
The same type can mean different things at different steps (a ``RuntimeError`` while
reading connection.json is a bad file; during login it is the controller refusing us), so
the caller says which step failed.
"""

from __future__ import annotations

import enum
import ssl
from typing import Final, Literal

import grpc
import httpx

from deephaven_mcp.clients.errors import clip, first_line, grpc_code
from deephaven_mcp.enterprise.adapter import auth_failure_types
from deephaven_mcp.errors import (
    ConfigError,
    DeephavenTimeoutError,
    DependencyMissingError,
    InvalidArgumentError,
)
from deephaven_mcp.runtime.logging import redact

Phase = Literal["open", "login", "ping"]

MAX_DETAIL: Final = 200


class SystemStatus(enum.StrEnum):
    """How an enterprise system is doing, as the status tools report it."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    UNAUTHORIZED = "UNAUTHORIZED"
    MISCONFIGURED = "MISCONFIGURED"
    UNKNOWN = "UNKNOWN"


_GRPC_STATUS: Final[dict[grpc.StatusCode, SystemStatus]] = {
    grpc.StatusCode.UNAUTHENTICATED: SystemStatus.UNAUTHORIZED,
    grpc.StatusCode.PERMISSION_DENIED: SystemStatus.UNAUTHORIZED,
    grpc.StatusCode.UNAVAILABLE: SystemStatus.OFFLINE,
    grpc.StatusCode.DEADLINE_EXCEEDED: SystemStatus.OFFLINE,
    grpc.StatusCode.CANCELLED: SystemStatus.OFFLINE,
    grpc.StatusCode.UNIMPLEMENTED: SystemStatus.MISCONFIGURED,
    grpc.StatusCode.NOT_FOUND: SystemStatus.MISCONFIGURED,
    grpc.StatusCode.INVALID_ARGUMENT: SystemStatus.MISCONFIGURED,
}

_STEP: Final[dict[Phase, str]] = {
    "open": "reading connection.json and opening the auth and controller channels",
    "login": "authenticating",
    "ping": "checking the connection",
}


def _type_status(exc: BaseException, phase: Phase) -> SystemStatus:
    """The status for ``exc``; the order matters (subclasses before their bases)."""
    if isinstance(exc, ConfigError | DependencyMissingError | InvalidArgumentError):
        return SystemStatus.MISCONFIGURED
    if isinstance(exc, DeephavenTimeoutError):
        return SystemStatus.OFFLINE
    if isinstance(exc, auth_failure_types()):
        return SystemStatus.UNAUTHORIZED
    if isinstance(exc, grpc.RpcError):
        code = grpc_code(exc)
        return _GRPC_STATUS.get(code, SystemStatus.UNKNOWN) if code else SystemStatus.UNKNOWN
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return SystemStatus.MISCONFIGURED
    if isinstance(exc, httpx.TransportError):  # connect/read errors and timeouts
        return SystemStatus.OFFLINE
    if isinstance(exc, ssl.SSLError):
        return SystemStatus.MISCONFIGURED
    if isinstance(exc, ConnectionError | TimeoutError):
        return SystemStatus.OFFLINE
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return SystemStatus.MISCONFIGURED  # private key or truststore file
    if isinstance(exc, OSError):
        return SystemStatus.OFFLINE
    if phase == "open" and isinstance(exc, ValueError | KeyError | TypeError | RuntimeError):
        return SystemStatus.MISCONFIGURED  # connection.json is not JSON or lacks hosts/ports
    if phase == "login" and isinstance(exc, ValueError):
        return SystemStatus.MISCONFIGURED  # not a Deephaven private key file
    return SystemStatus.UNKNOWN


def classify_failure(exc: BaseException, phase: Phase) -> tuple[SystemStatus, str]:
    """Status and a short human detail for a failure while connecting or checking."""
    status = _type_status(exc, phase)
    if isinstance(exc, ConfigError | DependencyMissingError | InvalidArgumentError):
        return status, str(exc)
    code = grpc_code(exc)
    kind = f"gRPC {code.name}" if code is not None else type(exc).__name__
    summary = ""
    if not isinstance(exc, grpc.RpcError):
        # Redacted before it is clipped: a secret cut in two would no longer be recognised.
        summary = clip(redact(first_line(str(exc))), MAX_DETAIL)
    detail = f"Failed while {_STEP[phase]} ({kind})"
    return status, f"{detail}: {summary}" if summary else detail
