"""Deephaven Community sessions and Enterprise systems as a Python API.

:class:`DeephavenSystems` has one async method per systems-server MCP tool; the result
types are in :mod:`deephaven_mcp.systems.results`.
"""

from deephaven_mcp.systems.service import DeephavenSystems

__all__ = ["DeephavenSystems"]
