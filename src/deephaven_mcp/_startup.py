"""The console scripts: load each server with the collector paused (see :mod:`._collector`)."""

from __future__ import annotations

from deephaven_mcp._collector import collector_paused


def systems_server() -> None:
    """The ``dh-mcp-systems-server`` command."""
    with collector_paused():
        from deephaven_mcp.mcp_systems_server._cli import main
    main()


def docs_server() -> None:
    """The ``dh-mcp-docs-server`` command."""
    with collector_paused():
        from deephaven_mcp.mcp_docs_server._cli import main
    main()
