"""MCP tool annotations: how a client may treat a tool, from what it does (its effect)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from mcp_types import ToolAnnotations

from deephaven_mcp.config.systems_tools import TOOLS_BY_NAME, Effect

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

BY_EFFECT: Final[Mapping[Effect, ToolAnnotations]] = MappingProxyType(
    {
        Effect.READS: READ_ONLY,
        Effect.RESETS: RESETTING,
        Effect.CREATES: MUTATING,
        Effect.DESTROYS: DESTRUCTIVE,
        Effect.RUNS_CODE: DESTRUCTIVE,
        Effect.RUNS_HELPER: RUNS_CODE,
        # Changes nothing on a worker; read-only mode still hides it (it opens a way in).
        Effect.HANDS_OUT_CREDENTIALS: READ_ONLY,
    }
)


def annotations_of(tool_name: str) -> ToolAnnotations:
    """The annotations a systems tool is advertised with; a name missing from the table of
    :mod:`deephaven_mcp.config.systems_tools` is an error naming it."""
    entry = TOOLS_BY_NAME.get(tool_name)
    if entry is None:
        raise LookupError(f"tool {tool_name} is not declared in deephaven_mcp.config.systems_tools")
    return BY_EFFECT[entry.effect]
