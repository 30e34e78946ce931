"""Deephaven Enterprise (Core+) systems: status, worker sessions, catalog, persistent queries.

Works without the ``[enterprise]`` extra installed: only calls that need the
``deephaven-coreplus-client`` package fail, with an "install deephaven-mcp[enterprise]" error.

The plain request and result types load at once; the systems, catalog and adapter, which
need pydeephaven, grpc and httpx, load on first use, so a server without enterprise
systems never imports them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from deephaven_mcp.enterprise._params import FALLBACK_HEAP_SIZE_GB, QueryRequest, WorkerRequest
from deephaven_mcp.enterprise._params import environment as parse_environment
from deephaven_mcp.enterprise._params import python_control as parse_python_control
from deephaven_mcp.enterprise._params import schedule as parse_schedule
from deephaven_mcp.enterprise.backend import (
    EnterpriseBackend,
    ManagerHandle,
    PqChanges,
    PqInfo,
    PqSnapshot,
    PqSpec,
    WorkerSession,
)
from deephaven_mcp.enterprise.schedule import Schedule
from deephaven_mcp.enterprise.schedule import describe as describe_schedule

if TYPE_CHECKING:
    from deephaven_mcp.enterprise._pq import CreatedQuery
    from deephaven_mcp.enterprise._pq_waits import BatchOutcome, BatchVerb
    from deephaven_mcp.enterprise._sessions import EnterpriseSessionInfo
    from deephaven_mcp.enterprise.adapter import (
        INSTALL_HINT,
        CoreplusBackend,
        coreplus_available,
        restart_users_names,
    )
    from deephaven_mcp.enterprise.catalog import (
        CatalogRows,
        CatalogSample,
        CatalogSchema,
        CatalogSchemas,
        EnterpriseCatalog,
    )
    from deephaven_mcp.enterprise.errors import EnterpriseOperationError, SystemUnavailableError
    from deephaven_mcp.enterprise.status import SystemStatus, classify_failure
    from deephaven_mcp.enterprise.system import EnterpriseSystem, StatusReport

_LAZY: Final = {
    "BatchOutcome": "_pq_waits",
    "BatchVerb": "_pq_waits",
    "CreatedQuery": "_pq",
    "EnterpriseSessionInfo": "_sessions",
    "INSTALL_HINT": "adapter",
    "CoreplusBackend": "adapter",
    "coreplus_available": "adapter",
    "restart_users_names": "adapter",
    "CatalogRows": "catalog",
    "CatalogSample": "catalog",
    "CatalogSchema": "catalog",
    "CatalogSchemas": "catalog",
    "EnterpriseCatalog": "catalog",
    "EnterpriseOperationError": "errors",
    "SystemUnavailableError": "errors",
    "SystemStatus": "status",
    "classify_failure": "status",
    "EnterpriseSystem": "system",
    "StatusReport": "system",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "FALLBACK_HEAP_SIZE_GB",
    "INSTALL_HINT",
    "BatchOutcome",
    "BatchVerb",
    "CatalogRows",
    "CatalogSample",
    "CatalogSchema",
    "CatalogSchemas",
    "CoreplusBackend",
    "CreatedQuery",
    "EnterpriseBackend",
    "EnterpriseCatalog",
    "EnterpriseOperationError",
    "EnterpriseSessionInfo",
    "EnterpriseSystem",
    "ManagerHandle",
    "PqChanges",
    "PqInfo",
    "PqSnapshot",
    "PqSpec",
    "QueryRequest",
    "Schedule",
    "StatusReport",
    "SystemStatus",
    "SystemUnavailableError",
    "WorkerRequest",
    "WorkerSession",
    "classify_failure",
    "coreplus_available",
    "describe_schedule",
    "parse_environment",
    "parse_python_control",
    "parse_schedule",
    "restart_users_names",
]
