"""Enterprise failures as :class:`DeephavenMcpError` subclasses, with messages safe to show.

The exception chain and gRPC codes are read by :mod:`deephaven_mcp.clients.errors`; this
module only decides what an enterprise failure is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, TypeVar

import grpc
from pydeephaven import DHError

from deephaven_mcp.clients.errors import (
    causes,
    clip,
    exception_line,
    first_line,
    grpc_details,
    grpc_status,
)
from deephaven_mcp.enterprise.status import MAX_DETAIL, SystemStatus
from deephaven_mcp.errors import (
    DeephavenMcpError,
    NotFoundError,
    SessionUnavailableError,
)
from deephaven_mcp.runtime.blocking import call_blocking_owned

_log = logging.getLogger(__name__)

T = TypeVar("T")


class SystemUnavailableError(SessionUnavailableError):
    """The enterprise system could not be connected to or authenticated with."""

    def __init__(self, system_name: str, status: SystemStatus, detail: str) -> None:
        super().__init__(f"Enterprise system '{system_name}' is {status.value}: {detail}")
        self.system_name = system_name
        self.status = status
        self.detail = detail


class EnterpriseOperationError(DeephavenMcpError):
    """The Enterprise server refused or failed an operation (PQ, worker, catalog)."""


# gRPC codes after which a SessionManager is not worth keeping: its controller or auth server
# is unreachable, or no longer knows our login.
CONNECTION_LOST: Final = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED})


def controller_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the controller or the auth server is gone or forgot our login.

    Only then is the system's connection rebuilt. A worker's failure never says so, whatever
    its gRPC code: everything a pydeephaven session does, connecting included, fails with a
    ``DHError`` (coreplus's ``DndSession`` raises its ``RuntimeError`` from one), which the
    controller and auth clients never raise.
    """
    if _from_worker(exc):
        return False
    return grpc_status(exc) in CONNECTION_LOST


def _from_worker(exc: BaseException) -> bool:
    return any(isinstance(item, DHError) for item in causes(exc))


_UNREACHABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
_DENIED = frozenset({grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED})


def operation_error(action: str, exc: BaseException) -> DeephavenMcpError:
    """Map a failure of ``action`` to a DeephavenMcpError by exception type (and gRPC code)."""
    if isinstance(exc, DeephavenMcpError):
        return exc
    _log.debug("%s failed", action, exc_info=exc)
    code = grpc_status(exc)
    details = grpc_details(exc)
    reason = f": {clip(first_line(details), MAX_DETAIL)}" if details else ""
    if code is not None and code in _UNREACHABLE:
        peer = "the worker" if _from_worker(exc) else "the server"
        return SessionUnavailableError(
            f"{action} failed: {peer} is unreachable ({code.name}){reason}."
        )
    if code is not None and code in _DENIED:
        return EnterpriseOperationError(
            f"{action} failed: permission denied ({code.name}){reason}."
        )
    if code is not None:
        # The controller's own reason (e.g. "query name already in use"), not the class name.
        return EnterpriseOperationError(f"{action} failed ({code.name}){reason}.")
    if isinstance(exc, KeyError):
        return NotFoundError(f"{action} failed: the persistent query no longer exists.")
    if isinstance(exc, DHError | RuntimeError | ValueError):
        # Only the first line, shortened; redaction happens in the envelope.
        return EnterpriseOperationError(f"{action} failed: {exception_line(exc, MAX_DETAIL)}")
    return EnterpriseOperationError(f"{action} failed unexpectedly ({type(exc).__name__}).")


async def run_operation(
    action: str,
    timeout: float,
    fn: Callable[[], T],
    cleanup: Callable[[T], None] | None = None,
) -> T:
    """``fn()`` by :func:`~deephaven_mcp.runtime.blocking.call_blocking_owned`; failures as above.

    ``cleanup`` releases what ``fn`` returns after we gave up waiting (a worker session).
    """
    try:
        return await call_blocking_owned(action, timeout, fn, cleanup)
    except DeephavenMcpError:
        raise
    except Exception as exc:
        raise operation_error(action, exc) from exc
