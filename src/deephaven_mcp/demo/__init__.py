"""Demo tables for a local Deephaven worker (used by ``--demo`` and the test server script)."""

from deephaven_mcp.demo.tables import TABLE_GROUPS, demo_script

__all__ = ["TABLE_GROUPS", "demo_script"]
