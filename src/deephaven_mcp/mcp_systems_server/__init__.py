"""The Deephaven MCP systems server: sessions, tables, scripts, enterprise systems."""

from deephaven_mcp.mcp_systems_server._cli import main
from deephaven_mcp.mcp_systems_server._server import build_systems_server

__all__ = ["build_systems_server", "main"]
