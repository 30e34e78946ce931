"""The Deephaven MCP bundle's entry point: Claude Desktop starts it with ``uv run`` in the
unpacked bundle, whose pyproject.toml and uv.lock install deephaven-mcp and its locked
dependencies; it then runs the ``dh-mcp-systems-server`` console script over stdio.

Copied into the bundle by scripts/build_mcpb.py. The console script is looked up by name so
this file depends only on what the package declares public in its pyproject.toml.
"""

from importlib.metadata import entry_points

if __name__ == "__main__":
    (script,) = entry_points(group="console_scripts", name="dh-mcp-systems-server")
    script.load()()
