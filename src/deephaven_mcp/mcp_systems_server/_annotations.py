"""MCP tool annotations: how a client may treat each kind of tool."""

from __future__ import annotations

from typing import Final

from mcp_types import ToolAnnotations

READ_ONLY: Final = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
"""Looks at a worker or system and changes nothing."""

MUTATING: Final = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
"""Creates or starts something; calling twice does it twice."""

RUNS_CODE: Final = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
"""Runs a helper script on a worker (and removes what it made): not read-only."""

DESTRUCTIVE: Final = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
"""Deletes, stops or overwrites state, or runs arbitrary code."""

RESETTING: Final = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
"""Drops cached connections and re-reads the configuration."""
