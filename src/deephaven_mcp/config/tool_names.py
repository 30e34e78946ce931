"""The systems server's tool names, split by what read-only mode keeps.

Kept below the tools layer so the configuration can validate ``security.tools`` at load
time; a test checks these sets against the tools the server registers.
"""

from __future__ import annotations

from typing import Final

READ_ONLY_MODE_TOOL_NAMES: Final = frozenset(
    {
        "mcp_reload",  # re-reads the operator's file: how a changed policy takes effect
        "enterprise_systems_status",
        "sessions_list",
        "session_details",
        "session_tables_list",
        "session_tables_schema",
        "session_table_data",
        "session_table_summary",  # engine-side statistics; generated expressions only
        "session_table_aggregate",  # pydeephaven aggregations; generated expressions only
        "catalog_tables_list",
        "catalog_namespaces_list",
        "catalog_tables_schema",
        "catalog_table_sample",
        "pq_list",
        "pq_details",
    }
)
"""Tools that run no code and change nothing on any worker or system."""

STATE_CHANGING_TOOL_NAMES: Final = frozenset(
    {
        "session_script_run",
        "session_pip_list",  # runs a script on the worker
        "session_community_create",
        "session_community_delete",
        "session_community_credentials",  # a way in to run code outside this server
        "session_enterprise_create",
        "session_enterprise_delete",
        "pq_create",
        "pq_delete",
        "pq_modify",
        "pq_start",
        "pq_stop",
        "pq_restart",
    }
)
"""Tools that run code, change state or hand out credentials: absent in read-only mode."""

SYSTEMS_TOOL_NAMES: Final = READ_ONLY_MODE_TOOL_NAMES | STATE_CHANGING_TOOL_NAMES
