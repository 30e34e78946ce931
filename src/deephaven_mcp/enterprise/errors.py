"""Enterprise failures as :class:`DeephavenMcpError` subclasses, with messages safe to show."""

from __future__ import annotations

import logging

import grpc
from pydeephaven import DHError

from deephaven_mcp.enterprise.status import MAX_DETAIL, SystemStatus, grpc_code
from deephaven_mcp.errors import (
    DeephavenMcpError,
    NotFoundError,
    SessionUnavailableError,
)

_log = logging.getLogger(__name__)


class SystemUnavailableError(SessionUnavailableError):
    """The enterprise system could not be connected to or authenticated with."""

    def __init__(self, system_name: str, status: SystemStatus, detail: str) -> None:
        super().__init__(f"Enterprise system '{system_name}' is {status.value}: {detail}")
        self.system_name = system_name
        self.status = status
        self.detail = detail


class EnterpriseOperationError(DeephavenMcpError):
    """The Enterprise server refused or failed an operation (PQ, worker, catalog)."""


_UNREACHABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
_DENIED = frozenset({grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED})


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, shortened (redaction happens in the envelope)."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"


def _cause_code(exc: BaseException) -> grpc.StatusCode | None:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = grpc_code(current)
        if code is not None:
            return code
        current = current.__cause__ or current.__context__
    return None


def operation_error(action: str, exc: BaseException) -> DeephavenMcpError:
    """Map a failure of ``action`` to a DeephavenMcpError by exception type (and gRPC code)."""
    if isinstance(exc, DeephavenMcpError):
        return exc
    _log.debug("%s failed", action, exc_info=exc)
    code = _cause_code(exc)
    if code is not None and code in _UNREACHABLE:
        return SessionUnavailableError(f"{action} failed: the server is unreachable ({code.name}).")
    if code is not None and code in _DENIED:
        return EnterpriseOperationError(f"{action} failed: permission denied ({code.name}).")
    if isinstance(exc, KeyError):
        return NotFoundError(f"{action} failed: the persistent query no longer exists.")
    if isinstance(exc, DHError | RuntimeError | ValueError):
        return EnterpriseOperationError(f"{action} failed: {first_line(exc)}")
    return EnterpriseOperationError(f"{action} failed unexpectedly ({type(exc).__name__}).")
