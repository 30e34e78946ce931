"""Model Context Protocol servers for Deephaven, and the Python API under them.

    from deephaven_mcp import DeephavenSystems

    async with DeephavenSystems.from_config("deephaven_mcp.json") as systems:
        tables = await systems.session_tables_list("community:config:local")

Names load on first use, so ``import deephaven_mcp`` stays cheap and each server imports
only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deephaven_mcp._version import __version__

if TYPE_CHECKING:
    from deephaven_mcp.mcp_docs_server import build_docs_server, docs_chat
    from deephaven_mcp.mcp_systems_server import build_systems_server
    from deephaven_mcp.systems import DeephavenSystems

__all__ = [
    "DeephavenSystems",
    "__version__",
    "build_docs_server",
    "build_systems_server",
    "docs_chat",
    "errors",
]

_LAZY = {
    "DeephavenSystems": "deephaven_mcp.systems",
    "build_systems_server": "deephaven_mcp.mcp_systems_server",
    "build_docs_server": "deephaven_mcp.mcp_docs_server",
    "docs_chat": "deephaven_mcp.mcp_docs_server",
}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("deephaven_mcp.errors")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deephaven_mcp' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
