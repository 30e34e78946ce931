"""Which tools the server offers: read-only mode and the operator's allow/deny lists.

A tool outside the policy is not registered at all, so it is absent from ``tools/list``
and calling it is an unknown-tool error, not a refusal an agent could argue with.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_context
from fastmcp.tools.base import ToolResult

from deephaven_mcp.config.models import SecurityConfig
from deephaven_mcp.config.tool_names import READ_ONLY_MODE_TOOL_NAMES, SYSTEMS_TOOL_NAMES

_log = logging.getLogger(__name__)

ToolFunction = Callable[..., Awaitable[ToolResult]]


def enabled_tool_names(security: SecurityConfig, *, read_only: bool = False) -> frozenset[str]:
    """The tools to offer: read-only mode (config or ``read_only``), then the lists."""
    names = SYSTEMS_TOOL_NAMES
    if read_only or security.read_only:
        names &= READ_ONLY_MODE_TOOL_NAMES
    if security.tools.enabled is not None:
        names &= frozenset(security.tools.enabled)
    return names - frozenset(security.tools.disabled)


class ToolSet:
    """Keeps the server's registered tools in step with the policy (at start, on reload)."""

    def __init__(self, server: FastMCP[Any], tools: tuple[ToolFunction, ...]) -> None:
        self._server = server
        self._tools = {fn.__name__: fn for fn in tools}
        unknown = set(self._tools) - SYSTEMS_TOOL_NAMES
        if unknown:
            raise RuntimeError(f"tools missing from config.tool_names: {sorted(unknown)}")
        self._registered: set[str] = set()

    @property
    def registered(self) -> frozenset[str]:
        return frozenset(self._registered)

    def apply(self, enabled: frozenset[str]) -> bool:
        """Register exactly the ``enabled`` tools; whether anything changed."""
        before = set(self._registered)
        for name, fn in self._tools.items():
            if name in enabled and name not in self._registered:
                self._server.add_tool(fn)
                self._registered.add(name)
            elif name not in enabled and name in self._registered:
                self._server.local_provider.remove_tool(name)
                self._registered.discard(name)
        if self._registered != before:
            hidden = sorted(set(self._tools) - self._registered)
            _log.info("tools offered: %d; not offered: %s", len(self._registered), hidden)
            return True
        return False


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
