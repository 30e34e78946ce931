"""The systems server's tools, importable as plain async functions.

Each takes the :class:`~deephaven_mcp.DeephavenSystems` service first, then the tool's
parameters, and returns the MCP envelope (a ``ToolResult``). The server registers
:data:`ALL_TOOLS` and injects the service from its lifespan.

    from deephaven_mcp.mcp_systems_server.tools import session_table_data
    result = await session_table_data(systems, "community:config:local", "trades")
"""

from collections.abc import Awaitable, Callable
from typing import Final

from fastmcp.tools.base import ToolResult

from deephaven_mcp.mcp_systems_server.tools.analysis import (
    session_table_aggregate,
    session_table_summary,
)
from deephaven_mcp.mcp_systems_server.tools.catalog import (
    catalog_namespaces_list,
    catalog_table_sample,
    catalog_tables_list,
    catalog_tables_schema,
)
from deephaven_mcp.mcp_systems_server.tools.community import (
    session_community_create,
    session_community_credentials,
    session_community_delete,
)
from deephaven_mcp.mcp_systems_server.tools.data import (
    session_pip_list,
    session_script_run,
    session_table_data,
    session_tables_list,
    session_tables_schema,
)
from deephaven_mcp.mcp_systems_server.tools.enterprise_sessions import (
    session_enterprise_create,
    session_enterprise_delete,
)
from deephaven_mcp.mcp_systems_server.tools.pq import (
    pq_create,
    pq_delete,
    pq_details,
    pq_list,
    pq_modify,
    pq_restart,
    pq_start,
    pq_stop,
)
from deephaven_mcp.mcp_systems_server.tools.sessions import session_details, sessions_list
from deephaven_mcp.mcp_systems_server.tools.system import enterprise_systems_status, mcp_reload

ALL_TOOLS: Final[tuple[Callable[..., Awaitable[ToolResult]], ...]] = (
    mcp_reload,
    enterprise_systems_status,
    sessions_list,
    session_details,
    session_tables_list,
    session_tables_schema,
    session_table_data,
    session_table_summary,
    session_table_aggregate,
    session_script_run,
    session_pip_list,
    session_community_create,
    session_community_delete,
    session_community_credentials,
    session_enterprise_create,
    session_enterprise_delete,
    catalog_tables_list,
    catalog_namespaces_list,
    catalog_tables_schema,
    catalog_table_sample,
    pq_list,
    pq_details,
    pq_create,
    pq_delete,
    pq_modify,
    pq_start,
    pq_stop,
    pq_restart,
)

__all__ = [
    "ALL_TOOLS",
    "catalog_namespaces_list",
    "catalog_table_sample",
    "catalog_tables_list",
    "catalog_tables_schema",
    "enterprise_systems_status",
    "mcp_reload",
    "pq_create",
    "pq_delete",
    "pq_details",
    "pq_list",
    "pq_modify",
    "pq_restart",
    "pq_start",
    "pq_stop",
    "session_community_create",
    "session_community_credentials",
    "session_community_delete",
    "session_details",
    "session_enterprise_create",
    "session_enterprise_delete",
    "session_pip_list",
    "session_script_run",
    "session_table_aggregate",
    "session_table_data",
    "session_table_summary",
    "session_tables_list",
    "session_tables_schema",
    "sessions_list",
]
