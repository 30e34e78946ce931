"""The systems server's tools, importable as plain async functions.

Each takes the :class:`~deephaven_mcp.DeephavenSystems` service first, then the tool's
parameters, and returns the MCP envelope (a ``ToolResult``). The server registers
:data:`ALL_TOOLS` and injects the service from its lifespan.

    from deephaven_mcp.mcp_systems_server.tools import session_table_data
    result = await session_table_data(systems, "community:config:local", "trades")

A tool is a function decorated with ``systems_tool`` and listed in its module's
``__all__``; this package re-exports every module's ``__all__`` and orders them as
:data:`deephaven_mcp.config.systems_tools.SYSTEMS_TOOLS` declares them.
"""

from collections.abc import Mapping
from typing import Any, Final

from deephaven_mcp.config.systems_tools import SYSTEMS_TOOLS
from deephaven_mcp.mcp_systems_server._tool_policy import ToolFunction
from deephaven_mcp.mcp_systems_server.tools.analysis import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.catalog import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.charts import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.community import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.data import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.enterprise_sessions import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.pq import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.sessions import *  # noqa: F403
from deephaven_mcp.mcp_systems_server.tools.system import *  # noqa: F403


def _in_table_order(exported: Mapping[str, Any]) -> tuple[ToolFunction, ...]:
    """The tool functions, in the table's order; a table entry without one is an error."""
    missing = [tool.name for tool in SYSTEMS_TOOLS if not callable(exported.get(tool.name))]
    if missing:
        raise RuntimeError(
            f"no tool function for {missing}, declared in deephaven_mcp.config.systems_tools: "
            "define it with @systems_tool in a tools module and list it in that module's "
            "__all__"
        )
    return tuple(exported[tool.name] for tool in SYSTEMS_TOOLS)


ALL_TOOLS: Final[tuple[ToolFunction, ...]] = _in_table_order(globals())

__all__ = ["ALL_TOOLS", *(tool.__name__ for tool in ALL_TOOLS)]
