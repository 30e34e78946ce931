"""``python -m deephaven_mcp.mcp_docs_server`` is the same as ``dh-mcp-docs-server``."""

from deephaven_mcp.mcp_docs_server._cli import main

if __name__ == "__main__":
    main()
