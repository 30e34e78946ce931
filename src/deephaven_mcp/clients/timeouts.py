"""Timeouts for blocking Deephaven calls (seconds); each can be overridden by env var."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class Timeouts:
    """How long each kind of call may take before the tool gives up."""

    connect: float = 30.0
    probe: float = 5.0
    metadata: float = 60.0
    data: float = 120.0
    script: float = 600.0
    close: float = 10.0

    @classmethod
    def from_env(cls) -> Timeouts:
        return cls(
            connect=_env_seconds("DH_MCP_CONNECT_TIMEOUT", cls.connect),
            probe=_env_seconds("DH_MCP_PROBE_TIMEOUT", cls.probe),
            metadata=_env_seconds("DH_MCP_METADATA_TIMEOUT", cls.metadata),
            data=_env_seconds("DH_MCP_DATA_TIMEOUT", cls.data),
            script=_env_seconds("DH_MCP_SCRIPT_TIMEOUT", cls.script),
            close=_env_seconds("DH_MCP_CLOSE_TIMEOUT", cls.close),
        )
