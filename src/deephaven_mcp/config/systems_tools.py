"""The systems server's tools, each declared once with what it does.

Everything that depends on what a tool does is derived from :data:`SYSTEMS_TOOLS`: the
names read-only mode keeps, the names ``security.tools`` may list (checked when the
configuration loads, which is why this lives below the tools layer and imports no MCP
library), the MCP annotations each tool is advertised with, the read-only guard of the
Python API and which calls the audit log records. The entries are in the order the server
registers the tools.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


class Effect(enum.Enum):
    """What calling a tool does to the workers and systems it reaches."""

    READS = "reads"
    """Looks and changes nothing: kept in read-only mode, not audited."""
    RESETS = "resets"
    """Drops cached connections and re-reads the operator's file: kept in read-only mode
    (how a changed policy takes effect), audited."""
    CREATES = "creates"
    """Creates or starts something; calling twice does it twice."""
    DESTROYS = "destroys"
    """Deletes, stops, restarts or overwrites something."""
    RUNS_CODE = "runs code"
    """Runs the caller's code on a worker."""
    RUNS_HELPER = "runs a helper"
    """Runs a fixed helper script on a worker and removes what it made."""
    HANDS_OUT_CREDENTIALS = "hands out credentials"
    """Changes nothing, but gives a way in to run code outside this server."""

    @property
    def kept_in_read_only_mode(self) -> bool:
        """Whether read-only mode offers tools with this effect."""
        return self in (Effect.READS, Effect.RESETS)

    @property
    def audited(self) -> bool:
        """Whether every call of a tool with this effect is written to the audit log."""
        return self is not Effect.READS


@dataclass(frozen=True)
class SystemsTool:
    """One tool: its name (the same as its ``DeephavenSystems`` method), what it does, and,
    for an audited tool, what it acts on.

    ``target`` names that for the audit record: a ``str.format`` template over the call's
    arguments (``"enterprise:{system_name}:{pq_identifier}"``); a missing argument reads
    ``?`` and a list its items joined by commas. A tool that acts on no session has none.
    """

    name: str
    effect: Effect
    target: str | None = None


_SESSION: Final = "{session_id}"
_DYNAMIC: Final = "community:dynamic:{session_name}"
_WORKER: Final = "enterprise:{system_name}:{session_name}"
_PQ: Final = "enterprise:{system_name}:{pq_identifier}"

SYSTEMS_TOOLS: Final = (
    SystemsTool("mcp_reload", Effect.RESETS),
    SystemsTool("enterprise_systems_status", Effect.READS),
    SystemsTool("sessions_list", Effect.READS),
    SystemsTool("session_details", Effect.READS),
    SystemsTool("session_tables_list", Effect.READS),
    SystemsTool("session_tables_schema", Effect.READS),
    SystemsTool("session_table_data", Effect.READS),
    SystemsTool("session_table_summary", Effect.READS),  # engine-side; generated expressions only
    SystemsTool("session_table_aggregate", Effect.READS),  # pydeephaven aggregations, likewise
    SystemsTool("session_table_chart", Effect.READS),  # generated expressions only; draws a PNG
    SystemsTool("session_script_run", Effect.RUNS_CODE, _SESSION),
    SystemsTool("session_pip_list", Effect.RUNS_HELPER, _SESSION),
    SystemsTool("session_community_create", Effect.CREATES, _DYNAMIC),
    SystemsTool("session_community_delete", Effect.DESTROYS, _DYNAMIC),
    SystemsTool("session_community_credentials", Effect.HANDS_OUT_CREDENTIALS, _SESSION),
    SystemsTool("session_enterprise_create", Effect.CREATES, _WORKER),
    SystemsTool("session_enterprise_delete", Effect.DESTROYS, _WORKER),
    SystemsTool("catalog_tables_list", Effect.READS),
    SystemsTool("catalog_namespaces_list", Effect.READS),
    SystemsTool("catalog_tables_schema", Effect.READS),
    SystemsTool("catalog_table_sample", Effect.READS),
    SystemsTool("pq_list", Effect.READS),
    SystemsTool("pq_details", Effect.READS),
    SystemsTool("pq_create", Effect.CREATES, "enterprise:{system_name}:{pq_name}"),
    SystemsTool("pq_delete", Effect.DESTROYS, _PQ),
    SystemsTool("pq_modify", Effect.DESTROYS, "{pq_id}"),
    SystemsTool("pq_start", Effect.CREATES, _PQ),
    SystemsTool("pq_stop", Effect.DESTROYS, _PQ),
    SystemsTool("pq_restart", Effect.DESTROYS, _PQ),
)
"""Every systems tool, in registration order. Adding a tool starts here."""

TOOLS_BY_NAME: Final[Mapping[str, SystemsTool]] = MappingProxyType(
    {tool.name: tool for tool in SYSTEMS_TOOLS}
)

SYSTEMS_TOOL_NAMES: Final = frozenset(TOOLS_BY_NAME)
"""The names ``security.tools.enabled`` and ``disabled`` may list."""

READ_ONLY_MODE_TOOL_NAMES: Final = frozenset(
    tool.name for tool in SYSTEMS_TOOLS if tool.effect.kept_in_read_only_mode
)
"""Tools that run no code and change nothing on any worker or system."""

STATE_CHANGING_TOOL_NAMES: Final = SYSTEMS_TOOL_NAMES - READ_ONLY_MODE_TOOL_NAMES
"""Tools that run code, change state or hand out credentials: absent in read-only mode, and
refused by the Python API in read-only mode."""
