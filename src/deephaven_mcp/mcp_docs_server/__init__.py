"""Deephaven MCP docs server: ``docs_chat`` over any OpenAI-compatible chat API.

Public entry points: :func:`docs_chat` (the tool as a Python function),
:func:`build_docs_server` (factory), :func:`run_server`, :func:`main` (the
``dh-mcp-docs-server`` command) and :class:`DocsSettings`. ``mcp_server`` is a
default server built from the environment on first access, so importing this package
never reads keys or fails.
"""

from __future__ import annotations

from typing import Any

from deephaven_mcp.mcp_docs_server._cli import main, run_server
from deephaven_mcp.mcp_docs_server._llm import OpenAIClientError
from deephaven_mcp.mcp_docs_server._mcp import docs_chat
from deephaven_mcp.mcp_docs_server._server import build_docs_server
from deephaven_mcp.mcp_docs_server._settings import DocsSettings, ProviderSettings

__all__ = [
    "DocsSettings",
    "OpenAIClientError",
    "ProviderSettings",
    "build_docs_server",
    "docs_chat",
    "main",
    "mcp_server",
    "run_server",
]

_default_server: Any = None


def __getattr__(name: str) -> Any:
    # Lazy so that importing the package has no side effects (PEP 562).
    global _default_server
    if name == "mcp_server":
        if _default_server is None:
            _default_server = build_docs_server()
        return _default_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
