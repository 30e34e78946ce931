"""Which tools the server offers, and how: read-only mode, the operator's allow/deny lists,
and the operator's default ``max_rows``.

A tool outside the policy is not registered at all, so it is absent from ``tools/list``
and calling it is an unknown-tool error, not a refusal an agent could argue with. With
``limits.default_max_rows`` set, the row-reading tools are registered with that default
(fastmcp's argument transform), so ``tools/list`` shows the value a call will use.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_context
from fastmcp.tools.base import Tool, ToolResult
from fastmcp.tools.tool_transform import ArgTransform

from deephaven_mcp.config.models import SecurityConfig
from deephaven_mcp.config.systems_tools import READ_ONLY_MODE_TOOL_NAMES, SYSTEMS_TOOL_NAMES
from deephaven_mcp.systems import DeephavenSystems

_log = logging.getLogger(__name__)

ToolFunction = Callable[..., Awaitable[ToolResult]]

ROW_DEFAULT_TOOLS: Final = frozenset(
    {"session_table_data", "session_table_aggregate", "catalog_table_sample"}
)


def enabled_tool_names(security: SecurityConfig, *, read_only: bool = False) -> frozenset[str]:
    """The tools to offer: read-only mode (config or ``read_only``), then the lists."""
    names = SYSTEMS_TOOL_NAMES
    if read_only or security.read_only:
        names &= READ_ONLY_MODE_TOOL_NAMES
    if security.tools.enabled is not None:
        names &= frozenset(security.tools.enabled)
    return names - frozenset(security.tools.disabled)


def offered_tools(systems: DeephavenSystems) -> frozenset[str]:
    """The tools ``systems``' current configuration and mode offer."""
    return enabled_tool_names(systems.config.security, read_only=systems.read_only)


class ToolSet:
    """Keeps the server's registered tools in step with the policy (at start, on reload)."""

    def __init__(self, server: FastMCP[Any], tools: tuple[ToolFunction, ...]) -> None:
        self._server = server
        self._tools = {fn.__name__: fn for fn in tools}
        if set(self._tools) != SYSTEMS_TOOL_NAMES:
            raise RuntimeError(
                "the tools and deephaven_mcp.config.systems_tools disagree: not declared "
                f"{sorted(set(self._tools) - SYSTEMS_TOOL_NAMES)}, no tool function "
                f"{sorted(SYSTEMS_TOOL_NAMES - set(self._tools))}"
            )
        self._registered: set[str] = set()
        self._row_default: int | None = None

    def apply(self, enabled: frozenset[str], row_default: int | None = None) -> bool:
        """Register exactly the ``enabled`` tools, the row-reading ones with ``row_default``
        rows by default (None: their own); whether anything changed."""
        before = set(self._registered)
        default_changed = row_default != self._row_default
        if default_changed:
            # Registered with the old default: register them again below.
            for name in ROW_DEFAULT_TOOLS & self._registered:
                self._server.local_provider.remove_tool(name)
                self._registered.discard(name)
            self._row_default = row_default
        for name, fn in self._tools.items():
            if name in enabled and name not in self._registered:
                self._register(name, fn)
                self._registered.add(name)
            elif name not in enabled and name in self._registered:
                self._server.local_provider.remove_tool(name)
                self._registered.discard(name)
        if self._registered == before and not (default_changed and ROW_DEFAULT_TOOLS & before):
            return False
        hidden = sorted(set(self._tools) - self._registered)
        _log.info("tools offered: %d; not offered: %s", len(self._registered), hidden)
        return True

    def apply_policy(self, systems: DeephavenSystems) -> bool:
        """:meth:`apply` what ``systems``' configuration and mode offer now."""
        return self.apply(offered_tools(systems), systems.config.limits.default_max_rows)

    def _register(self, name: str, fn: ToolFunction) -> None:
        tool = self._server.add_tool(fn)
        if self._row_default is None or name not in ROW_DEFAULT_TOOLS:
            return
        described = tool.parameters["properties"]["max_rows"].get("description", "")
        description = re.sub(r"default [\d,]+", f"default {self._row_default}", described)
        self._server.local_provider.remove_tool(name)
        self._server.add_tool(
            Tool.from_tool(
                tool,
                transform_args={
                    "max_rows": ArgTransform(default=self._row_default, description=description)
                },
            )
        )


async def notify_tools_changed() -> None:
    """Tell the client of the current request that the tool list changed (if there is one).

    fastmcp delivers notifications per session: other HTTP clients see the new list on
    their next ``tools/list``.
    """
    try:
        context = get_context()
    except RuntimeError:
        return  # not inside an MCP request (e.g. the Python API)
    await context.send_notification(mcp_types.ToolListChangedNotification())
